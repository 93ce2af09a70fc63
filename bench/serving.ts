// The scrape benchmark of issue 10: the exporter started from dist/main.js and the Go pushgateway holding the same series, loaded by wrk as Prometheus scrapes.
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createLagProbe, mergeSpans, type LagProbe, type LagSpan } from './lag-probe.js';
import { callsSinceReset, writeAccountsConfig, type Origin } from './origin.js';
import {
  exporterCommand,
  freePort,
  msToStatus,
  pinned,
  runToEnd,
  procStats,
  ServerExited,
  sleep,
  startServer,
  stop,
  type Pinning,
  type ProcStats,
  type Server,
} from './processes.js';
import { push, startPushgateway, wolkvoxFamilies } from './pushgateway.js';
import { PROMETHEUS_HEADERS, runWrk, type WrkRound } from './wrk.js';

export const WINDOWS = ['1h', '24h', 'today'] as const;

/** Workload B, after the load: scrapes one at a time, 100 ms apart, per target. */
const ALONE_SCRAPES = 10;
/** Idle time around a span the lag probe must see alone: more than its 500 ms lines. */
const PROBE_PAD_MS = 600;
/** After /readyz 200, how long a count of windows up may stand still before the bench stops waiting. */
const STALL_MS = 15_000;
/** Workload B, after the load: the event-loop baseline with nothing scraping. */
const IDLE_MS = 2_000;
/** prom-client's monitorEventLoopDelay resolution: every delay it reports includes this tick. */
const PROM_CLIENT_TICK_MS = 10;

/** The environment variable that makes the exporter re-render and re-compress on every scrape (src/main.ts). */
const RESPONSE_CACHE_ENV = 'WOLKVOX_EXPORTER_RESPONSE_CACHE';

export type Workload = {
  key: 'a' | 'miss' | 'b';
  title: string;
  accounts: number;
  /** --collector.interval: long enough that no window polls again during the load. */
  interval: string;
  intervalMs: number;
  rounds: number;
  seconds: number;
  /** Extra environment of the exporter. */
  env: Record<string, string>;
  /** --wolkvox.max-in-flight to start with (workload B). */
  maxInFlight?: number;
  /** How long the simulator takes to answer a call; only workload B has an origin of its own to slow. */
  latencyMs: number;
  /** Workload B: start-up figures, the event-loop probe, a slow scraper during the load and scrapes one at a time after it. */
  large: boolean;
};

export type BenchSetup = {
  dir: string;
  /** The exporter's script, in a copy of the build (processes.ts installCopy). */
  exporterScript: string;
  origin: Origin;
  pinning: Pinning;
  connections: number;
  warmUpSeconds: number;
  wrkScript: string;
  pushgateway: string;
  /** Node flags after the #! line's (BENCH_EXPORTER_NODE_FLAGS). */
  nodeFlags: string[];
  /** Workload A: cold starts per side, the median is the figure (BENCH_COLD_STARTS). */
  coldStarts: number;
};

type Side = {
  rounds: WrkRound[];
  cpuSeconds: number;
  /** Before the warm-up: first polls done, no load yet. */
  before: ProcStats;
  after: ProcStats;
  /** The median of the cold starts measured (one, but for workload A). */
  coldStartMs: number;
  coldStarts: number[];
  /** Scrapes one at a time after the load (workload B): median and worst latency, ms. */
  alone?: { p50: number; max: number };
};

type Startup = {
  /** --wolkvox.max-in-flight as given, or undefined when the build refused it. */
  maxInFlightFlag: number | undefined;
  readyzMs: number;
  /** Spawn until every window has wolkvox_up 1, or undefined if that did not happen within an interval. */
  allUpMs: number | undefined;
  windowsUp: number;
  /** Calls the simulator received from the spawn until the bench stopped waiting. */
  calls: number;
  simulatorMaxInFlight: number;
  relayMaxInFlight: number;
  /** Longest event-loop delay while the first polls ran (first 200 to /readyz 200), from the probe. */
  probe: LagSpan;
  /** The exporter's nodejs_eventloop_lag_max_seconds on the first scrape after /readyz 200 (nothing reset it since the first 200). */
  ownLagMaxMs: number | undefined;
};

type LoadLag = {
  /** While wrk loaded the exporter. */
  underLoad: LagSpan;
  /** While nothing scraped it: the baseline. */
  idle: LagSpan;
  /** While it served scrapes one at a time. */
  alone: LagSpan;
  /** nodejs_eventloop_lag_max_seconds read every second during the load, and right after each round. */
  ownSampledMaxMs: number | undefined;
  ownAfterMs: number | undefined;
};

