// Soak run: hundreds of account × window schedules against a faulty simulator while scraping non-stop;
// samples memory, event-loop lag, handles and series so growth shows. `npm run soak -- --duration 10m`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { exporterSettings } from '../src/config/flags.js';
import { loadConfig } from '../src/config/load.js';
import { parseDuration } from '../src/config/duration.js';
import { createLogger } from '../src/log.js';
import { startExporter } from '../src/main.js';
import { startSimulator, type Scenario } from '../src/simulator/server.js';

export type SoakOptions = {
  durationMs: number;
  accounts: number;
  windows: readonly string[];
  interval: string;
  sampleEveryMs: number;
  /** Called with each sample as it is taken (the CLI prints them). */
  onSample?: (sample: SoakSample) => void;
};

export type SoakSample = {
  atS: number;
  rssMb: number;
  heapMb: number;
  /** `wolkvox_*` series on /metrics. */
  series: number;
  activeResources: number;
  scrapes: number;
  upstreamCalls: number;
};

export type SoakResult = { samples: SoakSample[]; lagP99Ms: number; scrapes: number; upstreamCalls: number; logLines: number };

const TOKEN = 'soak-token';
// Fast faults only: a fault that hangs would just hold a concurrency slot until the timeout.
const FAULTS: Scenario[] = [
  { kind: 'ok' },
  { kind: 'ok' },
  { kind: 'ok' },
  { kind: 'no_data' },
  { kind: 'server_error', status: 503 },
  { kind: 'concurrency_limited' },
  { kind: 'html' },
  { kind: 'truncated_json' },
  { kind: 'bad_value', value: '-3' },
  { kind: 'reset' },
  { kind: 'slow', delayMs: 400 },
];

/** gc() even when node was started without --expose-gc, so heap samples are after a full collection. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const dir = mkdtempSync(join(tmpdir(), 'wolkvox-soak-'));
  const simulator = await startSimulator({ token: TOKEN, maxConcurrent: 1_000 });
  let logLines = 0;
  const logger = createLogger({ level: 'info', format: 'json' }, { write: () => void logLines++ });
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  const accounts = Array.from(
    { length: options.accounts },
    (_, i) => `  - name: soak${i}\n    base_url: ${simulator.url}\n    token_file: token\n`,
  );
  writeFileSync(
    join(dir, 'config.yml'),
    `interval: ${options.interval}\ntimeout: 1s\nmax_concurrency: 2\nwindows: [${options.windows.join(', ')}]\naccounts:\n${accounts.join('')}`,
  );
  const argv = [`--config.file=${join(dir, 'config.yml')}`, '--web.listen-address=127.0.0.1:0'];
  const config = loadConfig({ settings: exporterSettings(argv, {}), env: {}, readFile: (path) => readFileSync(path, 'utf8') });
  const exporter = await startExporter({ config, argv, env: {}, logger });
  const url = `http://127.0.0.1:${exporter.address.port}/metrics`;

  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const started = Date.now();
  const samples: SoakSample[] = [];
  let scrapes = 0;
  let running = true;

  const faults = setInterval(() => {
    simulator.setScenario(FAULTS[Math.floor(Math.random() * FAULTS.length)] ?? { kind: 'ok' });
  }, 250);
  // One scraper that never pauses, as a busy Prometheus pair would be.
  const scraper = (async () => {
    while (running) {
      const response = await fetch(url);
      await response.text();
      scrapes++;
    }
  })();

  try {
    while (Date.now() - started < options.durationMs) {
      await new Promise((resolve) => setTimeout(resolve, options.sampleEveryMs));
      collectGarbage();
      // Read right after the collection: a scrape first would add its own garbage to the heap figure.
      const memory = process.memoryUsage();
      const body = await (await fetch(url)).text();
      const sample: SoakSample = {
        atS: Math.round((Date.now() - started) / 1000),
        rssMb: memory.rss / 2 ** 20,
        heapMb: memory.heapUsed / 2 ** 20,
        // The exporter's own series; the process/Node.js defaults vary with GC kinds seen.
        series: body.split('\n').filter((line) => line.startsWith('wolkvox_')).length,
        activeResources: process.getActiveResourcesInfo().length,
        scrapes,
        upstreamCalls: simulator.stats().requests,
      };
      samples.push(sample);
      options.onSample?.(sample);
    }
  } finally {
    running = false;
    clearInterval(faults);
    await scraper;
    lag.disable();
    await exporter.shutdown();
    await simulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { samples, lagP99Ms: lag.percentile(99) / 1e6, scrapes, upstreamCalls: simulator.stats().requests, logLines };
}

/** Mean of the first and last third of a series: growth shows as last ≫ first. */
export function thirds(values: readonly number[]): { first: number; last: number } {
  const third = Math.max(1, Math.floor(values.length / 3));
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { first: mean(values.slice(0, third)), last: mean(values.slice(-third)) };
}

