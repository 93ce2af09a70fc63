// `npm run bench`: the scrape figures of issue 10 side by side with Debian's Go pushgateway (workloads A, A with cache misses, B), scrape latency behind basic auth under a password-guessing attack, and what each dependency costs at start.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { authUnderAttack } from './auth.js';
import { measureDependencyCosts, printDependencyCosts } from './dependency-cost.js';
import { startOrigin } from './origin.js';
import { choosePinning, extraNodeFlags, installCopy, ownAffinity, pinSelf, shebangFlags } from './processes.js';
import { pushgatewayBinary, pushgatewayVersion } from './pushgateway.js';
import { extraCaCertsCost, launchWorkload, measureWorkload, SHELL_ONLY_ENV, stopLaunched, WINDOWS, type BenchSetup, type Launched, type Workload, type WorkloadResult } from './serving.js';
import { wrkAvailable, writeWrkScript } from './wrk.js';

/** A whole number of at least `min` from the environment, or `fallback` when unset. */
const whole = (name: string, fallback: number, min = 1): number => {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be a whole number >= ${min}, got "${text}"`);
  return value;
};

const PARTS = ['a', 'miss', 'b', 'auth', 'deps'] as const;
type Part = (typeof PARTS)[number];

/** BENCH_ONLY: a comma list of parts; `scrape` is a, miss and b. Unset: all of them. */
function selectedParts(): Set<Part> {
  const only = process.env.BENCH_ONLY;
  if (only === undefined || only.trim() === '') return new Set(PARTS);
  const parts = new Set<Part>();
  for (const word of only.split(',').map((w) => w.trim())) {
    if (word === 'scrape') for (const part of ['a', 'miss', 'b'] as const) parts.add(part);
    else if ((PARTS as readonly string[]).includes(word)) parts.add(word as Part);
    else throw new Error(`BENCH_ONLY takes a comma list of ${PARTS.join(', ')} or scrape, got "${word}"`);
  }
  return parts;
}

function workloads(parts: Set<Part>): Workload[] {
  const accounts = whole('BENCH_ACCOUNTS', 20);
  const rounds = whole('BENCH_ROUNDS', 3);
  const seconds = whole('BENCH_SECONDS', 10);
  const hour = 3_600_000;
  const list: Workload[] = [];
  if (parts.has('a')) {
    list.push({
      key: 'a',
      title: `Workload A: ${accounts} accounts x ${WINDOWS.length} windows (${WINDOWS.join(',')}), --collector.interval=1h`,
      accounts,
      interval: '1h',
      intervalMs: hour,
      rounds,
      seconds,
      env: {},
      latencyMs: 0,
      large: false,
    });
  }
  if (parts.has('miss')) {
    list.push({
      key: 'miss',
      title: `Workload A with the cache missing on every scrape: WOLKVOX_EXPORTER_RESPONSE_CACHE=off`,
      accounts,
      interval: '1h',
      intervalMs: hour,
      rounds,
      seconds,
      env: { WOLKVOX_EXPORTER_RESPONSE_CACHE: 'off' },
      latencyMs: 0,
      large: false,
    });
  }
  if (parts.has('b')) {
    const large = whole('BENCH_B_ACCOUNTS', 1_000);
    list.push({
      key: 'b',
      title: `Workload B: ${large} accounts x ${WINDOWS.length} windows (${WINDOWS.join(',')}), --collector.interval=5m`,
      accounts: large,
      interval: '5m',
      intervalMs: 5 * 60_000,
      rounds: whole('BENCH_B_ROUNDS', 2),
      seconds: whole('BENCH_B_SECONDS', 10),
      env: {},
      maxInFlight: whole('BENCH_MAX_IN_FLIGHT', 8),
      // Calls that take as long as a real origin's, so that they overlap and the cap is tested:
      // 3,000 first polls of 200 ms each through 8 slots take 75 s, well within the 5m interval.
      latencyMs: whole('BENCH_B_LATENCY_MS', 200, 0),
      large: true,
    });
  }
  return list;
}

async function main(): Promise<void> {
  const parts = selectedParts();
  const scrapeWorkloads = workloads(parts);
  const dir = mkdtempSync(join(tmpdir(), 'wolkvox-bench-'));
  // On 'exit', so that an interrupted run cleans up too. BENCH_KEEP=1 keeps the configs and the
  // event-loop probe's logs for a look afterwards.
  process.once('exit', () => {
    if (process.env.BENCH_KEEP === '1') console.log(`bench: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });
  const origin = await startOrigin();
  const results: WorkloadResult[] = [];
  try {
    if (scrapeWorkloads.length > 0) {
      if (!wrkAvailable()) throw new Error('wrk is needed for the scrape benchmark: apt-get install -y wrk');
      const pushgateway = pushgatewayBinary();
      const pinning = choosePinning(process.env);
      // The simulator lives in this process: keep it, like wrk, off the servers' CPU.
      const cpus = pinning ? ownAffinity() : undefined;
      if (pinning) pinSelf(pinning.load);
      const build = process.env.BENCH_EXPORTER ?? 'dist/main.js';
      const setup: BenchSetup = {
        dir,
        exporterScript: installCopy(dir, build),
        origin,
        pinning,
        connections: whole('BENCH_CONNECTIONS', 2),
        warmUpSeconds: whole('BENCH_WARMUP_SECONDS', 2),
        wrkScript: writeWrkScript(dir),
        pushgateway,
        nodeFlags: extraNodeFlags(process.env),
        coldStarts: whole('BENCH_COLD_STARTS', 5),
      };
      console.log(`wolkvox-exporter (${build}, run from a copy in $BENCH_DIR/app; Node ${process.version}) against prometheus-pushgateway ${pushgatewayVersion(pushgateway)} (Go), both holding the exporter's wolkvox_* series`);
      console.log(
        pinning
          ? `CPUs: the servers pinned to CPU ${pinning.server}; wrk and this bench (with the in-process Wolkvox simulator) to CPU ${pinning.load} (taskset), so load and server do not compete`
          : 'CPUs: not pinned (one CPU, or no taskset): load generator and servers share the CPU, so figures are lower than they should be',
      );
      const caCost = await extraCaCertsCost([...shebangFlags(setup.exporterScript), ...setup.nodeFlags]);
      if (caCost) {
        console.log(
          `NOTE: NODE_EXTRA_CA_CERTS is set in this shell; the exporter runs without it (${SHELL_ONLY_ENV.join(', ')}), as in the image. ` +
            `Node reads the whole file at every start: here it adds ${caCost.ms.toFixed(0)} ms and ${caCost.mb.toFixed(1)} MB to a bare node with the exporter's flags.`,
        );
      }
      const launched: Launched[] = [];
      try {
        // A and its cache-miss twin start together, one after the other's cold start: the exporter
        // spreads its first polls over up to a minute, and they can wait that out side by side.
        // B starts alone, on a quiet origin and CPU, since its start-up is measured.
        const small = scrapeWorkloads.filter((workload) => !workload.large);
        for (const workload of small) launched.push(await launchWorkload(setup, workload));
        for (const each of launched) results.push(await measureWorkload(setup, each));
        for (const workload of scrapeWorkloads.filter((w) => w.large)) {
          // An origin of its own: its answers may be slowed (BENCH_B_LATENCY_MS) so that calls overlap.
          const ownOrigin = await startOrigin(workload.latencyMs);
          try {
            const own = { ...setup, origin: ownOrigin };
            const large = await launchWorkload(own, workload);
            launched.push(large);
            results.push(await measureWorkload(own, large));
          } finally {
            await Promise.all(launched.map(stopLaunched));
            await ownOrigin.close();
          }
        }
      } finally {
        await Promise.all(launched.map(stopLaunched));
        // The auth part starts its processes unpinned, as it always has; they would inherit this pinning.
        if (cpus !== undefined) pinSelf(cpus);
      }
    }
    if (parts.has('auth')) await authUnderAttack(dir, origin.simulator.url);
  } finally {
    await origin.close();
  }
  if (parts.has('deps')) printDependencyCosts(await measureDependencyCosts());
  if (results.length > 0) {
    const names = { a: 'A', miss: 'A, cache missing', b: 'B' } as const;
    const width = Math.max(...results.map((result) => names[result.workload.key].length));
    console.log(`\n== Targets of issue 10 (${new Date().toISOString().slice(0, 10)}, ${cpus().length} CPUs, Node ${process.version}) ==`);
    for (const result of results) {
      for (const target of result.targets) console.log(`  ${names[result.workload.key].padEnd(width)}  ${target.met ? 'met   ' : 'MISSED'} ${target.text}`);
    }
    const missed = results.flatMap((result) => result.targets).filter((target) => !target.met).length;
    console.log(`  ${missed === 0 ? 'all met' : `${missed} missed`} (performance targets are reported, not asserted)`);
  }
  // Missed performance targets are reported, not failed; a scrape that calls the API is a functional failure.
  const failed = results.filter((result) => result.callsCausedByScrapes !== 0);
  if (failed.length > 0) {
    console.error(`bench: scrapes caused API calls in ${failed.map((result) => result.workload.key).join(', ')}`);
    process.exitCode = 1;
  }
}

// Ctrl-C, a kill, or a reader that went away (`npm run bench | head`) end the run through 'exit',
// where processes.ts stops the servers it started.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));
process.stdout.on('error', () => process.exit(1));

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
