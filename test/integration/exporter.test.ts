// The real pieces over loopback: simulator, node:http client, poller, metrics and the HTTP handler, read through /metrics.
import { inspect } from 'node:util';
import request from 'supertest';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import type { AccountConfig, LogFormat } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { createApp } from '../../src/http/app.js';
import { escapeHtml } from '../../src/http/html.js';
import { createLogger } from '../../src/log.js';
import { createScrapeHandler } from '../../src/http/scrape.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createRuntimeMetrics, EXPOSITION_CONTENT_TYPE } from '../../src/metrics/runtime.js';
import { createCounterStore } from '../../src/poller/counters.js';
import { createSnapshotCache } from '../../src/poller/cache.js';
import { createPoller, type Poller } from '../../src/poller/poller.js';
import { parseWolkvoxDate } from '../../src/simulator/data.js';
import { countsForWindow, startSimulator, type Scenario } from '../../src/simulator/server.js';
import { createCallsToday } from '../../src/status/calls-today.js';
import type { StatusReport, WindowStatus } from '../../src/status/report.js';
import { buildStatus } from '../../src/status/status.js';
import { createWolkvoxClient, type WolkvoxClient } from '../../src/wolkvox/client.js';
import { OUTCOMES, WolkvoxError, type FailureKind, type Outcome } from '../../src/wolkvox/outcome.js';
import { parseSamples, samplesOf, seriesKey, valueOf } from '../support/exposition.js';
import { reservePort } from '../support/loopback.js';
import { windowSpec } from '../support/windows.js';

const SENTINEL = 'tok-SENTINEL-7c1e';
/** A busy Tuesday, 15:00 in Bogotá (UTC-5, no DST). */
const START = Date.parse('2025-03-11T20:00:00Z');
/** The next local midnight in Bogotá, plus a second. */
const NEXT_DAY = Date.parse('2025-03-12T05:00:01Z');
const ACCOUNT = 'co';
const WINDOWS = ['1h', 'today'] as const;
type WindowLabel = (typeof WINDOWS)[number];
// Backoff derives from the interval (base interval/10, cap interval/3): 300 ms keeps real retry waits at 15-30 ms.
const INTERVAL_MS = 300;
const MAX_STALENESS_MS = 900;
/** Timeout of the cases that time out on purpose; the others get a roomier one so a busy CI host does not flake. */
const SHORT_TIMEOUT_MS = 300;
const TIMEOUT_MS = 2_000;
const REPORT_PATH = '/api/v2/reports_manager.php';

const WHATSAPP_METRICS = ['wolkvox_whatsapp_chats', 'wolkvox_whatsapp_handled_chats'];
const WINDOW_BOUND_METRICS = ['wolkvox_window_start_timestamp_seconds', 'wolkvox_window_end_timestamp_seconds'];
const PER_WINDOW_VALUE_METRICS = [...WHATSAPP_METRICS, ...WINDOW_BOUND_METRICS];


/** An origin that refuses connections for the whole test: a port this test holds on 127.0.0.1, called on 127.0.0.2. */
async function refusedUrl(): Promise<string> {
  const reserved = await reservePort();
  onTestFinished(() => reserved.release());
  return reserved.refusedUrl;
}

/** Unix seconds of a 14-digit Bogotá wall-clock date. */
function bogotaSeconds(date: string): number {
  const naive = parseWolkvoxDate(date);
  if (naive === undefined) throw new Error(`not a date: ${date}`);
  return naive + 5 * 3600;
}

type Options = { format?: LogFormat; telemetryPath?: string; timeoutMs?: number; scenario?: Scenario };
type Harness = Awaited<ReturnType<typeof start>>;

let current: Harness | undefined;
const pollers: Poller[] = [];

afterEach(async () => {
  for (const poller of pollers.splice(0)) await poller.stop();
  const h = current;
  current = undefined;
  if (!h) return;
  await h.sim.close();
  h.expectNoSentinel();
});

