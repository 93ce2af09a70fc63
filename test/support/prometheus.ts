// A real Prometheus for end-to-end tests: started on a free port with our data directory, and its HTTP API.
import { join } from 'node:path';
import { startOnFreePort, startProcess, type RunningProcess } from './processes.js';
import { systemTools } from './system-tools.js';

export type PromSample = { metric: Record<string, string>; value: [number, string] };
export type PromSeries = { metric: Record<string, string>; values: Array<[number, string]> };
type PromResponse<T> = { status: 'success' | 'error'; data: T; error?: string; errorType?: string };

export type RunningPrometheus = {
  proc: RunningProcess;
  url: string;
  /** GET on the HTTP API; throws with Prometheus' own error when it answers one. */
  api<T>(path: string, params: Record<string, string | string[]>): Promise<T>;
  /** An instant query, at `time` (Unix seconds) when given. */
  instant(query: string, time?: number): Promise<PromSample[]>;
  /** A range selector's raw samples, such as `metric[10m]`, at `time` when given. */
  samples(selector: string, time?: number): Promise<PromSeries[]>;
};

/**
 * Starts Debian's Prometheus with `configFile` and `dataDir` in `workDir`. Prometheus cannot listen
 * on port 0 and say where, so it is started on a free port, and again on another when a concurrent
 * test run took that one first; its flags must name our data directory, so another run's
 * Prometheus on that port is never taken for ours.
 */
export async function startPrometheus(options: {
  workDir: string;
  configFile: string;
  dataDir?: string;
  watch?: RunningProcess[];
  describe?: () => string;
}): Promise<RunningPrometheus> {
  const { prometheus: binary } = systemTools();
  const dataDir = options.dataDir ?? join(options.workDir, 'data');
  let proc: RunningProcess | undefined;
  const started = await startOnFreePort(
    (port) => {
      proc = startProcess(
        'prometheus',
        binary,
        [`--config.file=${options.configFile}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
        options.workDir,
      );
      return proc;
    },
    async (port) => {
      const url = `http://127.0.0.1:${port}`;
      const flags = (await (await fetch(`${url}/api/v1/status/flags`, { signal: AbortSignal.timeout(1_000) })).json()) as PromResponse<Record<string, string>>;
      if (flags.data['storage.tsdb.path'] !== dataDir) return false;
      return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) })).ok;
    },
    { timeoutMs: 30_000, ...(options.watch ? { watch: options.watch } : {}), ...(options.describe ? { describe: options.describe } : {}) },
  );
  const url = `http://127.0.0.1:${started.port}`;

  const api = async <T>(path: string, params: Record<string, string | string[]>): Promise<T> => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) for (const v of [value].flat()) search.append(key, v);
    // GET: Prometheus 2.42 takes POST on /api/v1/query but not on the label values or rules endpoints.
    const response = await fetch(`${url}${path}?${search}`, { signal: AbortSignal.timeout(10_000) });
    const json = (await response.json()) as PromResponse<T>;
    if (json.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${json.errorType}: ${json.error}`);
    return json.data;
  };
  const query = <T>(expression: string, time?: number) =>
    api<{ resultType: string; result: T[] }>('/api/v1/query', { query: expression, ...(time !== undefined ? { time: String(time) } : {}) });

  return {
    proc: started.proc,
    url,
    api,
    instant: async (expression, time) => (await query<PromSample>(expression, time)).result,
    samples: async (selector, time) => (await query<PromSeries>(selector, time)).result,
  };
}
