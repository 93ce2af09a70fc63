// Writes dist/exporter.cjs.cache: V8's bytecode for what a start and a first scrape of the exporter compile.
//
// The cache is only as good as the run that wrote it, so that run is a real one: the built binary with the V8 flags of
// its #! line (V8 rejects a cache written under other flags), a config file read and checked as users' are, polls
// answered by the simulator of a second exporter in --demo mode, /readyz, and a scrape with Prometheus' headers. It
// writes the cache as it exits (src/bin.ts, WOLKVOX_EXPORTER_WRITE_CODE_CACHE). Any failure fails the build: a binary
// that cannot start and serve a scrape is not worth shipping either.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DEADLINE_MS = 60_000;
/** The token of --demo's simulator (src/config/load.ts DEMO_TOKEN). */
const DEMO_TOKEN = 'demo-token';
const PROMETHEUS_HEADERS = {
  accept: 'application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=underscores;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
  'accept-encoding': 'gzip',
};

/** The V8 flags of the binary's #! line. */
function shebangFlags(main) {
  const firstLine = readFileSync(main, 'utf8').split('\n', 1)[0] ?? '';
  const flags = /^#!\S*env\s+(?:-S\s+)?node\b(.*)$/.exec(firstLine)?.[1];
  if (flags === undefined) throw new Error(`${main} has no "#!/usr/bin/env -S node" line`);
  return flags.trim().split(/\s+/).filter((word) => word !== '');
}

/** Only PATH and what is given: no WOLKVOX_*, LOG_* or NODE_OPTIONS of the shell that builds. */
const cleanEnv = (extra = {}) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra });

/** A started exporter: its JSON log records so far, and its exit. */
function startExporter(main, args, env) {
  const child = spawn(process.execPath, [...shebangFlags(main), main, ...args, '--web.listen-address=127.0.0.1:0', '--log.format=json', '--log.level=info'], {
    env: cleanEnv(env),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk.toString('utf8')));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const records = () =>
    stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
  return { child, exited, records, stderr: () => stderr, running: () => child.exitCode === null && child.signalCode === null };
}

/** Waits until `probe` returns a value; fails when the exporter exits or the deadline passes. */
async function waitFor(what, exporter, probe) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (!exporter.running()) throw new Error(`priming the code cache: the exporter exited while waiting for ${what}:\n${exporter.stderr()}`);
    if (Date.now() > deadline) throw new Error(`priming the code cache: no ${what} within ${DEADLINE_MS / 1000} s:\n${exporter.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const logged = (exporter, message, field) => async () => exporter.records().find((record) => record.msg === message)?.[field];

function statusOf(url, headers = {}) {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
    }).on('error', reject);
  });
}

async function stopExporter(exporter) {
  if (exporter.running()) exporter.child.kill('SIGTERM');
  return exporter.exited;
}

/** Runs the built binary in `outdir` once and leaves its code cache beside the bundle. */
export async function primeCodeCache(outdir) {
  const main = join(outdir, 'main.js');
  const cache = join(outdir, 'exporter.cjs.cache');
  const dir = mkdtempSync(join(tmpdir(), 'wolkvox-prime-'));
  const origin = startExporter(main, ['--demo'], {});
  try {
    const simulator = await waitFor('simulator address', origin, logged(origin, 'demo mode: polling the built-in Wolkvox simulator', 'simulator'));
    writeFileSync(join(dir, 'token'), `${DEMO_TOKEN}\n`);
    writeFileSync(
      join(dir, 'wolkvox.yml'),
      ['accounts:', ...['one', 'two'].flatMap((name) => [`  - name: ${name}`, `    base_url: ${simulator}`, '    token_file: token'])].join('\n') + '\n',
    );
    const exporter = startExporter(main, [`--config.file=${join(dir, 'wolkvox.yml')}`], { WOLKVOX_EXPORTER_WRITE_CODE_CACHE: cache });
    try {
      const address = await waitFor('listening address', exporter, logged(exporter, 'listening', 'address'));
      await waitFor('/readyz 200', exporter, async () => ((await statusOf(`http://${address}/readyz`)) === 200 ? true : undefined));
      const scraped = await statusOf(`http://${address}/metrics`, PROMETHEUS_HEADERS);
      if (scraped !== 200) throw new Error(`priming the code cache: /metrics answered ${scraped}:\n${exporter.stderr()}`);
    } finally {
      const { code, signal } = await stopExporter(exporter);
      if (code !== 0) throw new Error(`priming the code cache: the exporter exited with ${code ?? signal} on SIGTERM:\n${exporter.stderr()}`);
    }
    if (!existsSync(cache) || statSync(cache).size === 0) throw new Error(`priming the code cache: ${cache} was not written`);
  } finally {
    await stopExporter(origin);
    rmSync(dir, { recursive: true, force: true });
  }
}