async function start(options: Options = {}) {
  const format = options.format ?? 'json';
  const telemetryPath = options.telemetryPath ?? '/metrics';
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  let now = START;
  const clock = { now: () => now };
  const sim = await startSimulator({ port: 0, token: SENTINEL, now: clock.now, ...(options.scenario ? { scenario: options.scenario } : {}) });
  const lines: string[] = [];
  /** Everything the exporter showed anyone: pages, scrape bodies, error texts. */
  const shown: Array<{ where: string; text: string }> = [];
  const logger = createLogger({ level: 'debug', format }, { write: (line: string) => void lines.push(line) });
  const token = new Secret(SENTINEL);
  const account: AccountConfig = {
    name: ACCOUNT,
    server: '0032',
    baseUrl: sim.url,
    token,
    timeZone: 'America/Bogota',
    windows: WINDOWS.map(windowSpec),
    intervalMs: INTERVAL_MS,
    maxStalenessMs: MAX_STALENESS_MS,
    timeoutMs,
    maxConcurrency: 2,
    counterStepMs: 0,
    counterDelayMs: 0,
    dailyQuota: 1000,
  };
  const simClient = createWolkvoxClient({ baseUrl: sim.url, token, timeoutMs });
  const refusedClient = createWolkvoxClient({ baseUrl: await refusedUrl(), token, timeoutMs });
  let client: WolkvoxClient = simClient;
  const cache = createSnapshotCache();
  const counters = createCounterStore();
  const build = { version: '9.9.9-test', revision: 'cafe' };
  const metrics = createMetrics({ cache, counters, clock, accounts: () => [account], build });
  const callsToday = createCallsToday();
  callsToday.sync([account]);
  const poller = createPoller({
    accounts: [account],
    counters,
    // The real clients; the indirection only lets a test point the account at a closed port.
    clientFor: () => ({ fetchChat15: (window, signal) => client.fetchChat15(window, signal) }),
    cache,
    clock,
    logger,
    onRequest: (name, outcome, seconds) => {
      metrics.recordRequest(name, outcome, seconds);
      callsToday.record(name, outcome, clock.now());
    },
    random: () => 0,
    retries: 2,
  });
  pollers.push(poller);
  const app = createApp({
    scrape: createScrapeHandler({
      exporter: metrics,
      runtime: createRuntimeMetrics(),
      now: () => clock.now(),
      contentType: EXPOSITION_CONTENT_TYPE,
    }),
    telemetryPath,
    version: '9.9.9-test',
    isReady: () => poller.ready(),
    status: () =>
      buildStatus({
        nowMs: clock.now(),
        build,
        ready: poller.ready(),
        accounts: [account],
        windows: cache.records(),
        counters: counters.view(),
        nextPollAt: poller.nextPollAt,
        quotaPausedUntil: poller.quotaPausedUntil,
        callsToday: callsToday.of,
      }),
  });

  const get = async (path: string) => {
    const res = await request(app).get(path);
    shown.push({ where: `GET ${path}`, text: res.text });
    return res;
  };
  const h = {
    sim,
    poller,
    lines,
    format,
    advance(ms: number) {
      now += ms;
    },
    setNow(ms: number) {
      now = ms;
    },
    refuse(on: boolean) {
      client = on ? refusedClient : simClient;
    },
    client: () => client,
    get,
    show(where: string, text: string) {
      shown.push({ where, text });
    },
    /** The /api/v1/status report (its text kept for the sentinel check). */
    async status(): Promise<StatusReport> {
      const res = await get('/api/v1/status');
      expect(res.status).toBe(200);
      return res.body as StatusReport;
    },
    async scrape(): Promise<string> {
      const res = await get(telemetryPath);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      return res.text;
    },
    /** The last chat_15 request the simulator received for a window, told apart by its span. */
    lastRequest(window: WindowLabel) {
      const found = sim
        .requests()
        .filter((r) => r.path === REPORT_PATH)
        .filter((r) => {
          const span = bogotaSeconds(r.query.date_end ?? '') - bogotaSeconds(r.query.date_ini ?? '');
          return window === '1h' ? span === 3600 : span !== 3600 && (r.query.date_ini ?? '').endsWith('000000');
        })
        .at(-1);
      if (!found) throw new Error(`the simulator saw no request for ${window}`);
      return { dateIni: found.query.date_ini ?? '', dateEnd: found.query.date_end ?? '', tokenPresent: found.tokenPresent };
    },
    /** The sentinel token must be in no log line, page, scrape body or error text. */
    expectNoSentinel() {
      for (const line of lines) expect(line, 'log line').not.toContain(SENTINEL);
      for (const { where, text } of shown) expect(text, where).not.toContain(SENTINEL);
    },
  };
  current = h;
  return h;
}