/** Issue 10: memory stays flat within ±10% over a soak. */
export const FLAT_TOLERANCE = 0.1;

export type MemoryTrend = {
  /** Samples left after the warm-up. */
  samples: number;
  rss: { first: number; last: number; change: number };
  heap: { first: number; last: number; change: number };
  /** Both RSS and heap after GC within ±FLAT_TOLERANCE between the first and the last third. */
  flat: boolean;
};

/**
 * RSS and heap after GC, mean of the first third against the last third of the samples taken
 * after `warmUpS` seconds (at least the first sample is dropped: it is taken while caches fill).
 */
export function memoryTrend(samples: readonly SoakSample[], warmUpS: number): MemoryTrend {
  const kept = samples.slice(1).filter((sample) => sample.atS >= warmUpS);
  const trend = (values: number[]) => {
    const { first, last } = thirds(values);
    return { first, last, change: (last - first) / first };
  };
  const rss = trend(kept.map((sample) => sample.rssMb));
  const heap = trend(kept.map((sample) => sample.heapMb));
  const within = (change: number) => Math.abs(change) <= FLAT_TOLERANCE;
  return { samples: kept.length, rss, heap, flat: kept.length >= 3 && within(rss.change) && within(heap.change) };
}

async function cli(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string) => {
    const index = args.indexOf(`--${name}`);
    const inline = args.find((arg) => arg.startsWith(`--${name}=`));
    return inline ? inline.split('=')[1] ?? fallback : index >= 0 ? args[index + 1] ?? fallback : fallback;
  };
  const durationMs = parseDuration(flag('duration', '10m'));
  if (durationMs === undefined) throw new Error('--duration takes a duration such as 10m');
  const accounts = Number(flag('accounts', '200'));
  const windows = flag('windows', '1h,24h,today').split(',');
  const interval = flag('interval', '2s');
  console.log(`soak: ${accounts} accounts x ${windows.length} windows every ${interval}, faults injected at random, for ${durationMs / 1000}s`);
  console.log('   t(s)   RSS MB  heap MB   series  resources    scrapes  upstream calls');
  const result = await runSoak({
    durationMs,
    accounts,
    windows,
    interval,
    sampleEveryMs: Math.max(5_000, Math.floor(durationMs / 40)),
    onSample: (s) =>
      console.log(
        `${String(s.atS).padStart(7)} ${s.rssMb.toFixed(1).padStart(8)} ${s.heapMb.toFixed(1).padStart(8)} ${String(s.series).padStart(8)} ${String(s.activeResources).padStart(10)} ${String(s.scrapes).padStart(10)} ${String(s.upstreamCalls).padStart(15)}`,
      ),
  });
  const heap = thirds(result.samples.map((s) => s.heapMb));
  const rss = thirds(result.samples.map((s) => s.rssMb));
  console.log(`event-loop lag p99: ${result.lagP99Ms.toFixed(1)} ms; scrapes: ${result.scrapes}; upstream calls: ${result.upstreamCalls}; log lines: ${result.logLines}`);
  console.log(`heap first third ${heap.first.toFixed(1)} MB, last third ${heap.last.toFixed(1)} MB; RSS ${rss.first.toFixed(1)} -> ${rss.last.toFixed(1)} MB`);
  const series = new Set(result.samples.slice(1).map((s) => s.series));
  console.log(`series counts after warm-up: ${[...series].join(', ')}`);
  // Warm-up: the first tenth of the run (a minute of a 10-minute soak), while caches and series fill.
  const warmUpS = durationMs / 10_000;
  const trend = memoryTrend(result.samples, warmUpS);
  const percent = (change: number) => `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
  console.log(
    `${trend.flat ? 'met   ' : 'MISSED'} memory flat within ±${FLAT_TOLERANCE * 100}% (first vs last third of the ${trend.samples} samples after ${warmUpS.toFixed(0)} s of warm-up): ` +
      `RSS ${trend.rss.first.toFixed(1)} -> ${trend.rss.last.toFixed(1)} MB (${percent(trend.rss.change)}), heap after GC ${trend.heap.first.toFixed(1)} -> ${trend.heap.last.toFixed(1)} MB (${percent(trend.heap.change)})`,
  );
}

if (process.argv[1]?.endsWith('soak.ts')) {
  cli().catch((error: unknown) => {
    console.error(`soak: ${(error as Error).message}`);
    process.exit(1);
  });
}