/** One target of issue 10: met or not, and what was measured. */
export type Target = { met: boolean; text: string };

export type WorkloadResult = {
  workload: Workload;
  /** Simulator calls during the load that no schedule explains; must be 0. */
  callsCausedByScrapes: number;
  targets: Target[];
};

const fmt = (value: number | undefined, digits = 0): string =>
  value === undefined || Number.isNaN(value) ? 'n/a' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};

/** One scrape with Prometheus's headers: what came back, before and after gunzip. */
function scrapeOnce(url: string): Promise<{ status: number; encoding: string; contentType: string; wireBytes: number; text: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: PROMETHEUS_HEADERS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const ms = performance.now() - started;
        const raw = Buffer.concat(chunks);
        const encoding = String(res.headers['content-encoding'] ?? 'identity');
        const text = (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        resolve({ status: res.statusCode ?? 0, encoding, contentType: String(res.headers['content-type'] ?? ''), wireBytes: raw.length, text, ms });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const sampleLines = (text: string): string[] => text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

const windowsUpIn = (text: string): number => text.split('\n').filter((line) => line.startsWith('wolkvox_up{') && line.endsWith(' 1')).length;

/** nodejs_eventloop_lag_max_seconds in ms, from an exposition. */
function ownLagMaxMs(text: string): number | undefined {
  const value = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1];
  return value === undefined ? undefined : Number(value) * 1000;
}

/** Whether the exporter's build reads an environment variable at all (a build before the serving rewrite ignores it). */
function buildMentions(script: string, name: string): boolean {
  const dir = dirname(script);
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js') || file.endsWith('.cjs'));
  return files.some((file) => readFileSync(join(dir, file), 'utf8').includes(name));
}

/**
 * Variables of the shell that the exporter does not get, as in the image. NODE_EXTRA_CA_CERTS, set on machines behind
 * an npm proxy (this project's among them), makes Node 20 read and parse the whole file at every start
 * (extraCaCertsCost says how much).
 */
export const SHELL_ONLY_ENV = ['NODE_EXTRA_CA_CERTS'] as const;

/** An environment without the user's own exporter settings, so only the bench's flags and file count. */
function cleanEnv(): NodeJS.ProcessEnv {
  const shellOnly = new Set<string>(SHELL_ONLY_ENV);
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('WOLKVOX_') && key !== 'LOG_LEVEL' && key !== 'LOG_FORMAT' && !shellOnly.has(key)),
  );
}

/**
 * What NODE_EXTRA_CA_CERTS costs a bare `node` with the exporter's flags, to its first line of JavaScript: ms and RSS MB,
 * medians of 5 starts each way, alternating. Undefined when it is not set.
 */
export async function extraCaCertsCost(nodeFlags: readonly string[]): Promise<{ ms: number; mb: number } | undefined> {
  if (process.env.NODE_EXTRA_CA_CERTS === undefined) return undefined;
  const probe = 'process.stdout.write(JSON.stringify([performance.now(), process.memoryUsage().rss]))';
  const runs: Record<'with' | 'without', { ms: number[]; mb: number[] }> = { with: { ms: [], mb: [] }, without: { ms: [], mb: [] } };
  for (let i = 0; i < 5; i++) {
    for (const side of ['with', 'without'] as const) {
      const env = side === 'with' ? process.env : cleanEnv();
      const { code, out } = await runToEnd(process.execPath, [...nodeFlags, '-e', probe], { env: { ...env, NODE_OPTIONS: '' } });
      if (code !== 0) throw new Error(`node -e exited ${code} measuring NODE_EXTRA_CA_CERTS`);
      const [ms, rss] = JSON.parse(out) as [number, number];
      runs[side].ms.push(ms);
      runs[side].mb.push(rss / 2 ** 20);
    }
  }
  return { ms: median(runs.with.ms) - median(runs.without.ms), mb: median(runs.with.mb) - median(runs.without.mb) };
}

/** `spawnedAt` is performance.now() and `spawnedAtMs` Date.now(), both taken just before the spawn. */
type StartedExporter = { server: Server; base: string; coldStartMs: number; spawnedAt: number; spawnedAtMs: number; args: string[] };