/** The log records as objects, whichever format they were written in. */
function logRecords(h: Harness): Array<Record<string, string>> {
  if (h.format === 'json') {
    return h.lines.map((line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    });
  }
  return h.lines.map((line) => {
    expect(line).toMatch(/^ts=\S+ level=(debug|info|warn|error) msg=/);
    const record: Record<string, string> = {};
    for (const match of line.matchAll(/(\S+?)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const raw = match[2]!;
      record[match[1]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    }
    return record;
  });
}

/** The request counter of the account, by outcome, for every outcome. */
function requestCounts(text: string): Record<Outcome, number | undefined> {
  return Object.fromEntries(
    OUTCOMES.map((outcome) => [outcome, valueOf(text, 'wolkvox_exporter_requests_total', { account: ACCOUNT, outcome })]),
  ) as Record<Outcome, number | undefined>;
}

function expectedRequestCounts(counts: Partial<Record<Outcome, number>>): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((outcome) => [outcome, counts[outcome] ?? 0])) as Record<Outcome, number>;
}

function up(text: string, window: WindowLabel): number | undefined {
  return valueOf(text, 'wolkvox_up', { account: ACCOUNT, window });
}

/** The series of the per-window values, as exposition keys with values, for comparing two scrapes. */
function valueSeries(text: string): string[] {
  return parseSamples(text)
    .filter((s) => PER_WINDOW_VALUE_METRICS.includes(s.name))
    .map((s) => `${seriesKey(s)} ${s.value}`)
    .sort();
}

/** Asserts the exact series and values of one window against what the simulator was asked for. */
function expectWindowValues(h: Harness, text: string, window: WindowLabel, lastSuccessMs: number): void {
  const { dateIni, dateEnd } = h.lastRequest(window);
  const expected = countsForWindow(dateIni, dateEnd, 1);
  const labels = { account: ACCOUNT, window };
  const chats = samplesOf(text, 'wolkvox_whatsapp_chats', labels).map((s) => [s.labels.source, s.labels.handler, s.value]);
  expect(chats.sort()).toEqual(
    [
      ['ad', 'agent', expected.ad_agents],
      ['ad', 'bot', expected.ad_chatbot],
      ['post', 'agent', expected.post_agents],
      ['post', 'bot', expected.post_chatbot],
    ].sort(),
  );
  const handled = samplesOf(text, 'wolkvox_whatsapp_handled_chats', labels).map((s) => [s.labels.handler, s.value]);
  expect(handled.sort()).toEqual(
    [
      ['agent', expected.total_agents],
      ['bot', expected.total_chatbot],
    ].sort(),
  );
  expect(valueOf(text, 'wolkvox_window_start_timestamp_seconds', labels)).toBe(bogotaSeconds(dateIni));
  expect(valueOf(text, 'wolkvox_window_end_timestamp_seconds', labels)).toBe(bogotaSeconds(dateEnd));
  expect(valueOf(text, 'wolkvox_last_success_timestamp_seconds', labels)).toBe(lastSuccessMs / 1000);
  expect(up(text, window)).toBe(1);
}

/** One window of the only account in a status report. */
function windowOf(report: StatusReport, window: WindowLabel): WindowStatus {
  const found = report.accounts.find((a) => a.name === ACCOUNT)?.windows.find((w) => w.window === window);
  if (!found) throw new Error(`no ${window} window in the status report`);
  return found;
}

const iso = (ms: number): string => new Date(ms).toISOString();

