// Reload (issue 4 §3): POST /-/reload, the returned reload() and a real SIGHUP re-read the config file; a bad file keeps the old config.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exporterBinary, listeningAddress } from '../support/binary.js';
import { ConfigError } from '../../src/config/error.js';
import { exporterSettings } from '../../src/config/flags.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { startExporter, type RunningExporter } from '../../src/main.js';
import { parseWolkvoxDate } from '../../src/simulator/data.js';
import { startSimulator, type LoggedRequest, type Simulator } from '../../src/simulator/server.js';
import { OUTCOMES } from '../../src/wolkvox/outcome.js';
import { parseSamples, samplesOf, seriesKey, valueOf } from '../support/exposition.js';
import { waitFor } from '../support/processes.js';

const MAIN = exporterBinary();
const SENTINEL = 'tok-SENTINEL-reload-5b9';
const REPORT_PATH = '/api/v2/reports_manager.php';
const ACCOUNTS = ['co', 'mx', 'pe'] as const;
type AccountName = (typeof ACCOUNTS)[number];

/** Series whose labels carry the window: all of them leave /metrics with the window. */
const PER_WINDOW_METRICS = [
  'wolkvox_whatsapp_chats',
  'wolkvox_whatsapp_handled_chats',
  'wolkvox_up',
  'wolkvox_last_success_timestamp_seconds',
  'wolkvox_window_start_timestamp_seconds',
  'wolkvox_window_end_timestamp_seconds',
];
const RELOAD_OK = 'wolkvox_exporter_config_last_reload_successful';
const RELOAD_AT = 'wolkvox_exporter_config_last_reload_success_timestamp_seconds';

type AccountSpec = {
  name: AccountName;
  windows: string[];
  interval?: string;
  timezone?: string;
  /** The simulator it polls; its own by default. */
  sim?: AccountName;
  extra?: string;
};

type Harness = {
  dir: string;
  configPath: string;
  sims: Record<AccountName, Simulator>;
  /** Log lines of the in-process exporter, or the output of the binary. */
  lines: string[];
  /** Everything the exporter answered anyone: pages, scrapes, reload answers. */
  shown: string[];
  exporter?: RunningExporter;
  child?: { proc: ChildProcess; output: () => string; exited: () => boolean; exit: Promise<number | null> };
  base?: string;
};

let current: Harness | undefined;

afterEach(async () => {
  const h = current;
  current = undefined;
  if (!h) return;
  await h.exporter?.shutdown();
  if (h.child && !h.child.exited()) {
    h.child.proc.kill('SIGKILL');
    await h.child.exit;
  }
  await Promise.all(Object.values(h.sims).map((sim) => sim.close()));
  rmSync(h.dir, { recursive: true, force: true });
  // spec: Operations — the token is in no log line, page, scrape or reload answer.
  for (const line of h.lines) expect(line, 'log line').not.toContain(SENTINEL);
  for (const text of h.shown) expect(text, 'response').not.toContain(SENTINEL);
});

async function prepare({ latencyMs = 0 } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'wolkvox-reload-'));
  writeFileSync(join(dir, 'token'), `${SENTINEL}\n`);
  const sims = {} as Record<AccountName, Simulator>;
  for (const name of ACCOUNTS) sims[name] = await startSimulator({ port: 0, token: SENTINEL, latencyMs });
  const h: Harness = { dir, configPath: join(dir, 'config.yml'), sims, lines: [], shown: [] };
  current = h;
  return h;
}

/** A config file in the spec's format: each account on its own simulator, the token from a file next to it. */
function configYaml(h: Harness, accounts: AccountSpec[], interval = '1h'): string {
  // No _total counters: a chunk settling during a test would add calls the assertions do not expect.
  const lines = [`interval: ${interval}`, 'counter_step: 0', 'accounts:'];
  for (const account of accounts) {
    lines.push(`  - name: ${account.name}`, `    base_url: ${h.sims[account.sim ?? account.name].url}`, '    token_file: token');
    lines.push(`    windows: [${account.windows.join(', ')}]`);
    if (account.interval) lines.push(`    interval: ${account.interval}`);
    if (account.timezone) lines.push(`    timezone: ${account.timezone}`);
    if (account.extra) lines.push(account.extra);
  }
  return `${lines.join('\n')}\n`;
}

function writeConfig(h: Harness, text: string): void {
  writeFileSync(h.configPath, text);
}