async function startExporter(setup: BenchSetup, workload: Workload, configFile: string, probe: LagProbe | undefined, maxInFlight: number | undefined): Promise<StartedExporter> {
  const port = await freePort();
  const { command, args: nodeArgs } = exporterCommand(setup.exporterScript, setup.nodeFlags);
  const args = [
    `--config.file=${configFile}`,
    `--web.listen-address=127.0.0.1:${port}`,
    `--collector.interval=${workload.interval}`,
    `--collector.windows=${WINDOWS.join(',')}`,
    '--log.level=warn',
    ...(maxInFlight === undefined ? [] : [`--wolkvox.max-in-flight=${maxInFlight}`]),
  ];
  const nodeOptions = [process.env.BENCH_EXPORTER_NODE_OPTIONS ?? '', probe?.nodeOptions ?? ''].join(' ').trim();
  const env = { ...cleanEnv(), ...workload.env, ...(probe?.env ?? {}), NODE_OPTIONS: nodeOptions };
  const [spawnCommand, spawnArgs] = pinned(setup.pinning?.server, command, [...nodeArgs, ...args]);
  const base = `http://127.0.0.1:${port}`;
  const spawnedAtMs = Date.now();
  const spawnedAt = performance.now();
  const server = startServer(spawnCommand, spawnArgs, env);
  try {
    const coldStartMs = await msToStatus(server, `${base}/metrics`, spawnedAt, 60_000, { headers: PROMETHEUS_HEADERS });
    return { server, base, coldStartMs, spawnedAt, spawnedAtMs, args };
  } catch (error) {
    await stop(server);
    throw error;
  }
}

/** Starts the exporter with --wolkvox.max-in-flight; a build that does not know the flag exits 2, and then it starts again without it. */
async function startWithMaxInFlight(setup: BenchSetup, workload: Workload, configFile: string, probe: LagProbe | undefined) {
  try {
    return { exporter: await startExporter(setup, workload, configFile, probe, workload.maxInFlight), flag: workload.maxInFlight, refused: undefined };
  } catch (error) {
    if (!(error instanceof ServerExited) || error.code !== 2 || !error.stderr.includes('max-in-flight')) throw error;
    const refused = error.stderr.trim().split('\n').find((line) => line.includes('max-in-flight')) ?? error.stderr.trim();
    setup.origin.resetStats();
    return { exporter: await startExporter(setup, workload, configFile, probe, undefined), flag: undefined, refused };
  }
}

/** Spawn → /readyz 200 → every window up; reads what start-up cost. */
async function measureStartup(setup: BenchSetup, workload: Workload, exporter: StartedExporter, probe: LagProbe, flag: number | undefined): Promise<Startup> {
  const windows = workload.accounts * WINDOWS.length;
  const deadlineMs = workload.intervalMs;
  // Only /readyz during start-up: a 4 MB /metrics every few hundred ms would be the heaviest thing running.
  const readyzMs = await msToStatus(exporter.server, `${exporter.base}/readyz`, exporter.spawnedAt, deadlineMs, { everyMs: 250 });
  // The first polls run from the first 200 (listening, polling begun) to /readyz 200. Module loading
  // and config parsing before it are the cold start's; the bench's own first 4 MB scrape comes after
  // a pause, so the probe's lines for the span do not see it.
  const pollsFromMs = exporter.spawnedAtMs + exporter.coldStartMs;
  const pollsToMs = exporter.spawnedAtMs + readyzMs;
  await sleep(PROBE_PAD_MS);
  let allUpMs: number | undefined;
  let windowsUp = 0;
  let ownLag: number | undefined;
  let changedAt = performance.now();
  for (;;) {
    const scrape = await scrapeOnce(`${exporter.base}/metrics`);
    ownLag ??= ownLagMaxMs(scrape.text);
    const up = windowsUpIn(scrape.text);
    if (up !== windowsUp) changedAt = performance.now();
    windowsUp = up;
    if (windowsUp >= windows) {
      // The scrape answered at `now`; it saw every window up by the time it was rendered.
      allUpMs = performance.now() - exporter.spawnedAt - scrape.ms;
      break;
    }
    // Every window has had its first poll (/readyz): one that failed waits for its next slot, an
    // interval away, so a count that stands still will not reach the rest within the interval.
    if (performance.now() - exporter.spawnedAt > deadlineMs || performance.now() - changedAt > STALL_MS) break;
    await sleep(1_000);
  }
  return {
    maxInFlightFlag: flag,
    readyzMs,
    allUpMs,
    windowsUp,
    calls: setup.origin.simulator.stats().requests,
    simulatorMaxInFlight: setup.origin.simulator.stats().maxInFlight,
    relayMaxInFlight: setup.origin.maxInFlight(),
    probe: probe.between(pollsFromMs, pollsToMs),
    ownLagMaxMs: ownLag,
  };
}

