// Load from wrk with the headers Prometheus sends on every scrape, and the figures of one round read from its Lua done() hook.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pinned, runToEnd } from './processes.js';

/** What Prometheus (scrape.go, acceptHeader with the default scrape protocols) sends with every scrape. */
export const PROMETHEUS_HEADERS = {
  accept: 'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
  'accept-encoding': 'gzip',
} as const;

export type WrkRound = {
  requests: number;
  seconds: number;
  reqPerSec: number;
  /** Latency percentiles in ms (wrk's histogram, no coordinated-omission correction). */
  p50: number;
  p99: number;
  maxMs: number;
  /** Bytes read per response, headers included: the gzip body shows here. */
  bytesPerResponse: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers. */
  errors: number;
};

/** The script sets the headers and prints one machine-readable line when the round ends. */
const SCRIPT = `
wrk.method = "GET"
wrk.headers["Accept"] = "${PROMETHEUS_HEADERS.accept}"
wrk.headers["Accept-Encoding"] = "${PROMETHEUS_HEADERS['accept-encoding']}"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_WRK %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

/** Writes the Lua script into `dir` and returns its path. */
export function writeWrkScript(dir: string): string {
  const path = join(dir, 'prometheus-scrape.lua');
  writeFileSync(path, SCRIPT);
  return path;
}

export type WrkOptions = { url: string; script: string; connections: number; seconds: number; cpu: string | undefined };

/** One round: `wrk -t1 -c<connections> -d<seconds>s --latency`, pinned to `cpu`. */
export async function runWrk(options: WrkOptions): Promise<WrkRound> {
  const [command, args] = pinned(options.cpu, 'wrk', [
    '-t1',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--latency',
    // A 1,000-account scrape may take longer than wrk's default 2 s under load; count it, do not drop it.
    '--timeout',
    '30s',
    '-s',
    options.script,
    options.url,
  ]);
  const { code, out, err } = await runToEnd(command, args);
  const line = /^BENCH_WRK (.*)$/m.exec(out)?.[1];
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (exit ${code}): ${err.trim() || out.trim()}`);
  const [requests = 0, durationUs = 1, bytes = 0, errors = 0, p50Us = 0, p99Us = 0, maxUs = 0] = line.split(' ').map(Number);
  const seconds = durationUs / 1e6;
  return {
    requests,
    seconds,
    reqPerSec: requests / seconds,
    p50: p50Us / 1000,
    p99: p99Us / 1000,
    maxMs: maxUs / 1000,
    bytesPerResponse: requests > 0 ? bytes / requests : 0,
    errors,
  };
}