/** Starts startExporter() the way main() does: loadConfig on argv, the same argv and env for reloads. */
async function startInProcess(h: Harness, { lifecycle = true } = {}): Promise<string> {
  const argv = [`--config.file=${h.configPath}`, '--web.listen-address=127.0.0.1:0', '--log.level=debug'];
  if (lifecycle) argv.push('--web.enable-lifecycle');
  const config = loadConfig({ settings: exporterSettings(argv, {}), env: {}, readFile: (path) => readFileSyncUtf8(path) });
  const logger = createLogger(config.log, { write: (line: string) => void h.lines.push(line) });
  h.exporter = await startExporter({ config, argv, env: {}, logger });
  h.base = `http://127.0.0.1:${h.exporter.address.port}`;
  return h.base;
}

function readFileSyncUtf8(path: string): string {
  return readFileSync(path, 'utf8');
}

async function get(h: Harness, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${h.base}${path}`);
  const text = await res.text();
  h.shown.push(text);
  return { status: res.status, text };
}

async function postReload(h: Harness): Promise<{ status: number; text: string }> {
  const res = await fetch(`${h.base}/-/reload`, { method: 'POST' });
  const text = await res.text();
  h.shown.push(text);
  return { status: res.status, text };
}

async function scrape(h: Harness): Promise<string> {
  const res = await get(h, '/metrics');
  expect(res.status).toBe(200);
  return res.text;
}

/** Scrapes until `ok` holds, with a deadline. */
function scrapeUntil(h: Harness, what: string, ok: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return waitFor(
    what,
    async () => {
      const text = await scrape(h);
      return ok(text) ? text : undefined;
    },
    { timeoutMs, intervalMs: 20, describe: () => describeState(h) },
  );
}

function describeState(h: Harness): string {
  const calls = ACCOUNTS.map((name) => `${name}: ${windowsOf(h.sims[name]).join(',')}`).join('; ');
  return `calls ${calls}${h.child ? `\n${h.child.output()}` : `\n${h.lines.slice(-10).join('')}`}`;
}

async function waitReady(h: Harness): Promise<void> {
  await waitFor('/readyz 200', async () => ((await get(h, '/readyz')).status === 200 ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 20,
    describe: () => describeState(h),
  });
}

/** Every simulator idle: no call of any window still on its way. */
async function waitIdle(h: Harness): Promise<void> {
  await waitFor('simulators idle', async () => (ACCOUNTS.every((name) => h.sims[name].stats().inFlight === 0) ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 10,
  });
}

/** The window a simulator call was for, from the span it asked for (durations only in these tests). */
function windowOf(request: LoggedRequest): string {
  const ini = parseWolkvoxDate(request.query.date_ini ?? '');
  const end = parseWolkvoxDate(request.query.date_end ?? '');
  if (ini === undefined || end === undefined) throw new Error(`bad dates in ${JSON.stringify(request.query)}`);
  const hours = (end - ini) / 3600;
  if (!Number.isInteger(hours)) throw new Error(`not a whole-hour window: ${JSON.stringify(request.query)}`);
  return `${hours}h`;
}

/** The windows of the chat_15 calls a simulator saw, sorted. */
function windowsOf(sim: Simulator): string[] {
  return sim
    .requests()
    .filter((r) => r.path === REPORT_PATH)
    .map(windowOf)
    .sort();
}

/** The same, asserting every call carried a token. */
function windowsCalled(sim: Simulator): string[] {
  for (const call of sim.requests()) expect(call.tokenPresent).toBe(true);
  return windowsOf(sim);
}

const up = (text: string, account: string, window: string) => valueOf(text, 'wolkvox_up', { account, window });
const lastSuccess = (text: string, account: string, window: string) =>
  valueOf(text, 'wolkvox_last_success_timestamp_seconds', { account, window });

/** Every series of one account (and window), with its value, for before/after comparisons. */
function seriesOf(text: string, account: string, window?: string): string[] {
  return parseSamples(text)
    .filter((s) => s.labels.account === account && (window === undefined || s.labels.window === window))
    .map((s) => `${seriesKey(s)} ${s.value}`)
    .sort();
}

/** The per-window value series of a window (values, status and bounds), which a reload must not touch. */
function windowSeries(text: string, account: string, window: string): string[] {
  return seriesOf(text, account, window).filter((line) => PER_WINDOW_METRICS.some((name) => line.startsWith(`${name}{`)));
}

function accountGone(text: string, account: string): void {
  expect(seriesOf(text, account), `series of ${account}`).toEqual([]);
}

function windowGone(text: string, account: string, window: string): void {
  expect(seriesOf(text, account, window), `series of ${account}/${window}`).toEqual([]);
}

/** Successful calls of an account so far (success and no_data: a quiet hour is answered 404). */
function goodCalls(text: string, account: string): number {
  return (
    (valueOf(text, 'wolkvox_exporter_requests_total', { account, outcome: 'success' }) ?? 0) +
    (valueOf(text, 'wolkvox_exporter_requests_total', { account, outcome: 'no_data' }) ?? 0)
  );
}

function windowFresh(text: string, account: string, window: string): boolean {
  return (
    up(text, account, window) === 1 &&
    samplesOf(text, 'wolkvox_whatsapp_chats', { account, window }).length === 4 &&
    samplesOf(text, 'wolkvox_whatsapp_handled_chats', { account, window }).length === 2
  );
}

function logRecords(h: Harness): Array<Record<string, unknown>> {
  return h.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('reload applies the new file', () => {
  it('POST /-/reload: added accounts and windows start polling, removed ones stop and their series go, unchanged ones keep cache and schedule', async () => {
    const h = await prepare();
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h', '3h'] }, { name: 'mx', windows: ['1h'] }]));
    await startInProcess(h);
    await waitReady(h);
    const before = await scrapeUntil(h, 'first polls on /metrics', (t) => windowFresh(t, 'co', '1h') && windowFresh(t, 'co', '3h') && windowFresh(t, 'mx', '1h'));
    expect(windowsCalled(h.sims.co)).toEqual(['1h', '3h']);
    expect(windowsCalled(h.sims.mx)).toEqual(['1h']);
    expect(windowsCalled(h.sims.pe)).toEqual([]);
    expect(valueOf(before, RELOAD_OK, {})).toBe(1);
    const loadedAt = valueOf(before, RELOAD_AT, {})!;
    expect(loadedAt * 1000).toBeLessThanOrEqual(Date.now());
    expect(seriesOf(before, 'mx').length).toBeGreaterThan(0);
    const co1h = windowSeries(before, 'co', '1h');
    expect(co1h).toHaveLength(4 + 2 + 4);

    // co keeps 1h, drops 3h and gains 2h; mx goes; pe comes.
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h', '2h'] }, { name: 'pe', windows: ['1h'] }]));
    const answer = await postReload(h);
    expect(answer).toEqual({ status: 200, text: 'config reloaded\n' });

    // Removed series leave at once, before any new poll: every metric of mx, and every window-bound one of co/3h.
    const right = await scrape(h);
    accountGone(right, 'mx');
    windowGone(right, 'co', '3h');
    expect(windowSeries(right, 'co', '1h')).toEqual(co1h);

    const after = await scrapeUntil(h, 'co/2h and pe/1h polled', (t) => windowFresh(t, 'co', '2h') && windowFresh(t, 'pe', '1h'));
    await waitIdle(h);
    const settled = await scrape(h);
    // The added ones were called once each; nothing else was called (no re-poll of co/1h, nothing for mx).
    expect(windowsCalled(h.sims.co)).toEqual(['1h', '2h', '3h']);
    expect(windowsCalled(h.sims.pe)).toEqual(['1h']);
    expect(windowsCalled(h.sims.mx)).toEqual(['1h']);
    // The unchanged window kept its cached values, bounds, status and last success.
    expect(windowSeries(settled, 'co', '1h')).toEqual(co1h);
    expect(lastSuccess(settled, 'co', '1h')).toBe(lastSuccess(before, 'co', '1h'));
    for (const text of [after, settled]) {
      accountGone(text, 'mx');
      windowGone(text, 'co', '3h');
    }
    // The exporter's own per-account series follow the config: counters, histogram, plan.
    for (const outcome of OUTCOMES) {
      expect(valueOf(settled, 'wolkvox_exporter_requests_total', { account: 'mx', outcome })).toBeUndefined();
      expect(valueOf(settled, 'wolkvox_exporter_requests_total', { account: 'pe', outcome }), outcome).toBeDefined();
    }
    expect(samplesOf(settled, 'wolkvox_exporter_request_duration_seconds_count', { account: 'mx' })).toEqual([]);
    expect(valueOf(settled, 'wolkvox_exporter_request_duration_seconds_count', { account: 'pe' })).toBe(1);
    expect(goodCalls(settled, 'pe')).toBe(1);
    expect(goodCalls(settled, 'co')).toBe(3);
    expect(valueOf(settled, 'wolkvox_exporter_planned_daily_calls', { account: 'co' })).toBe(48);
    expect(valueOf(settled, 'wolkvox_exporter_planned_daily_calls', { account: 'pe' })).toBe(24);
    expect(valueOf(settled, 'wolkvox_exporter_planned_daily_calls', { account: 'mx' })).toBeUndefined();
    expect(valueOf(settled, 'wolkvox_quota_paused', { account: 'pe' })).toBe(0);
    expect(valueOf(settled, RELOAD_OK, {})).toBe(1);
    expect(valueOf(settled, RELOAD_AT, {})!).toBeGreaterThan(loadedAt);

    const landing = await get(h, '/');
    expect(landing.text).toContain('<code>pe</code>');
    expect(landing.text).not.toContain('<code>mx</code>');
    const reloaded = logRecords(h).filter((r) => r.msg === 'configuration reloaded');
    expect(reloaded).toEqual([expect.objectContaining({ level: 'info', accounts: ['co', 'pe'] })]);
  });

  it('the returned reload(): adds, then removes again; a removed window makes no further call', async () => {
    const h = await prepare();
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h'] }]));
    await startInProcess(h);
    await waitReady(h);
    const first = await scrapeUntil(h, 'co/1h polled', (t) => windowFresh(t, 'co', '1h'));
    const co1h = windowSeries(first, 'co', '1h');

    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h', '2h'] }, { name: 'mx', windows: ['1h', '2h'] }]));
    await h.exporter!.reload();
    await scrapeUntil(h, 'added windows polled', (t) => ['co/2h', 'mx/1h', 'mx/2h'].every((k) => windowFresh(t, ...(k.split('/') as [string, string]))));
    await waitIdle(h);
    expect(windowsCalled(h.sims.co)).toEqual(['1h', '2h']);
    expect(windowsCalled(h.sims.mx)).toEqual(['1h', '2h']);

    // Back to the first file: co/2h and mx go; then one more reload that adds pe shows they were not called again.
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h'] }]));
    await h.exporter!.reload();
    const removed = await scrape(h);
    accountGone(removed, 'mx');
    windowGone(removed, 'co', '2h');
    expect(windowSeries(removed, 'co', '1h')).toEqual(co1h);

    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h'] }, { name: 'pe', windows: ['2h'] }]));
    await h.exporter!.reload();
    const last = await scrapeUntil(h, 'pe/2h polled', (t) => windowFresh(t, 'pe', '2h'));
    await waitIdle(h);
    expect(windowsCalled(h.sims.co)).toEqual(['1h', '2h']);
    expect(windowsCalled(h.sims.mx)).toEqual(['1h', '2h']);
    expect(windowsCalled(h.sims.pe)).toEqual(['2h']);
    accountGone(last, 'mx');
    windowGone(last, 'co', '2h');
    expect(windowSeries(last, 'co', '1h')).toEqual(co1h);
    expect(logRecords(h).filter((r) => r.msg === 'configuration reloaded')).toHaveLength(3);
  });

  it('a window whose account settings change keeps its values until the new schedule polls it at once', async () => {
    const h = await prepare();
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h'] }, { name: 'mx', windows: ['1h'] }]));
    await startInProcess(h);
    await waitReady(h);
    const before = await scrapeUntil(h, 'first polls', (t) => windowFresh(t, 'co', '1h') && windowFresh(t, 'mx', '1h'));
    expect(valueOf(before, 'wolkvox_exporter_planned_daily_calls', { account: 'co' })).toBe(24);
    const mx1h = windowSeries(before, 'mx', '1h');

    // co now polls every 2h: its schedule restarts (one call now), mx is untouched.
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h'], interval: '2h' }, { name: 'mx', windows: ['1h'] }]));
    await h.exporter!.reload();
    const right = await scrape(h);
    expect(up(right, 'co', '1h')).toBe(1);
    expect(samplesOf(right, 'wolkvox_whatsapp_chats', { account: 'co', window: '1h' })).toHaveLength(4);
    expect(valueOf(right, 'wolkvox_exporter_planned_daily_calls', { account: 'co' })).toBe(12);

    const after = await scrapeUntil(h, 'co/1h polled again', (t) => (lastSuccess(t, 'co', '1h') ?? 0) > lastSuccess(before, 'co', '1h')!);
    await waitIdle(h);
    expect(windowsCalled(h.sims.co)).toEqual(['1h', '1h']);
    expect(windowsCalled(h.sims.mx)).toEqual(['1h']);
    expect(windowSeries(await scrape(h), 'mx', '1h')).toEqual(mx1h);
    expect(up(after, 'co', '1h')).toBe(1);
  });
});

describe('reload and the per-token concurrency limit', () => {
  it('an account added on a busy token with a lower max_concurrency waits for the calls already in flight', async () => {
    // Every call takes 400 ms, so co's two first polls are still in flight when the reload comes.
    const h = await prepare({ latencyMs: 400 });
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h', '2h'], extra: '    max_concurrency: 2' }]));
    await startInProcess(h);
    await waitFor('two calls in flight', async () => (h.sims.co.stats().inFlight === 2 ? true : undefined), { timeoutMs: 5_000, intervalMs: 5 });

    // mx shares co's token and simulator but allows 1: the token now has 1 slot, and 2 are taken.
    writeConfig(h, configYaml(h, [
      { name: 'co', windows: ['1h', '2h'], extra: '    max_concurrency: 2' },
      { name: 'mx', sim: 'co', windows: ['3h'], extra: '    max_concurrency: 1' },
    ]));
    await h.exporter!.reload();
    const text = await scrapeUntil(h, 'every window polled', (t) => windowFresh(t, 'co', '1h') && windowFresh(t, 'co', '2h') && windowFresh(t, 'mx', '3h'));
    await waitIdle(h);
    const stats = h.sims.co.stats();
    expect(windowsCalled(h.sims.co)).toEqual(['1h', '2h', '3h']);
    expect(stats.maxInFlight).toBe(2);
    expect(stats.byStatus['403']).toBeUndefined();
    for (const account of ['co', 'mx']) expect(valueOf(text, 'wolkvox_exporter_requests_total', { account, outcome: 'concurrency_limited' })).toBe(0);
  });
});

type BrokenCase = {
  name: string;
  /** The broken file; `mx` in it must never be polled. */
  file: (h: Harness) => string;
  key: string;
  message: RegExp;
  setup?: (h: Harness) => void;
};

const BROKEN: BrokenCase[] = [
  {
    name: 'bad YAML',
    file: (h) => `${configYaml(h, [{ name: 'co', windows: ['1h'] }, { name: 'mx', windows: ['1h'] }])}  - name: [unclosed\n`,
    key: 'config.file',
    message: /^config\.file: \/.*config\.yml is not valid YAML at line \d+, column \d+: /,
  },
  {
    name: 'an unknown key',
    file: (h) => configYaml(h, [{ name: 'co', windows: ['1h'] }, { name: 'mx', windows: ['1h'], extra: '    colour: blue' }]),
    key: 'accounts[1].colour',
    message: /^accounts\[1\]\.colour: unknown key \(in \/.*config\.yml\)$/,
  },
  {
    name: 'an unknown time zone',
    file: (h) => configYaml(h, [{ name: 'co', windows: ['1h'] }, { name: 'mx', windows: ['1h'], timezone: 'Mars/Olympus_Mons' }]),
    key: 'accounts[1].timezone',
    message: /^accounts\[1\]\.timezone: unknown time zone "Mars\/Olympus_Mons": use an IANA name such as America\/Bogota \(in \/.*config\.yml\)$/,
  },
  {
    // The error must say what is wrong with the token without quoting it.
    name: 'a token file with two lines',
    setup: (h) => writeFileSync(join(h.dir, 'two-lines'), `${SENTINEL}\n${SENTINEL}\n`),
    file: (h) => configYaml(h, [{ name: 'co', windows: ['1h'] }, { name: 'mx', windows: ['1h'] }]).replace(/token_file: token\n(?![\s\S]*token_file)/, 'token_file: two-lines\n'),
    key: 'accounts[1].token_file',
    message: /^accounts\[1\]\.token_file: the token in \/.*two-lines contains control characters or line breaks/,
  },
];

describe('a broken new file', () => {
  it.each(BROKEN)('$name: 500 with the error, logged, reload metric 0, the old config keeps polling; a good file then applies', async (broken) => {
    const h = await prepare();
    // A short interval here, so "polling continues" can be watched.
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h'] }], '1s'));
    await startInProcess(h);
    await waitReady(h);
    const before = await scrapeUntil(h, 'co/1h up', (t) => windowFresh(t, 'co', '1h'));
    const loadedAt = valueOf(before, RELOAD_AT, {})!;

    broken.setup?.(h);
    const text = broken.file(h);
    writeConfig(h, text);
    // What loadConfig makes of this file: the answer must carry exactly its ConfigError message.
    let expected: unknown;
    try {
      loadConfig({ settings: exporterSettings([`--config.file=${h.configPath}`], {}), env: {}, readFile: readFileSyncUtf8 });
    } catch (error) {
      expected = error;
    }
    expect(expected).toBeInstanceOf(ConfigError);
    const configError = expected as ConfigError;
    expect(configError.key).toBe(broken.key);
    expect(configError.message).toMatch(broken.message);

    const callsAtFailure = h.sims.co.requests().length;
    const answer = await postReload(h);
    expect(answer).toEqual({ status: 500, text: `failed to reload config: ${configError.message}\n` });

    const errors = logRecords(h).filter((r) => r.level === 'error');
    expect(errors).toEqual([
      expect.objectContaining({ msg: 'configuration reload failed; keeping the running configuration', err: configError.message }),
    ]);
    const failed = await scrape(h);
    expect(valueOf(failed, RELOAD_OK, {})).toBe(0);
    expect(valueOf(failed, RELOAD_AT, {})).toBe(loadedAt);
    expect(up(failed, 'co', '1h')).toBe(1);
    expect(samplesOf(failed, 'wolkvox_whatsapp_chats', { account: 'co', window: '1h' })).toHaveLength(4);
    accountGone(failed, 'mx');

    // The old config keeps polling on its schedule, and stays failed-to-reload meanwhile.
    const polled = await scrapeUntil(
      h,
      'another poll of co/1h',
      (t) => h.sims.co.requests().length > callsAtFailure && (lastSuccess(t, 'co', '1h') ?? 0) > lastSuccess(failed, 'co', '1h')!,
    );
    expect(up(polled, 'co', '1h')).toBe(1);
    expect(valueOf(polled, RELOAD_OK, {})).toBe(0);
    expect(h.sims.mx.requests()).toEqual([]);
    expect((await get(h, '/')).text).not.toContain('<code>mx</code>');

    // A good file again: 1, a newer success time, and its change in force.
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h'] }, { name: 'mx', windows: ['2h'] }], '1s'));
    expect(await postReload(h)).toEqual({ status: 200, text: 'config reloaded\n' });
    const good = await scrapeUntil(h, 'mx/2h polled', (t) => windowFresh(t, 'mx', '2h'));
    expect(valueOf(good, RELOAD_OK, {})).toBe(1);
    expect(valueOf(good, RELOAD_AT, {})!).toBeGreaterThan(loadedAt);
    expect(valueOf(good, RELOAD_AT, {})! * 1000).toBeLessThanOrEqual(Date.now());
    expect(logRecords(h).filter((r) => r.level === 'error')).toHaveLength(1);
  });
});

describe('without --web.enable-lifecycle', () => {
  it('POST /-/reload answers 403 and reloads nothing; the reload() behind SIGHUP still works', async () => {
    const h = await prepare();
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h'] }]));
    await startInProcess(h, { lifecycle: false });
    await waitReady(h);
    const before = await scrapeUntil(h, 'co/1h up', (t) => windowFresh(t, 'co', '1h'));

    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h'] }, { name: 'mx', windows: ['1h'] }]));
    const answer = await postReload(h);
    expect(answer).toEqual({ status: 403, text: 'lifecycle APIs are not enabled: start with --web.enable-lifecycle\n' });
    const after = await scrape(h);
    expect((await get(h, '/')).text).not.toContain('<code>mx</code>');
    expect(valueOf(after, 'wolkvox_exporter_planned_daily_calls', { account: 'mx' })).toBeUndefined();
    expect(valueOf(after, RELOAD_AT, {})).toBe(valueOf(before, RELOAD_AT, {}));
    expect(logRecords(h).filter((r) => r.msg === 'configuration reloaded')).toEqual([]);
    expect(h.sims.mx.requests()).toEqual([]);

    // As in Prometheus, the flag guards the HTTP endpoint only; a signal may always reload.
    await h.exporter!.reload();
    await scrapeUntil(h, 'mx/1h polled', (t) => windowFresh(t, 'mx', '1h'));
    expect(windowsCalled(h.sims.mx)).toEqual(['1h']);
  });
});

describe('SIGHUP to the built binary', () => {
  it('re-reads the file: added series appear, removed ones go, a broken file is logged and the old config keeps running', async () => {
    const h = await prepare();
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h'] }]));
    // Port 0, read back from the log: a port found free beforehand may be taken by a concurrent test run.
    const proc = spawn(
      process.execPath,
      [MAIN, `--config.file=${h.configPath}`, '--web.listen-address=127.0.0.1:0', '--log.format=logfmt', '--log.level=debug'],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let exited = false;
    proc.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
    proc.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
    const exit = new Promise<number | null>((resolve) =>
      proc.on('exit', (code) => {
        exited = true;
        resolve(code);
      }),
    );
    h.child = { proc, output: () => output, exited: () => exited, exit };
    const alive = () => {
      if (exited) throw new Error(`the exporter exited:\n${output}`);
    };
    h.base = `http://${await waitFor(
      'the listening log line',
      async () => {
        alive();
        return listeningAddress(output);
      },
      { timeoutMs: 15_000, intervalMs: 25, describe: () => output },
    )}`;
    const scrapeAlive = (what: string, ok: (text: string) => boolean) =>
      scrapeUntil(h, what, (t) => {
        alive();
        return ok(t);
      });

    await waitFor(
      '/readyz 200',
      async () => {
        alive();
        return (await get(h, '/readyz')).status === 200 ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 25, describe: () => output },
    );
    const first = await scrapeAlive('co/1h up', (t) => windowFresh(t, 'co', '1h'));
    const startedAt = valueOf(first, RELOAD_AT, {})!;
    const co1h = windowSeries(first, 'co', '1h');

    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h', '2h'] }, { name: 'mx', windows: ['1h'] }]));
    proc.kill('SIGHUP');
    const added = await scrapeAlive('co/2h and mx/1h polled', (t) => windowFresh(t, 'co', '2h') && windowFresh(t, 'mx', '1h'));
    expect(valueOf(added, RELOAD_OK, {})).toBe(1);
    expect(valueOf(added, RELOAD_AT, {})!).toBeGreaterThan(startedAt);
    expect(windowSeries(added, 'co', '1h')).toEqual(co1h);
    await waitIdle(h);
    expect(windowsCalled(h.sims.co)).toEqual(['1h', '2h']);
    expect(windowsCalled(h.sims.mx)).toEqual(['1h']);
    const addedAt = valueOf(added, RELOAD_AT, {})!;

    // A broken file: logged, metric 0, the running config serves on.
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['1h'], extra: '    colour: blue' }]));
    proc.kill('SIGHUP');
    const failed = await scrapeAlive('reload marked failed', (t) => valueOf(t, RELOAD_OK, {}) === 0);
    expect(valueOf(failed, RELOAD_AT, {})).toBe(addedAt);
    for (const [account, window] of [['co', '1h'], ['co', '2h'], ['mx', '1h']] as const) expect(windowFresh(failed, account, window)).toBe(true);
    await waitFor('the failure in the log', async () => (output.includes('level=error') ? true : undefined), { timeoutMs: 5_000, intervalMs: 20 });
    const errorLines = output.split('\n').filter((line) => line.includes('level=error'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/msg="configuration reload failed; keeping the running configuration" err="accounts\[0\]\.colour: unknown key/);
    expect((await get(h, '/healthz')).status).toBe(200);

    // A good file that removes mx and co/1h: their series go, and nothing more is asked of them.
    writeConfig(h, configYaml(h, [{ name: 'co', windows: ['2h'] }]));
    proc.kill('SIGHUP');
    const removed = await scrapeAlive('mx and co/1h gone', (t) => valueOf(t, RELOAD_OK, {}) === 1 && seriesOf(t, 'mx').length === 0);
    windowGone(removed, 'co', '1h');
    expect(windowFresh(removed, 'co', '2h')).toBe(true);
    expect(valueOf(removed, RELOAD_AT, {})!).toBeGreaterThan(addedAt);
    expect(windowsCalled(h.sims.mx)).toEqual(['1h']);
    expect(windowsCalled(h.sims.co)).toEqual(['1h', '2h']);

    proc.kill('SIGTERM');
    expect(await exit).toBe(0);
    h.lines.push(...output.split('\n'));
    expect(output.match(/msg="configuration reloaded"/g)).toHaveLength(2);
  });
});
