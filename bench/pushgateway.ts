// Debian's Go prometheus-pushgateway as the yardstick: started pinned like the exporter, holding the exporter's own wolkvox_* series.
import { spawnSync } from 'node:child_process';
import { freePort, msToStatus, pinned, startServer, type Server } from './processes.js';
import { PROMETHEUS_HEADERS } from './wrk.js';

export function pushgatewayBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v prometheus-pushgateway'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  throw new Error('prometheus-pushgateway is needed for the comparison: apt-get install -y prometheus-pushgateway');
}

export function pushgatewayVersion(binary: string): string {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return /version (\S+)/.exec(`${out.stdout}${out.stderr}`)?.[1] ?? 'unknown version';
}

export type Pushgateway = { server: Server; base: string; coldStartMs: number };

/** Starts the pushgateway on `cpu` and times it from spawn to its first 200 on /metrics. */
export async function startPushgateway(binary: string, cpu: string | undefined): Promise<Pushgateway> {
  const port = await freePort();
  const [command, args] = pinned(cpu, binary, [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn']);
  const startedAt = performance.now();
  // wrk ends a round by closing its connections mid-answer; the pushgateway logs each as an error.
  const server = startServer(command, args, process.env, /broken pipe|connection reset by peer/);
  const base = `http://127.0.0.1:${port}`;
  const coldStartMs = await msToStatus(server, `${base}/metrics`, startedAt, 15_000, { headers: PROMETHEUS_HEADERS });
  return { server, base, coldStartMs };
}

/** The `wolkvox_*` families of a text exposition (HELP, TYPE and samples), as the pushgateway takes them. */
export function wolkvoxFamilies(exposition: string): string {
  const lines = exposition.split('\n').filter((line) => /^(# (HELP|TYPE) )?wolkvox_/.test(line));
  return `${lines.join('\n')}\n`;
}

/** PUT /metrics/job/wolkvox: the group then holds exactly these series. */
export async function push(base: string, body: string): Promise<void> {
  const pushed = await fetch(`${base}/metrics/job/wolkvox`, { method: 'PUT', body, headers: { 'content-type': 'text/plain; version=0.0.4' } });
  if (!pushed.ok) throw new Error(`the pushgateway refused the series: HTTP ${pushed.status} ${await pushed.text()}`);
}
