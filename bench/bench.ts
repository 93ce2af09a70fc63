// `npm run bench`: scrape throughput, latency, memory and CPU of /metrics, against Debian's Go pushgateway.
import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src/simulator/server.js';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 20);
const WINDOWS = ['1h', '24h', 'today'];
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const TOKEN = 'bench-token';
const CLOCK_TICKS = 100;

type Measured = { name: string; reqPerSec: number; p50: number; p99: number; rssMb: number; cpuPer1000: number; requests: number };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitFor(url: string, deadlineMs: number, accept: (status: number) => boolean = (s) => s === 200): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      const response = await fetch(url);
      if (accept(response.status)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`${url} did not become ready within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function procStats(pid: number): { rssMb: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // Fields 14 and 15 of /proc/PID/stat are utime and stime in clock ticks; the name may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMb: rssKb / 1024, cpuSeconds: ticks / CLOCK_TICKS };
}

async function load(name: string, url: string, pid: number): Promise<Measured> {
  // A short warm-up so JIT and buffers settle before measuring.
  await autocannon({ url, connections: CONNECTIONS, duration: 2 });
  const before = procStats(pid);
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
  const after = procStats(pid);
  const requests = result.requests.total;
  return {
    name,
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    rssMb: after.rssMb,
    cpuPer1000: ((after.cpuSeconds - before.cpuSeconds) / requests) * 1000,
    requests,
  };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function pushgatewayBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v prometheus-pushgateway'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  throw new Error("prometheus-pushgateway is needed for the comparison: sudo apt-get install -y prometheus-pushgateway");
}

async function main(): Promise<void> {
  const pushgateway = pushgatewayBinary();
  const dir = mkdtempSync(join(tmpdir(), 'wolkvox-bench-'));
  const simulator = await startSimulator({ token: TOKEN, maxConcurrent: 1_000 });
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `  - name: account${i}\n    base_url: ${simulator.url}\n    token_file: token\n`);
  // An hour's interval: every window polls once at start, and never during the load.
  writeFileSync(join(dir, 'config.yml'), `interval: 1h\nwindows: [${WINDOWS.join(', ')}]\naccounts:\n${accounts.join('')}`);

  const port = await freePort();
  const exporter = spawn(process.execPath, ['dist/main.js', `--config.file=${join(dir, 'config.yml')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: process.env.BENCH_EXPORTER_NODE_OPTIONS ?? '' },
  });
  const pgwPort = await freePort();
  const gateway = spawn(pushgateway, [`--web.listen-address=127.0.0.1:${pgwPort}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${base}/readyz`, 30_000);
    const exposition = await (await fetch(`${base}/metrics`)).text();
    const series = exposition.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;

    // The same wolkvox_* series, held by the Go pushgateway.
    const wolkvoxOnly = exposition
      .split('\n')
      .filter((line) => /^(# (HELP|TYPE) )?wolkvox_/.test(line))
      .join('\n');
    await waitFor(`http://127.0.0.1:${pgwPort}/-/ready`, 15_000);
    const pushed = await fetch(`http://127.0.0.1:${pgwPort}/metrics/job/wolkvox`, { method: 'PUT', body: `${wolkvoxOnly}\n` });
    if (!pushed.ok) throw new Error(`pushgateway refused the series: HTTP ${pushed.status} ${await pushed.text()}`);

    const callsBefore = simulator.stats().requests;
    const ours = await load('wolkvox-exporter', `${base}/metrics`, exporter.pid ?? 0);
    const upstreamCalls = simulator.stats().requests - callsBefore;
    const theirs = await load('pushgateway (Go)', `http://127.0.0.1:${pgwPort}/metrics`, gateway.pid ?? 0);

    const row = (m: Measured) =>
      `${m.name.padEnd(18)} ${m.reqPerSec.toFixed(0).padStart(8)} ${m.p50.toFixed(1).padStart(7)} ${m.p99.toFixed(1).padStart(7)} ${m.rssMb.toFixed(1).padStart(8)} ${m.cpuPer1000.toFixed(3).padStart(12)}`;
    console.log(`\n${ACCOUNTS} accounts x ${WINDOWS.length} windows, ${series} series on /metrics, ${CONNECTIONS} connections, ${DURATION_S}s of load`);
    console.log(`${'target'.padEnd(18)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'RSS MB'.padStart(8)} ${'CPU s/1000'.padStart(12)}`);
    console.log(row(ours));
    console.log(row(theirs));
    console.log(
      `ratios (ours / pushgateway): req/s ${(ours.reqPerSec / theirs.reqPerSec).toFixed(2)}, p99 ${(ours.p99 / Math.max(theirs.p99, 0.001)).toFixed(2)}, RSS ${(ours.rssMb / theirs.rssMb).toFixed(2)}, CPU per scrape ${(ours.cpuPer1000 / theirs.cpuPer1000).toFixed(2)}`,
    );
    console.log(`upstream Wolkvox calls during the load: ${upstreamCalls} (must be 0)`);
    const targets = [
      [`req/s at least the pushgateway's`, ours.reqPerSec >= theirs.reqPerSec],
      ['p99 under 5 ms', ours.p99 < 5],
      ['RSS under 80 MB', ours.rssMb < 80],
      ['no upstream calls during the load', upstreamCalls === 0],
    ] as const;
    for (const [name, met] of targets) console.log(`${met ? 'met    ' : 'MISSED '} ${name}`);
    if (upstreamCalls !== 0) process.exitCode = 1;
  } finally {
    await Promise.all([stop(exporter), stop(gateway)]);
    await simulator.close();
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error).message}`);
  process.exit(1);
});
