// `npm run bench` (auth part): scrape latency behind basic auth while clients in another process guess passwords (issue 8, defect 4).
import { hashSync } from 'bcryptjs';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { freePort } from './processes.js';

const AUTH_SECONDS = Number(process.env.BENCH_AUTH_SECONDS ?? 10);
const AUTH_ROUNDS = 5;
/** The binary the auth section starts; point it at another build to compare (e.g. one without the bcrypt worker). */
const AUTH_EXPORTER = process.env.BENCH_AUTH_EXPORTER ?? 'dist/main.js';
const ATTACKERS = 4;
/** The authenticated scraper's pace in the auth section: 50 scrapes a second. */
const SCRAPE_EVERY_MS = 20;
const ACCOUNTS = 20;
const TOKEN = 'bench-token';

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

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** The config this part has always used: 20 accounts sharing one token, polled hourly, at the simulator itself. */
function writeConfig(dir: string, simulatorUrl: string): void {
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `  - name: account${i}\n    base_url: ${simulatorUrl}\n    token_file: token\n`);
  writeFileSync(join(dir, 'config.yml'), `interval: 1h\nwindows: [1h, 24h, today]\naccounts:\n${accounts.join('')}`);
}

// Basic auth under attack (issue 8, defect 4): bcrypt at cost 10 takes ~100 ms a compare. An
// authenticated scraper measures /metrics latency with and without clients (in another process)
// sending wrong passwords back to back, each one new so that no cache can help them. The two are
// measured in alternating rounds, so that other load on the machine weighs on both alike.

const AUTH_USER = 'prometheus';
const AUTH_PASSWORD = 'bench-scrape-secret';