/** Reads nodejs_eventloop_lag_max_seconds every second until `until` resolves; the largest value seen (ms). */
async function sampleOwnLag(url: string, until: Promise<unknown>): Promise<number | undefined> {
  let done = false;
  void until.finally(() => (done = true));
  let max: number | undefined;
  while (!done) {
    await sleep(1_000);
    if (done) break;
    const lag = ownLagMaxMs((await scrapeOnce(url)).text);
    if (lag !== undefined) max = Math.max(max ?? 0, lag);
  }
  return max;
}

/** Scrapes one at a time, as one Prometheus does per target, with a pause between: what a single scrape costs. */
async function scrapesAlone(url: string, count: number): Promise<{ p50: number; max: number }> {
  const took: number[] = [];
  for (let i = 0; i < count; i++) {
    const scrape = await scrapeOnce(url);
    if (scrape.status !== 200) throw new Error(`${url} answered HTTP ${scrape.status}`);
    took.push(scrape.ms);
    await sleep(100);
  }
  return { p50: median(took), max: Math.max(...took) };
}

/** An exporter started for a workload, timed to its first 200; its polls may still be running. */
export type Launched = {
  workload: Workload;
  exporter: StartedExporter;
  probe: LagProbe | undefined;
  /** --wolkvox.max-in-flight as given, or undefined when not given or refused. */
  flag: number | undefined;
  refused: string | undefined;
  configFile: string;
};

/**
 * Starts the workload's exporter and waits for its first 200 on /metrics (the cold start). Workload
 * B starts on a quiet origin, so the in-flight count is its own; start it alone.
 */
export async function launchWorkload(setup: BenchSetup, workload: Workload): Promise<Launched> {
  const configFile = writeAccountsConfig(join(setup.dir, workload.key), setup.origin.url, workload.accounts);
  const probe = workload.large ? createLagProbe(setup.dir, workload.key) : undefined;
  if (workload.large) {
    setup.origin.resetStats();
    const started = await startWithMaxInFlight(setup, workload, configFile, probe);
    return { workload, exporter: started.exporter, probe, flag: started.flag, refused: started.refused, configFile };
  }
  const exporter = await startExporter(setup, workload, configFile, undefined, undefined);
  return { workload, exporter, probe, flag: undefined, refused: undefined, configFile };
}

export function stopLaunched(launched: Launched | undefined): Promise<void> {
  return stop(launched?.exporter.server);
}