describe('a successful poll', () => {
  it.each(['json', 'logfmt'] as const)('serves the exact counts, bounds and status the API answered (%s logs)', async (format) => {
    const h = await start({ format });
    expect((await h.get('/readyz')).status).toBe(503);
    const empty = await h.scrape();
    expect(samplesOf(empty, 'wolkvox_up')).toEqual([]);
    expect(h.sim.stats().requests).toBe(0);

    await h.poller.pollAll();
    expect(h.sim.stats().requests).toBe(2);
    expect(h.lastRequest('1h')).toEqual({ dateIni: '20250311140000', dateEnd: '20250311150000', tokenPresent: true });
    expect(h.lastRequest('today')).toEqual({ dateIni: '20250311000000', dateEnd: '20250311150000', tokenPresent: true });
    expect(countsForWindow('20250311140000', '20250311150000', 1).ad_chatbot).toBeGreaterThan(0);

    const text = await h.scrape();
    for (const window of WINDOWS) expectWindowValues(h, text, window, START);
    // Exactly these series: 4 per-source and 2 handled per window, nothing for windows never configured.
    expect(samplesOf(text, 'wolkvox_whatsapp_chats')).toHaveLength(8);
    expect(samplesOf(text, 'wolkvox_whatsapp_handled_chats')).toHaveLength(4);
    expect(valueOf(text, 'wolkvox_window_start_timestamp_seconds', { account: ACCOUNT, window: 'today' })).toBe(
      Date.parse('2025-03-11T05:00:00Z') / 1000,
    );
    expect(valueOf(text, 'wolkvox_window_end_timestamp_seconds', { account: ACCOUNT, window: '1h' })).toBe(START / 1000);
    expect(requestCounts(text)).toEqual(expectedRequestCounts({ success: 2 }));
    expect(valueOf(text, 'wolkvox_exporter_request_duration_seconds_count', { account: ACCOUNT })).toBe(2);
    expect(valueOf(text, 'wolkvox_quota_paused', { account: ACCOUNT })).toBe(0);
    expect(valueOf(text, 'wolkvox_exporter_planned_daily_calls', { account: ACCOUNT })).toBe((2 * 86_400_000) / INTERVAL_MS);
    expect(valueOf(text, 'wolkvox_exporter_daily_quota_calls', { account: ACCOUNT })).toBe(1000);
    expect(samplesOf(text, 'wolkvox_exporter_build_info')).toEqual([
      { name: 'wolkvox_exporter_build_info', labels: { version: '9.9.9-test', revision: 'cafe', nodejs: process.version }, value: 1 },
    ]);
    expect((await h.get('/readyz')).status).toBe(200);

    // The status report says the same as /metrics, and the page shows it.
    const status = await h.status();
    expect(status.exporter).toEqual({ version: '9.9.9-test', revision: 'cafe', now: iso(START), ready: true });
    expect(status.accounts).toHaveLength(1);
    expect(status.accounts[0]).toMatchObject({
      name: ACCOUNT,
      tokenFingerprint: new Secret(SENTINEL).fingerprint(),
      timeZone: 'America/Bogota',
      plannedDailyCalls: (2 * 86_400_000) / INTERVAL_MS,
      dailyQuota: 1000,
      dailyQuotaAssumed: false,
      callsToday: { success: 2 },
    });
    expect(status.accounts[0]?.quotaPausedUntil).toBeUndefined();
    for (const window of WINDOWS) {
      const { dateIni, dateEnd } = h.lastRequest(window);
      const counts = countsForWindow(dateIni, dateEnd, 1);
      const w = windowOf(status, window);
      expect(w).toMatchObject({
        state: 'ok',
        lastOutcome: 'success',
        lastSuccess: iso(START),
        bounds: { dateIni, dateEnd },
        values: {
          adBot: counts.ad_chatbot,
          adAgent: counts.ad_agents,
          postBot: counts.post_chatbot,
          postAgent: counts.post_agents,
          totalBot: counts.total_chatbot,
          totalAgent: counts.total_agents,
          botContainment: counts.total_chatbot / (counts.total_chatbot + counts.total_agents),
          bounds: { dateIni, dateEnd },
        },
      });
      expect(w.lastError).toBeUndefined();
      // This harness polls by hand (pollAll) and never starts the schedule: no poll is due.
      expect(w.nextPoll).toBeUndefined();
    }
    const page = await h.get('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Account <code>co</code>');
    expect(page.text).toContain('2 windows: 2 ok.');
    expect(page.text).toContain(`<code class="fingerprint">${new Secret(SENTINEL).fingerprint()}</code>`);

    const records = logRecords(h);
    expect(records.filter((r) => r.msg === 'poll succeeded').map((r) => [r.window, r.outcome]).sort()).toEqual([
      ['1h', 'success'],
      ['today', 'success'],
    ]);
    h.expectNoSentinel();
  });

  it('no_data (HTTP 404 or code 404 in the body) gives zeros and up 1', async () => {
    const h = await start();
    await h.poller.pollAll();
    for (const [i, via] of (['status', 'body'] as const).entries()) {
      h.sim.setScenario({ kind: 'no_data', via });
      await h.poller.pollAll();
      const text = await h.scrape();
      for (const window of WINDOWS) {
        const labels = { account: ACCOUNT, window };
        expect(samplesOf(text, 'wolkvox_whatsapp_chats', labels).map((s) => s.value)).toEqual([0, 0, 0, 0]);
        expect(samplesOf(text, 'wolkvox_whatsapp_handled_chats', labels).map((s) => s.value)).toEqual([0, 0]);
        expect(up(text, window)).toBe(1);
        expect(valueOf(text, 'wolkvox_window_start_timestamp_seconds', labels)).toBe(
          bogotaSeconds(h.lastRequest(window).dateIni),
        );
      }
      expect(requestCounts(text)).toEqual(expectedRequestCounts({ success: 2, no_data: 2 * (i + 1) }));
    }
  });

  it('scrapes never call the API', async () => {
    const h = await start();
    await h.poller.pollAll();
    const calls = h.sim.stats().requests;
    const first = await h.scrape();
    for (let i = 0; i < 100; i++) await h.scrape();
    for (const path of ['/', '/readyz', '/healthz']) expect((await h.get(path)).status).toBe(200);
    expect(h.sim.stats().requests).toBe(calls);
    expect(valueSeries(await h.scrape())).toEqual(valueSeries(first));
  });

  it('the status page links the configured telemetry path, which serves the metrics', async () => {
    const h = await start({ telemetryPath: '/custom/metrics' });
    await h.poller.pollAll();
    const page = await h.get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('href="/custom/metrics"');
    expect(page.text).not.toContain('href="/metrics"');
    expect(page.text).toContain('Account <code>co</code>');
    const res = await h.get('/custom/metrics');
    expect(res.status).toBe(200);
    expect(up(res.text, '1h')).toBe(1);
    expect((await h.get('/metrics')).status).toBe(404);
  });
});