type Latencies = { count: number; p50: number; p95: number; p99: number };

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function summarise(samples: number[]): Latencies {
  const sorted = [...samples].sort((x, y) => x - y);
  return { count: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

/** One GET on a keep-alive agent; resolves with the status once the body is read. */
function getStatus(url: string, agent: Agent, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Scrapes every SCRAPE_EVERY_MS for `ms`, one at a time as Prometheus does per target, and appends
 * the latencies (ms) to `samples`. Paced rather than back to back: a saturating scraper would measure
 * CPU contention on a small machine, not what the attack does to a scrape.
 */
async function scrapeFor(url: string, agent: Agent, ms: number, samples: number[]): Promise<void> {
  const authorization = `Basic ${Buffer.from(`${AUTH_USER}:${AUTH_PASSWORD}`).toString('base64')}`;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const started = performance.now();
    const status = await getStatus(url, agent, authorization);
    if (status !== 200) throw new Error(`an authenticated scrape got HTTP ${status}`);
    const took = performance.now() - started;
    samples.push(took);
    if (took < SCRAPE_EVERY_MS) await new Promise((resolve) => setTimeout(resolve, SCRAPE_EVERY_MS - took));
  }
}

/**
 * The attacker, in its own process so that its busy loop does not slow the scraper's event loop.
 * ATTACKERS clients each send a new wrong password as soon as the last answer came. It starts
 * paused; over IPC, `resume` starts the clients, `pause` stops them and answers `paused` once no
 * request is in flight, `stop` ends them and answers with the count of each status.
 */
const ATTACK_SCRIPT = `
const { Agent, request } = require('node:http');
const [url, clients, user] = process.argv.slice(1);
const statuses = {};
let state = 'paused';
let inFlight = 0;
let sent = 0;
let wake = [];
const answerIfIdle = () => { if (state === 'paused' && inFlight === 0) process.send('paused'); };
process.on('message', (message) => {
  if (message === 'resume') state = 'running';
  if (message === 'stop') state = 'stopped';
  if (message === 'pause') { state = 'paused'; answerIfIdle(); return; }
  for (const resolve of wake.splice(0)) resolve();
});
async function client(index) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  while (state !== 'stopped') {
    if (state === 'paused') { await new Promise((resolve) => wake.push(resolve)); continue; }
    const authorization = 'Basic ' + Buffer.from(user + ':wrong-' + index + '-' + sent++).toString('base64');
    inFlight += 1;
    const status = await new Promise((resolve) => {
      const req = request(url, { agent, headers: { authorization } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
      req.on('error', () => resolve('error'));
      req.end();
    });
    inFlight -= 1;
    statuses[status] = (statuses[status] ?? 0) + 1;
    answerIfIdle();
  }
  agent.destroy();
}
Promise.all(Array.from({ length: Number(clients) }, (_, i) => client(i))).then(() => { process.send(statuses); process.disconnect(); });
`;

type Attacker = { resume(): void; pause(): Promise<void>; stop(): Promise<Record<string, number>> };

function startAttacker(url: string): Attacker {
  const child = spawn(process.execPath, ['-e', ATTACK_SCRIPT, url, String(ATTACKERS), AUTH_USER], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const reply = <T>(): Promise<T> => new Promise((resolve) => child.once('message', (message) => resolve(message as T)));
  return {
    resume: () => child.send('resume'),
    pause: async () => {
      const paused = reply<string>();
      child.send('pause');
      await paused;
    },
    stop: async () => {
      const statuses = reply<Record<string, number>>();
      child.send('stop');
      return statuses;
    },
  };
}

/** The simulator must accept TOKEN (the bench's origin runs it so). */
export async function authUnderAttack(dir: string, simulatorUrl: string): Promise<void> {
  writeConfig(dir, simulatorUrl);
  // Cost 10, as the README and htpasswd -B use; the check is about bcrypt's cost, so no cheaper hash.
  const hash = hashSync(AUTH_PASSWORD, 10);
  writeFileSync(join(dir, 'web.yml'), `basic_auth_users:\n  ${AUTH_USER}: "${hash}"\n`);
  const port = await freePort();
  // --log.level=error: 20 accounts on one token draw a quota warning, expected here and not the bench's business.
  const exporter = spawn(
    process.execPath,
    [AUTH_EXPORTER, `--config.file=${join(dir, 'config.yml')}`, `--web.listen-address=127.0.0.1:${port}`, `--web.config.file=${join(dir, 'web.yml')}`, '--log.level=error'],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NODE_OPTIONS: process.env.BENCH_EXPORTER_NODE_OPTIONS ?? '' } },
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const url = `http://127.0.0.1:${port}/metrics`;
    await waitFor(`http://127.0.0.1:${port}/readyz`, 30_000, (status) => status === 401);
    // The first login pays its bcrypt round and is cached, as a running Prometheus's would be; then a warm-up.
    await scrapeFor(url, agent, 2_000, []);

    const attacker = startAttacker(url);
    const quiet: number[] = [];
    const attacked: number[] = [];
    const phaseMs = (AUTH_SECONDS * 1000) / AUTH_ROUNDS;
    for (let round = 0; round < AUTH_ROUNDS; round += 1) {
      await scrapeFor(url, agent, phaseMs, quiet);
      attacker.resume();
      // Let the attack fill the bcrypt queue before measuring.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await scrapeFor(url, agent, phaseMs, attacked);
      await attacker.pause();
    }
    const statuses = await attacker.stop();
    const attempts = Object.values(statuses).reduce((sum, n) => sum + n, 0);
    const withoutAttack = summarise(quiet);
    const underAttack = summarise(attacked);

    const row = (name: string, m: Latencies) =>
      `${name.padEnd(18)} ${String(m.count).padStart(8)} ${m.p50.toFixed(2).padStart(8)} ${m.p95.toFixed(2).padStart(8)} ${m.p99.toFixed(2).padStart(8)}`;
    console.log(
      `\nbasic auth (bcrypt cost 10): an authenticated scrape every ${SCRAPE_EVERY_MS} ms, ${AUTH_SECONDS}s without and ${AUTH_SECONDS}s with the attack, ` +
        `in ${AUTH_ROUNDS} alternating rounds; attack: ${ATTACKERS} clients sending new wrong passwords back to back`,
    );
    console.log(`${'scrapes'.padEnd(18)} ${'count'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
    console.log(row('without attack', withoutAttack));
    console.log(row('under attack', underAttack));
    const answers = Object.entries(statuses).map(([status, n]) => `${n} × ${status}`).join(', ');
    const attackSeconds = AUTH_SECONDS + AUTH_ROUNDS * 0.5;
    console.log(`attack: ${attempts} wrong-password requests in ~${attackSeconds}s, ${(attempts / attackSeconds).toFixed(1)}/s (${answers || 'none answered'})`);
    const ratio = underAttack.p95 / withoutAttack.p95;
    console.log(`${ratio <= 2 ? 'met    ' : 'MISSED '} scrape p95 under attack at most 2× the p95 without it (${ratio.toFixed(2)}×)`);
  } finally {
    agent.destroy();
    await stop(exporter);
  }
}