/** Waits until the exporter's first polls are done, then measures it against the pushgateway and prints the workload's table; stops the exporter. */
export async function measureWorkload(setup: BenchSetup, launched: Launched): Promise<WorkloadResult> {
  const { workload, exporter, probe } = launched;
  const cpu = setup.pinning?.load;

  // Other work on the machine's CPUs skews every figure; say how busy it was.
  console.log(`\n== ${workload.title} ==  (load average ${loadavg()[0]?.toFixed(2)} on ${cpus().length} CPUs as it began)`);
  if (workload.env[RESPONSE_CACHE_ENV] !== undefined && !buildMentions(setup.exporterScript, RESPONSE_CACHE_ENV)) {
    console.log(`NOTE: this build never reads ${RESPONSE_CACHE_ENV}: this build serves as in workload A, so this part measures the same thing.`);
  }
  if (launched.refused !== undefined) {
    console.log(`NOTE: this build refuses --wolkvox.max-in-flight (exit 2: ${launched.refused}); it runs without the flag, so the in-flight target cannot be met until the flag lands.`);
  }
  let gateway: Awaited<ReturnType<typeof startPushgateway>> | undefined;
  try {
    let startup: Startup | undefined;
    if (workload.large && probe) {
      startup = await measureStartup(setup, workload, exporter, probe, launched.flag);
    } else {
      await msToStatus(exporter.server, `${exporter.base}/readyz`, exporter.spawnedAt, 5 * 60_000, { everyMs: 100 });
      const up = windowsUpIn((await scrapeOnce(`${exporter.base}/metrics`)).text);
      const windows = workload.accounts * WINDOWS.length;
      if (up < windows) console.log(`WARNING: only ${fmt(up)} of ${fmt(windows)} windows are up after their first polls: the series served are not the ones users see.`);
    }
    const envShown = Object.entries(workload.env).map(([key, value]) => `${key}=${value} `).join('');
    console.log(`exporter: ${envShown}${exporterCommand(setup.exporterScript, setup.nodeFlags).shown} ${exporter.args.join(' ').replaceAll(setup.dir, '$BENCH_DIR')}`);
    // The same wolkvox_* series into the pushgateway.
    const exposition = (await scrapeOnce(`${exporter.base}/metrics`)).text;
    const families = wolkvoxFamilies(exposition);
    gateway = await startPushgateway(setup.pushgateway, setup.pinning?.server);
    await push(gateway.base, families);

    const ours = await scrapeOnce(`${exporter.base}/metrics`);
    const theirs = await scrapeOnce(`${gateway.base}/metrics`);
    const wolkvoxSeries = (text: string) => sampleLines(text).filter((line) => line.startsWith('wolkvox_')).length;
    console.log(
      `series: ${fmt(sampleLines(ours.text).length)} on the exporter's /metrics (${fmt(Buffer.byteLength(ours.text) / 1024, 1)} KB as text), ` +
        `${fmt(wolkvoxSeries(ours.text))} of them wolkvox_*; the pushgateway holds ${fmt(wolkvoxSeries(theirs.text))} wolkvox_* series ` +
        `(${fmt(sampleLines(theirs.text).length)} in all, ${fmt(Buffer.byteLength(theirs.text) / 1024, 1)} KB)`,
    );
    for (const [name, answer] of [['exporter', ours], ['pushgateway', theirs]] as const) {
      const ok = answer.status === 200 && answer.encoding === 'gzip';
      console.log(
        `${ok ? 'gzip:' : 'NOT GZIP:'} ${name} answered HTTP ${answer.status}, Content-Encoding ${answer.encoding}, Content-Type ${answer.contentType}, ` +
          `${fmt(answer.wireBytes)} B on the wire for ${fmt(Buffer.byteLength(answer.text))} B of text`,
      );
    }

    const targets = [
      { name: 'exporter', base: exporter.base, pid: exporter.server.pid },
      { name: 'pushgateway', base: gateway.base, pid: gateway.server.pid },
    ] as const;
    // Memory at rest: first polls done, a few scrapes served, no load yet.
    const beforeLoad = targets.map((target) => procStats(target.pid));
    for (const target of targets) {
      await runWrk({ url: `${target.base}/metrics`, script: setup.wrkScript, connections: setup.connections, seconds: setup.warmUpSeconds, cpu });
    }

    // The load: rounds alternate between the two, so other load on the machine weighs on both alike.
    setup.origin.resetStats();
    const sides = [
      { rounds: [] as WrkRound[], cpuSeconds: 0 },
      { rounds: [] as WrkRound[], cpuSeconds: 0 },
    ];
    const loadSpans: Array<[number, number]> = [];
    let ownSampledMax: number | undefined;
    let ownAfter: number | undefined;
    for (let round = 0; round < workload.rounds; round++) {
      for (const [index, target] of targets.entries()) {
        const side = sides[index];
        if (!side) continue;
        const before = procStats(target.pid);
        const startedMs = Date.now();
        const load = runWrk({ url: `${target.base}/metrics`, script: setup.wrkScript, connections: setup.connections, seconds: workload.seconds, cpu });
        // Workload B: a slow scraper reads the exporter's own lag metric while wrk loads it (and the pushgateway alike, for fairness).
        const sampled = workload.large ? sampleOwnLag(`${target.base}/metrics`, load) : undefined;
        side.rounds.push(await load);
        const sampledMax = await sampled;
        side.cpuSeconds += procStats(target.pid).cpuSeconds - before.cpuSeconds;
        if (index === 0) {
          loadSpans.push([startedMs, Date.now()]);
          if (sampledMax !== undefined) ownSampledMax = Math.max(ownSampledMax ?? 0, sampledMax);
          if (workload.large) {
            const after = ownLagMaxMs((await scrapeOnce(`${target.base}/metrics`)).text);
            if (after !== undefined) ownAfter = Math.max(ownAfter ?? 0, after);
          }
        }
      }
    }
    const afterLoad = targets.map((target) => procStats(target.pid));

    let lag: LoadLag | undefined;
    let alone: Array<{ p50: number; max: number }> | undefined;
    if (workload.large && probe) {
      const idleFrom = Date.now();
      await sleep(IDLE_MS);
      // The idle time just before pads the start of the span.
      const aloneFrom = Date.now() - PROBE_PAD_MS;
      const exporterAlone = await scrapesAlone(`${exporter.base}/metrics`, ALONE_SCRAPES);
      await sleep(PROBE_PAD_MS);
      const aloneTo = Date.now();
      alone = [exporterAlone, await scrapesAlone(`${gateway.base}/metrics`, ALONE_SCRAPES)];
      lag = {
        underLoad: mergeSpans(loadSpans.map(([from, to]) => probe.between(from, to))),
        idle: probe.between(idleFrom, aloneFrom),
        alone: probe.between(aloneFrom, aloneTo),
        ownSampledMaxMs: ownSampledMax,
        ownAfterMs: ownAfter,
      };
    }
    // Every scrape since the warm-up: the rounds, and in B the slow scraper's and the ones alone.
    const calls = callsSinceReset(setup.origin);

    // Workload A's cold start is a target: one spawn on a shared machine is at the mercy of whatever
    // else runs, so both sides start a few more times, alternating, and the median counts.
    const coldStarts: [number[], number[]] = [[exporter.coldStartMs], [gateway.coldStartMs]];
    if (workload.key === 'a') {
      for (let i = 1; i < setup.coldStarts; i++) {
        const again = await startExporter(setup, workload, launched.configFile, undefined, undefined);
        await stop(again.server);
        coldStarts[0].push(again.coldStartMs);
        const gatewayAgain = await startPushgateway(setup.pushgateway, setup.pinning?.server);
        await stop(gatewayAgain.server);
        coldStarts[1].push(gatewayAgain.coldStartMs);
      }
    }

    const [exporterSide, gatewaySide] = sides.map(
      (side, index): Side => ({
        rounds: side.rounds,
        cpuSeconds: side.cpuSeconds,
        before: beforeLoad[index] ?? { rssMb: Number.NaN, peakRssMb: Number.NaN, cpuSeconds: Number.NaN },
        after: afterLoad[index] ?? { rssMb: Number.NaN, peakRssMb: Number.NaN, cpuSeconds: Number.NaN },
        coldStartMs: median(coldStarts[index] ?? []),
        coldStarts: coldStarts[index] ?? [],
        ...(alone?.[index] ? { alone: alone[index] } : {}),
      }),
    );
    if (!exporterSide || !gatewaySide) throw new Error('no figures');
    const met = report(setup, workload, exporterSide, gatewaySide, calls, startup, lag);
    return { workload, callsCausedByScrapes: calls.other, targets: met };
  } finally {
    await Promise.all([stop(exporter.server), stop(gateway?.server)]);
  }
}