type FailureCase = {
  name: string;
  /** The simulator's scenario, or `refused` for a closed port. */
  scenario: Scenario | 'refused';
  outcome: FailureKind;
  /** 3 for retried kinds (2 retries), 1 otherwise. */
  callsPerWindow: 1 | 3;
  timeoutMs?: number;
};

const FAILURES: FailureCase[] = [
  { name: 'missing token (401)', scenario: { kind: 'missing_token' }, outcome: 'unauthorized', callsPerWindow: 1 },
  { name: 'invalid token (403)', scenario: { kind: 'invalid_token', status: 403 }, outcome: 'unauthorized', callsPerWindow: 1 },
  { name: 'invalid token under HTTP 200', scenario: { kind: 'invalid_token', status: 200 }, outcome: 'unauthorized', callsPerWindow: 1 },
  { name: 'quota exceeded', scenario: { kind: 'quota_exceeded' }, outcome: 'quota_exceeded', callsPerWindow: 1 },
  { name: 'too many simultaneous requests', scenario: { kind: 'concurrency_limited' }, outcome: 'concurrency_limited', callsPerWindow: 3 },
  { name: 'maintenance page (403 HTML)', scenario: { kind: 'maintenance' }, outcome: 'server_error', callsPerWindow: 3 },
  { name: 'HTTP 500', scenario: { kind: 'server_error', status: 500 }, outcome: 'server_error', callsPerWindow: 3 },
  { name: 'HTTP 502', scenario: { kind: 'server_error', status: 502 }, outcome: 'server_error', callsPerWindow: 3 },
  { name: 'HTTP 503', scenario: { kind: 'server_error', status: 503 }, outcome: 'server_error', callsPerWindow: 3 },
  { name: 'HTTP 504', scenario: { kind: 'server_error', status: 504 }, outcome: 'server_error', callsPerWindow: 3 },
  { name: 'bad request (400)', scenario: { kind: 'bad_request' }, outcome: 'bad_request', callsPerWindow: 1 },
  {
    name: 'code 500 in a 200 body',
    scenario: { kind: 'code_in_body', code: '500', error: 'INTERNAL SERVER ERROR' },
    outcome: 'server_error',
    callsPerWindow: 3,
  },
  {
    name: 'code 400 in a 200 body',
    scenario: { kind: 'code_in_body', code: '400', error: 'SOME PARAMETERS ARE REQUIRED' },
    outcome: 'bad_request',
    callsPerWindow: 1,
  },
  {
    name: 'code 403 TOKEN LIMIT EXCEEDED in a 200 body',
    scenario: { kind: 'code_in_body', code: '403', error: 'TOKEN LIMIT EXCEEDED' },
    outcome: 'quota_exceeded',
    callsPerWindow: 1,
  },
  { name: 'HTML page under HTTP 200', scenario: { kind: 'html' }, outcome: 'invalid_response', callsPerWindow: 1 },
  { name: 'truncated JSON', scenario: { kind: 'truncated_json' }, outcome: 'invalid_response', callsPerWindow: 1 },
  { name: 'data is an object', scenario: { kind: 'wrong_shape', as: 'object' }, outcome: 'invalid_response', callsPerWindow: 1 },
  { name: 'data is a string', scenario: { kind: 'wrong_shape', as: 'string' }, outcome: 'invalid_response', callsPerWindow: 1 },
  { name: 'value "abc"', scenario: { kind: 'bad_value', value: 'abc' }, outcome: 'invalid_response', callsPerWindow: 1 },
  { name: 'value "-3"', scenario: { kind: 'bad_value', value: '-3' }, outcome: 'invalid_response', callsPerWindow: 1 },
  { name: 'value "1.5"', scenario: { kind: 'bad_value', value: '1.5' }, outcome: 'invalid_response', callsPerWindow: 1 },
  // Reading 10 MB can take longer than the 300 ms used elsewhere; the size cap, not the timeout, must end it.
  {
    name: '11 MB body',
    scenario: { kind: 'huge_body', bytes: 11 * 1024 * 1024 },
    outcome: 'invalid_response',
    callsPerWindow: 1,
    timeoutMs: 10_000,
  },
  {
    name: 'answer slower than the timeout',
    scenario: { kind: 'slow', delayMs: 3 * SHORT_TIMEOUT_MS },
    outcome: 'timeout',
    callsPerWindow: 3,
    timeoutMs: SHORT_TIMEOUT_MS,
  },
  { name: 'no answer at all', scenario: { kind: 'hang' }, outcome: 'timeout', callsPerWindow: 3, timeoutMs: SHORT_TIMEOUT_MS },
  { name: 'connection reset', scenario: { kind: 'reset' }, outcome: 'network_error', callsPerWindow: 3 },
  { name: 'connection refused', scenario: 'refused', outcome: 'network_error', callsPerWindow: 3 },
];