function spanText(span: LagSpan): string {
  const gc = span.gc ? `longest GC pause ${fmt(span.gc.ms, 1)} ms, ${span.gc.kind}` : 'no GC pause of 2 ms or more';
  return `longest delay ${fmt(span.delayMs, 1)} ms (${gc})`;
}

type Row = [label: string, ours: string, theirs: string, ratio: string];

function ratio(ours: number, theirs: number, digits = 2): string {
  return Number.isFinite(ours / theirs) ? `${(ours / theirs).toFixed(digits)}×` : '';
}

/** One figure for both sides, with the ratio exporter / pushgateway. */
function both(label: string, ours: number, theirs: number, digits: number, withRatio = true): Row {
  return [label, fmt(ours, digits), fmt(theirs, digits), withRatio ? ratio(ours, theirs) : ''];
}

function printTable(rows: readonly Row[]): void {
  const header: Row = ['figure', 'exporter', 'pushgateway', 'ratio'];
  const width = Math.max(...[header, ...rows].map((row) => row[0].length));
  for (const row of [header, ...rows]) {
    console.log(`  ${row[0].padEnd(width)}  ${row[1].padStart(11)}  ${row[2].padStart(11)}  ${row[3].padStart(7)}`);
  }
}

function report(
  setup: BenchSetup,
  workload: Workload,
  ours: Side,
  theirs: Side,
  calls: { total: number; counterChunks: number; other: number },
  startup: Startup | undefined,
  lag: LoadLag | undefined,
): Target[] {
  const summary = (side: Side) => {
    const rates = side.rounds.map((r) => r.reqPerSec);
    const requests = side.rounds.reduce((sum, r) => sum + r.requests, 0);
    return {
      meanRate: rates.reduce((a, b) => a + b, 0) / rates.length,
      minRate: Math.min(...rates),
      p50: median(side.rounds.map((r) => r.p50)),
      p99: median(side.rounds.map((r) => r.p99)),
      worstP99: Math.max(...side.rounds.map((r) => r.p99)),
      bytes: side.rounds.reduce((sum, r) => sum + r.bytesPerResponse * r.requests, 0) / Math.max(1, requests),
      errors: side.rounds.reduce((sum, r) => sum + r.errors, 0),
      cpuPer1000: (side.cpuSeconds / Math.max(1, requests)) * 1000,
    };
  };
  const a = summary(ours);
  const b = summary(theirs);
  console.log(
    `load: wrk, 1 thread, ${setup.connections} connections, Prometheus's Accept list and Accept-Encoding: gzip; ` +
      `${setup.warmUpSeconds} s warm-up, then ${workload.rounds} round${workload.rounds === 1 ? '' : 's'} of ${workload.seconds} s per target, alternating` +
      (workload.large ? '; a slow scraper also reads /metrics every second' : ''),
  );
  const rows: Row[] = [
    both(`req/s, mean of ${workload.rounds} round${workload.rounds === 1 ? '' : 's'}`, a.meanRate, b.meanRate, 0),
    both('req/s, worst round', a.minRate, b.minRate, 0),
    both('p50 ms, median of the rounds', a.p50, b.p50, 2),
    both('p99 ms, median of the rounds', a.p99, b.p99, 2),
    both('p99 ms, worst round', a.worstP99, b.worstP99, 2),
    both('bytes per response (gzip, headers incl.)', a.bytes, b.bytes, 0),
    both('errors (socket + non-2xx)', a.errors, b.errors, 0, false),
    both('CPU s per 1,000 scrapes', a.cpuPer1000, b.cpuPer1000, 3),
    both('RSS at rest, before the load MB (VmRSS)', ours.before.rssMb, theirs.before.rssMb, 1),
    both('RSS after load MB (VmRSS)', ours.after.rssMb, theirs.after.rssMb, 1),
    both('peak RSS MB (VmHWM)', ours.after.peakRssMb, theirs.after.peakRssMb, 1),
    both(
      ours.coldStarts.length > 1 ? `cold start to the first 200 ms, median of ${ours.coldStarts.length}` : 'cold start to the first 200 ms',
      ours.coldStartMs,
      theirs.coldStartMs,
      0,
    ),
  ];
  if (ours.alone && theirs.alone) {
    rows.push(both(`one scrape alone, p50 ms (${ALONE_SCRAPES}, one at a time)`, ours.alone.p50, theirs.alone.p50, 1));
    rows.push(both('one scrape alone, max ms', ours.alone.max, theirs.alone.max, 1));
  }
  rows.push(['API calls caused by scrapes', fmt(calls.other), '', '']);
  printTable(rows);
  if (calls.counterChunks > 0) {
    console.log(`  (${calls.counterChunks} more calls during the load were settled counter chunks, due on their own hourly schedule, not caused by scrapes)`);
  }

  if (startup) {
    const windows = workload.accounts * WINDOWS.length;
    console.log('start-up (exporter):');
    console.log(`  /readyz 200 after ${fmt(startup.readyzMs / 1000, 2)} s; ${fmt(startup.windowsUp)} of ${fmt(windows)} windows with wolkvox_up 1` +
      (startup.allUpMs === undefined ? ' when the bench stopped waiting (the count stood still, or one interval passed)' : ` after ${fmt(startup.allUpMs / 1000, 2)} s (interval ${workload.interval})`));
    console.log(`  calls the origin answered during start-up: ${fmt(startup.calls)}`);
    console.log(`  calls in flight at the origin at once: ${fmt(startup.simulatorMaxInFlight)} at the simulator, ${fmt(startup.relayMaxInFlight)} at the relay in front of it` +
      (startup.maxInFlightFlag === undefined ? ' (started without --wolkvox.max-in-flight)' : ` (--wolkvox.max-in-flight=${startup.maxInFlightFlag})`) +
      `; the simulator answered each call ${workload.latencyMs === 0 ? 'at once' : `after ${workload.latencyMs} ms`}`);
    if (startup.maxInFlightFlag !== undefined && startup.simulatorMaxInFlight < startup.maxInFlightFlag) {
      console.log(`  (the cap was never reached, so this does not test it: with calls that take time, e.g. BENCH_B_LATENCY_MS=250, they overlap)`);
    }
    console.log(`  event-loop delay while the first polls ran (first 200 to /readyz 200): ${spanText(startup.probe)}`);
    console.log(`  the exporter's own nodejs_eventloop_lag_max_seconds, read after /readyz 200 (nothing scraped it since the first 200, so it covers the first polls): ${fmt(startup.ownLagMaxMs, 1)} ms (prom-client's 10 ms tick included)`);
  }
  if (lag) {
    console.log('event loop (exporter; the probe, with a 1 ms tick, and the longest GC pause in the same span):');
    console.log(`  idle, nothing scraping (${IDLE_MS / 1000} s): ${spanText(lag.idle)}`);
    console.log(`  scrapes one at a time: ${spanText(lag.alone)}`);
    console.log(`  under the wrk load (${setup.connections} connections): ${spanText(lag.underLoad)}`);
    console.log(`  its own nodejs_eventloop_lag_max_seconds: ${fmt(lag.ownSampledMaxMs, 1)} ms at most in 1 s samples during the load, ${fmt(lag.ownAfterMs, 1)} ms right after the rounds (blind to a scrape's own delay: see bench/lag-probe.ts)`);
  }

  const list: Target[] = [];
  const target = (met: boolean, text: string) => list.push({ met, text });
  if (workload.key === 'a') {
    const starts = ours.coldStarts.length > 1 ? `median of ${ours.coldStarts.length}: ${ours.coldStarts.map((ms) => fmt(ms)).join(', ')} ms` : `${fmt(ours.coldStartMs)} ms`;
    target(ours.after.rssMb <= 80, `RSS after load <= 80 MB (${fmt(ours.after.rssMb, 1)} MB)`);
    target(a.p99 <= b.p99, `p99 <= the pushgateway's (median of rounds: ${fmt(a.p99, 2)} vs ${fmt(b.p99, 2)} ms)`);
    target(a.meanRate >= b.meanRate, `req/s >= 1.0× the pushgateway's (${ratio(a.meanRate, b.meanRate)})`);
    target(ours.coldStartMs <= 300, `cold start to the first 200 <= 300 ms (${fmt(ours.coldStartMs)} ms, ${starts}; the pushgateway ${fmt(theirs.coldStartMs)} ms)`);
  }
  if (workload.key === 'miss') {
    target(a.meanRate >= 0.5 * b.meanRate, `req/s >= 0.5× the pushgateway's, cache missing on every scrape (${ratio(a.meanRate, b.meanRate)})`);
  }
  if (workload.key === 'b' && startup && lag) {
    const windows = workload.accounts * WINDOWS.length;
    const cap = startup.maxInFlightFlag;
    // The relay sees a call from its arrival until its answer is handed back, so it counts at least what the simulator does.
    const inFlight = Math.max(startup.simulatorMaxInFlight, startup.relayMaxInFlight);
    target(ours.after.rssMb <= 1.5 * theirs.after.rssMb, `RSS <= 1.5× the pushgateway's (${fmt(ours.after.rssMb, 1)} vs ${fmt(theirs.after.rssMb, 1)} MB, ${ratio(ours.after.rssMb, theirs.after.rssMb)})`);
    target((lag.alone.delayMs ?? Infinity) <= 20, `no single scrape blocks the event loop more than 20 ms (longest delay, scrapes one at a time: ${fmt(lag.alone.delayMs, 1)} ms)`);
    target(
      cap !== undefined && inFlight <= cap,
      cap === undefined
        ? `at most --wolkvox.max-in-flight calls in flight to one origin (this build has no such flag; ${fmt(inFlight)} were in flight)`
        : `at most --wolkvox.max-in-flight=${cap} calls in flight to one origin (${fmt(inFlight)} at most${inFlight < cap ? ', so the cap was not reached' : ''})`,
    );
    target(
      startup.allUpMs !== undefined && startup.allUpMs <= workload.intervalMs,
      `every window served within one interval of start (${fmt(windows)} windows up after ${startup.allUpMs === undefined ? `more than ${workload.interval}` : `${fmt(startup.allUpMs / 1000, 1)} s`}; interval ${workload.interval})`,
    );
    // The probe counts only its lines wholly inside the span, so a delay that begins as the first
    // 200 is served (the first polls start there) can fall between its lines; the exporter's own
    // histogram, reset by that first scrape, sees it. Its 10 ms tick is taken off.
    const ownDelay = startup.ownLagMaxMs === undefined ? undefined : Math.max(0, startup.ownLagMaxMs - PROM_CLIENT_TICK_MS);
    const firstPolls = Math.max(startup.probe.delayMs ?? Infinity, ownDelay ?? 0);
    target(
      firstPolls <= 20,
      `event-loop delay while the first polls run <= 20 ms (${fmt(firstPolls, 1)} ms: the probe ${fmt(startup.probe.delayMs, 1)} ms, nodejs_eventloop_lag_max_seconds less its tick ${fmt(ownDelay, 1)} ms)`,
    );
  }
  target(calls.other === 0, `0 API calls caused by scrapes (${fmt(calls.other)})`);
  console.log('targets:');
  for (const each of list) console.log(`  ${each.met ? 'met   ' : 'MISSED'} ${each.text}`);
  return list;
}