describe.each(['json', 'logfmt'] as const)('after a failure (%s logs)', (format) => {
  it.each(FAILURES)('$name: up 0, last good values kept until max-staleness, then gone; recovers', async (failure) => {
    const quota = failure.outcome === 'quota_exceeded';
    const h = await start({ format, ...(failure.timeoutMs ? { timeoutMs: failure.timeoutMs } : {}) });
    await h.poller.pollAll();
    const good = await h.scrape();
    for (const window of WINDOWS) expectWindowValues(h, good, window, START);
    const goodSeries = valueSeries(good);
    expect(goodSeries).toHaveLength(2 * (4 + 2 + 2));

    if (failure.scenario === 'refused') h.refuse(true);
    else h.sim.setScenario(failure.scenario);
    const callsBefore = h.sim.stats().requests;
    await h.poller.pollAll();
    // Both windows poll at once; a quota answer to one cannot stop the other's call already made.
    const calls = WINDOWS.length * failure.callsPerWindow;

    const failed = await h.scrape();
    for (const window of WINDOWS) expect(up(failed, window)).toBe(0);
    expect(valueSeries(failed)).toEqual(goodSeries);
    for (const window of WINDOWS) {
      expect(valueOf(failed, 'wolkvox_last_success_timestamp_seconds', { account: ACCOUNT, window })).toBe(START / 1000);
    }
    expect(requestCounts(failed)).toEqual(expectedRequestCounts({ success: 2, [failure.outcome]: calls }));
    expect(valueOf(failed, 'wolkvox_exporter_request_duration_seconds_count', { account: ACCOUNT })).toBe(2 + calls);
    expect(h.sim.stats().requests - callsBefore).toBe(failure.scenario === 'refused' ? 0 : calls);
    expect(valueOf(failed, 'wolkvox_quota_paused', { account: ACCOUNT })).toBe(quota ? 1 : 0);
    expect((await h.get('/readyz')).status).toBe(200);

    // The status report names the failure; the page shows its message as text.
    const failedStatus = await h.status();
    expect(failedStatus.accounts[0]?.callsToday).toEqual({ success: 2, [failure.outcome]: calls });
    // Paused until the next local midnight in Bogotá.
    expect(failedStatus.accounts[0]?.quotaPausedUntil).toBe(quota ? iso(NEXT_DAY - 1000) : undefined);
    const failedPage = await h.get('/');
    expect(failedPage.status).toBe(200);
    for (const window of WINDOWS) {
      const w = windowOf(failedStatus, window);
      expect(w).toMatchObject({ state: quota ? 'paused' : 'failing', lastOutcome: failure.outcome, lastSuccess: iso(START) });
      expect(w.values).toBeDefined();
      expect(w.lastError).toMatch(/\S/);
      expect(failedPage.text).toContain(`<td class="error">${escapeHtml(w.lastError ?? '')}</td>`);
    }

    // The log says what failed, in either format.
    const records = logRecords(h);
    const warned = records.filter((r) => r.level === 'warn' && r.outcome === failure.outcome);
    expect(warned).toHaveLength(quota ? 1 : WINDOWS.length);
    if (failure.callsPerWindow === 3) {
      expect(records.filter((r) => r.level === 'debug' && r.outcome === failure.outcome && r.msg === 'call failed, retrying')).toHaveLength(4);
    }

    if (quota) {
      // Paused until local midnight: another round makes no call at all.
      const paused = h.sim.stats().requests;
      await h.poller.pollAll();
      expect(h.sim.stats().requests).toBe(paused);
      expect(requestCounts(await h.scrape())).toEqual(expectedRequestCounts({ success: 2, quota_exceeded: calls }));
    }

    // What a caller of the client sees: a kinded error whose text does not carry the token.
    const error: unknown = await h
      .client()
      .fetchChat15({ dateIni: '20250311140000', dateEnd: '20250311150000' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(WolkvoxError);
    expect((error as WolkvoxError).kind).toBe(failure.outcome);
    h.show('error', `${(error as Error).message}\n${String(error)}\n${inspect(error, { depth: 10 })}`);

    h.advance(MAX_STALENESS_MS + 1);
    const stale = await h.scrape();
    for (const name of PER_WINDOW_VALUE_METRICS) expect(samplesOf(stale, name), name).toEqual([]);
    for (const window of WINDOWS) {
      expect(up(stale, window)).toBe(0);
      expect(valueOf(stale, 'wolkvox_last_success_timestamp_seconds', { account: ACCOUNT, window })).toBe(START / 1000);
    }
    expect(valueOf(stale, 'wolkvox_quota_paused', { account: ACCOUNT })).toBe(quota ? 1 : 0);
    const staleStatus = await h.status();
    for (const window of WINDOWS) {
      const w = windowOf(staleStatus, window);
      expect(w.state).toBe(quota ? 'paused' : 'stale');
      expect(w.values).toBeUndefined();
    }

    if (quota) h.setNow(NEXT_DAY);
    h.refuse(false);
    h.sim.setScenario({ kind: 'ok' });
    await h.poller.pollAll();
    const recovered = await h.scrape();
    const recoveredAt = quota ? NEXT_DAY : START + MAX_STALENESS_MS + 1;
    for (const window of WINDOWS) expectWindowValues(h, recovered, window, recoveredAt);
    expect(valueOf(recovered, 'wolkvox_quota_paused', { account: ACCOUNT })).toBe(0);
    const recoveredStatus = await h.status();
    expect(recoveredStatus.accounts[0]?.quotaPausedUntil).toBeUndefined();
    for (const window of WINDOWS) {
      const w = windowOf(recoveredStatus, window);
      expect(w.state).toBe('ok');
      expect(w.lastError).toBeUndefined();
    }
    const counts = requestCounts(recovered);
    expect((counts.success ?? 0) + (counts.no_data ?? 0)).toBe(4);
  });
});
