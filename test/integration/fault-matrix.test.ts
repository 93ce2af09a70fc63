// Issue 4 §1 in real time, beyond exporter.test.ts: recovery on the real scheduler, isolation, transport edges, concurrency, retries, client properties.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import type { AccountConfig, Config } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { createLogger } from '../../src/log.js';
import { startExporter, type RunningExporter } from '../../src/main.js';
import { startSimulator, type Scenario, type Simulator, type SimulatorOptions } from '../../src/simulator/server.js';
import { createWolkvoxClient } from '../../src/wolkvox/client.js';
import { FAILURE_KINDS, WolkvoxError, type FailureKind } from '../../src/wolkvox/outcome.js';
import { CHAT15_FIELDS, classify } from '../../src/wolkvox/response.js';
import { samplesOf, valueOf } from '../support/exposition.js';
import { freePort, waitFor } from '../support/processes.js';
import { windowSpec } from '../support/windows.js';

const TOKEN_A = 'tok-SENTINEL-fault-a1';
const TOKEN_B = 'tok-SENTINEL-fault-b2';
const TOKENS = [TOKEN_A, TOKEN_B];
const REPORT_PATH = '/api/v2/reports_manager.php';
const WINDOW = { dateIni: '20250311140000', dateEnd: '20250311150000' };
const WINDOW_VALUE_METRICS = [
  'wolkvox_whatsapp_chats',
  'wolkvox_whatsapp_handled_chats',
  'wolkvox_window_start_timestamp_seconds',
  'wolkvox_window_end_timestamp_seconds',
];

type OnFinished = (fn: () => Promise<void> | void) => void;
type Harness = ReturnType<typeof createHarness>;

function account(name: string, baseUrl: string, token: string, overrides: Partial<Omit<AccountConfig, 'windows'>> & { windows?: string[] } = {}): AccountConfig {
  const { windows = ['1h', 'today'], ...rest } = overrides;
  return {
    name,
    baseUrl,
    token: new Secret(token),
    timeZone: 'America/Bogota',
    intervalMs: 1_000,
    maxStalenessMs: 5_000,
    timeoutMs: 2_000,
    maxConcurrency: 2,
    ...rest,
    windows: windows.map(windowSpec),
  };
}

/**
 * One exporter (startExporter, so the real client, poller, metrics and HTTP server) against simulators,
 * cleaned up when its test ends; tests using it may run concurrently.
 */
function createHarness(onFinished: OnFinished) {
  const sims: Simulator[] = [];
  const exporters: RunningExporter[] = [];
  const lines: string[] = [];
  const shown: string[] = [];
  let base = '';
  onFinished(async () => {
    for (const exporter of exporters) await exporter.shutdown();
    for (const sim of sims) await sim.close();
  });

  const h = {
    lines,
    async sim(token: string, options: SimulatorOptions = {}): Promise<Simulator> {
      const sim = await startSimulator({ port: 0, token, ...options });
      sims.push(sim);
      return sim;
    },
    async start(accounts: AccountConfig[]): Promise<void> {
      const config: Config = {
        accounts,
        demo: false,
        web: { listenAddress: { host: '127.0.0.1', port: 0 }, telemetryPath: '/metrics', enableLifecycle: false },
        log: { level: 'debug', format: 'json' },
      };
      const logger = createLogger(config.log, { write: (line: string) => void lines.push(line) });
      const exporter = await startExporter({ config, argv: [], env: {}, logger });
      exporters.push(exporter);
      base = `http://127.0.0.1:${exporter.address.port}`;
    },
    async get(path: string): Promise<{ status: number; text: string }> {
      const res = await fetch(`${base}${path}`);
      const text = await res.text();
      shown.push(text);
      return { status: res.status, text };
    },
    async scrape(): Promise<string> {
      const res = await h.get('/metrics');
      expect(res.status).toBe(200);
      return res.text;
    },
    scrapeUntil(what: string, ok: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
      return waitFor(
        what,
        async () => {
          const text = await h.scrape();
          return ok(text) ? text : undefined;
        },
        { timeoutMs, intervalMs: 20, describe: () => lines.slice(-8).join('') },
      );
    },
    logs(): Array<Record<string, unknown>> {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    /** spec: Operations — no token in a log line, page or scrape. */
    expectNoToken(): void {
      for (const token of TOKENS) {
        for (const line of lines) expect(line, 'log line').not.toContain(token);
        for (const text of shown) expect(text, 'response').not.toContain(token);
      }
    },
  };
  return h;
}

const up = (text: string, account: string, window: string) => valueOf(text, 'wolkvox_up', { account, window });
const lastSuccess = (text: string, account: string, window: string) =>
  valueOf(text, 'wolkvox_last_success_timestamp_seconds', { account, window });
const requests = (text: string, account: string, outcome: string) =>
  valueOf(text, 'wolkvox_exporter_requests_total', { account, outcome }) ?? 0;

/** Up, with every value series present: 4 per-source, 2 handled, both bounds. */
function fresh(text: string, account: string, window: string): boolean {
  return (
    up(text, account, window) === 1 &&
    samplesOf(text, 'wolkvox_whatsapp_chats', { account, window }).length === 4 &&
    samplesOf(text, 'wolkvox_whatsapp_handled_chats', { account, window }).length === 2 &&
    valueOf(text, 'wolkvox_window_start_timestamp_seconds', { account, window }) !== undefined &&
    valueOf(text, 'wolkvox_window_end_timestamp_seconds', { account, window }) !== undefined
  );
}

/** The value series of an account's windows with their values, for "still served" comparisons. */
function heldValues(text: string, account: string): string[] {
  return [...WINDOW_VALUE_METRICS, 'wolkvox_last_success_timestamp_seconds']
    .flatMap((name) => samplesOf(text, name, { account }).map((s) => `${name}${JSON.stringify(s.labels)} ${s.value}`))
    .sort();
}

function expectFailure(error: unknown, kind: FailureKind): WolkvoxError {
  expect(error).toBeInstanceOf(WolkvoxError);
  const failure = error as WolkvoxError;
  expect(failure.kind).toBe(kind);
  const text = `${failure.message}\n${String(failure)}\n${inspect(failure, { depth: 10, showHidden: true })}`;
  for (const token of TOKENS) expect(text).not.toContain(token);
  return failure;
}

async function settle(promise: Promise<unknown>): Promise<{ value?: unknown; error?: unknown; ms: number }> {
  const started = Date.now();
  try {
    return { value: await promise, ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

async function listenTcp(server: Server, onFinished: OnFinished): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onFinished(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

type RecoveryCase = { name: string; fault: Scenario | 'refused'; outcome: FailureKind; timeoutMs?: number };

const RECOVERY: RecoveryCase[] = [
  { name: 'HTTP 503', fault: { kind: 'server_error', status: 503 }, outcome: 'server_error' },
  { name: '403 PLEASE VALIDATE TOKEN', fault: { kind: 'invalid_token', status: 403 }, outcome: 'unauthorized' },
  { name: 'truncated JSON', fault: { kind: 'truncated_json' }, outcome: 'invalid_response' },
  { name: 'a server that never answers', fault: { kind: 'hang' }, outcome: 'timeout', timeoutMs: 200 },
  { name: 'connection refused', fault: 'refused', outcome: 'network_error' },
];

/** Scheduling and scrape-polling latitude: on 2 busy CI cores timers fire a few hundred ms late. */
const SLACK_MS = 750;

describe.concurrent('a fault on one account, on the real scheduler', () => {
  it.for(RECOVERY)(
    '$name: only its windows go to 0, its last values stay until max-staleness, and it is up again within one interval of the fault ending',
    async (fault, { onTestFinished }) => {
      const h = createHarness(onTestFinished);
      const simA = await h.sim(TOKEN_A);
      const simB = await h.sim(TOKEN_B);
      const co = account('co', simA.url, TOKEN_A, fault.timeoutMs ? { timeoutMs: fault.timeoutMs } : {});
      const mx = account('mx', simB.url, TOKEN_B);
      await h.start([co, mx]);
      const interval = co.intervalMs;
      const allFresh = (t: string, name: string) => fresh(t, name, '1h') && fresh(t, name, 'today');
      await h.scrapeUntil('every window up', (t) => allFresh(t, 'co') && allFresh(t, 'mx'));

      const faultAt = Date.now();
      if (fault.fault === 'refused') await simA.close();
      else simA.setScenario(fault.fault);

      const down = await h.scrapeUntil('co down', (t) => up(t, 'co', '1h') === 0 && up(t, 'co', 'today') === 0);
      expect(allFresh(down, 'mx')).toBe(true);
      // The last good values stay, and they are from before the fault (a call answered just before it may be recorded a moment later).
      for (const window of ['1h', 'today']) {
        expect(samplesOf(down, 'wolkvox_whatsapp_chats', { account: 'co', window })).toHaveLength(4);
        expect(lastSuccess(down, 'co', window)! * 1000).toBeLessThanOrEqual(faultAt + SLACK_MS);
      }
      // Another failed call later, the same values are still served.
      const held = await h.scrapeUntil('another failed call', (t) => requests(t, 'co', fault.outcome) > requests(down, 'co', fault.outcome));
      expect(heldValues(held, 'co')).toEqual(heldValues(down, 'co'));
      expect(up(held, 'co', '1h')).toBe(0);
      expect(requests(held, 'mx', fault.outcome)).toBe(0);
      expect((await h.get('/healthz')).status).toBe(200);
      expect((await h.get('/readyz')).status).toBe(200);

      // Past max-staleness: co's values go (never zeros), its status and last success stay; mx is untouched.
      const stale = await h.scrapeUntil('co values gone', (t) => WINDOW_VALUE_METRICS.every((name) => samplesOf(t, name, { account: 'co' }).length === 0), 10_000);
      for (const window of ['1h', 'today']) {
        expect(up(stale, 'co', window)).toBe(0);
        expect(lastSuccess(stale, 'co', window)).toBe(lastSuccess(down, 'co', window));
      }
      expect(valueOf(stale, 'wolkvox_quota_paused', { account: 'co' })).toBe(0);
      expect(allFresh(stale, 'mx')).toBe(true);
      expect(lastSuccess(stale, 'mx', '1h')!).toBeGreaterThan(lastSuccess(down, 'mx', '1h')!);
      expect(requests(stale, 'co', fault.outcome)).toBeGreaterThanOrEqual(2);
      for (const kind of FAILURE_KINDS) expect(requests(stale, 'mx', kind), `mx ${kind}`).toBe(0);
      const failures = h.logs().filter((r) => r.level === 'warn' && r.msg === 'poll failed');
      expect(failures.length).toBeGreaterThanOrEqual(2);
      expect(failures.every((r) => r.account === 'co' && r.outcome === fault.outcome)).toBe(true);

      // The fault ends: both windows are back within one interval (plus a call already waiting out its timeout).
      const healedAt = Date.now();
      if (fault.fault === 'refused') await h.sim(TOKEN_A, { port: Number(new URL(simA.url).port) });
      else simA.setScenario({ kind: 'ok' });
      const recovered = await h.scrapeUntil('co up again', (t) => allFresh(t, 'co'), 5_000);
      const tookMs = Date.now() - healedAt;
      expect(tookMs).toBeLessThanOrEqual(interval + (fault.timeoutMs ?? 0) + SLACK_MS);
      expect(allFresh(recovered, 'mx')).toBe(true);
      for (const window of ['1h', 'today']) expect(lastSuccess(recovered, 'co', window)! * 1000).toBeGreaterThanOrEqual(healedAt - 5);
      h.expectNoToken();
    },
  );

  it('DNS failure: network_error, retried (3 calls a poll), only that account down', async ({ onTestFinished }) => {
    const h = createHarness(onTestFinished);
    const simB = await h.sim(TOKEN_B);
    // A long interval: only the first polls happen, so the counts are exact.
    await h.start([
      account('co', 'http://nonexistent.invalid', TOKEN_A, { windows: ['1h'], intervalMs: 3_600_000 }),
      account('mx', simB.url, TOKEN_B, { windows: ['1h'], intervalMs: 3_600_000 }),
    ]);
    await waitFor('ready', async () => ((await h.get('/readyz')).status === 200 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    const text = await h.scrape();
    expect(up(text, 'co', '1h')).toBe(0);
    expect(requests(text, 'co', 'network_error')).toBe(3);
    expect(samplesOf(text, 'wolkvox_whatsapp_chats', { account: 'co' })).toEqual([]);
    expect(fresh(text, 'mx', '1h')).toBe(true);
    const failed = h.logs().filter((r) => r.msg === 'poll failed');
    expect(failed).toEqual([expect.objectContaining({ account: 'co', outcome: 'network_error', attempts: 3 })]);
    expect(String(failed[0]?.err)).toMatch(/ENOTFOUND|EAI_AGAIN/);
    h.expectNoToken();
  });
});

describe.concurrent('transport edges, on the real client', () => {
  it('a bare TCP server that takes the request and never answers: timeout, and the client lets the socket go', async ({ onTestFinished }) => {
    const sockets = new Set<Socket>();
    const server = createTcpServer((socket) => {
      sockets.add(socket);
      socket.resume();
      socket.on('close', () => sockets.delete(socket));
    });
    const port = await listenTcp(server, onTestFinished);
    onTestFinished(() => sockets.forEach((s) => s.destroy()));
    const client = createWolkvoxClient({ baseUrl: `http://127.0.0.1:${port}`, token: new Secret(TOKEN_A), timeoutMs: 300 });
    const { error, ms } = await settle(client.fetchChat15(WINDOW));
    expectFailure(error, 'timeout');
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(300 + 1_000);
    await waitFor('the client to close its socket', async () => (sockets.size === 0 ? true : undefined), { timeoutMs: 3_000, intervalMs: 10 });
  });

  it.for([
    { name: 'headers at once, then a body that stalls', trickle: false },
    // bodyTimeout is per chunk and never fires here: only a deadline over the whole call stops it.
    { name: 'a body trickled a byte every 50 ms', trickle: true },
  ])('$name: timeout after timeoutMs in total', async ({ trickle }, { onTestFinished }) => {
    const responses = new Set<ServerResponse>();
    const server = createHttpServer((_req: IncomingMessage, res: ServerResponse) => {
      responses.add(res);
      res.on('close', () => responses.delete(res));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
      res.write('{"code":"200","data":[');
      if (!trickle) return;
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    });
    const port = await listenTcp(server, onTestFinished);
    onTestFinished(() => {
      for (const res of responses) res.destroy();
      server.closeAllConnections();
    });
    const client = createWolkvoxClient({ baseUrl: `http://127.0.0.1:${port}`, token: new Secret(TOKEN_A), timeoutMs: 400 });
    const { error, ms } = await settle(client.fetchChat15(WINDOW));
    expectFailure(error, 'timeout');
    expect(ms).toBeGreaterThanOrEqual(390);
    expect(ms).toBeLessThan(400 + 1_000);
    await waitFor('the server to see the client go', async () => (responses.size === 0 ? true : undefined), { timeoutMs: 3_000, intervalMs: 10 });
  });

  it('DNS failure and connection refused: network_error', async () => {
    const dns = await settle(
      createWolkvoxClient({ baseUrl: 'http://nonexistent.invalid', token: new Secret(TOKEN_A), timeoutMs: 5_000 }).fetchChat15(WINDOW),
    );
    expect(expectFailure(dns.error, 'network_error').message).toMatch(/^request failed: (ENOTFOUND|EAI_AGAIN)$/);
    const port = await freePort();
    const refused = await settle(
      createWolkvoxClient({ baseUrl: `http://127.0.0.1:${port}`, token: new Secret(TOKEN_A), timeoutMs: 5_000 }).fetchChat15(WINDOW),
    );
    expect(expectFailure(refused.error, 'network_error').message).toBe('request failed: ECONNREFUSED');
  });

  it('a 1 GiB body is cut off after about 10 MB: invalid_response, and the rest is never sent', async ({ onTestFinished }) => {
    const sim = await startSimulator({ port: 0, token: TOKEN_A, scenario: { kind: 'huge_body', bytes: 1024 ** 3 } });
    onTestFinished(() => sim.close());
    // A counting relay between client and simulator: what it forwards is what the client was sent.
    let forwarded = 0;
    const relay = createTcpServer((client) => {
      const upstream = connect(Number(new URL(sim.url).port), '127.0.0.1');
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        forwarded += chunk.length;
        if (!client.write(chunk)) {
          upstream.pause();
          client.once('drain', () => upstream.resume());
        }
      });
      upstream.on('end', () => client.end());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    const port = await listenTcp(relay, onTestFinished);
    const client = createWolkvoxClient({ baseUrl: `http://127.0.0.1:${port}`, token: new Secret(TOKEN_A), timeoutMs: 20_000 });
    const { error, ms } = await settle(client.fetchChat15(WINDOW));
    expect(expectFailure(error, 'invalid_response').message).toBe('body larger than 10485760 bytes; not a chat_15 answer');
    expect(ms).toBeLessThan(5_000);
    // The simulator's stream ends because the client went away, not because it was all sent.
    await waitFor('the simulator to see the client go', async () => (sim.stats().inFlight === 0 ? true : undefined), { timeoutMs: 3_000, intervalMs: 10 });
    const settledBytes = forwarded;
    expect(settledBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(settledBytes).toBeLessThan(64 * 1024 * 1024);
    expect(sim.stats().byStatus).toEqual({ '200': 1 });
  });
});

describe.concurrent('concurrency per token, on the real scheduler', () => {
  it.for([1, 2] as const)(
    'max_concurrency %i: 4 accounts x 3 windows on one token against a slow simulator never have more calls in flight',
    async (max, { onTestFinished }) => {
      const h = createHarness(onTestFinished);
      // 150 ms a call against first polls staggered by at most 50 ms: left alone, 3 or more would overlap.
      const sim = await h.sim(TOKEN_A, { latencyMs: 150 });
      const names = ['a', 'b', 'c', 'd'];
      await h.start(
        names.map((name) => account(name, sim.url, TOKEN_A, { windows: ['1h', '2h', '3h'], maxConcurrency: max, intervalMs: 3_600_000 })),
      );
      await waitFor('ready', async () => ((await h.get('/readyz')).status === 200 ? true : undefined), { timeoutMs: 15_000, intervalMs: 20 });
      const text = await h.scrape();
      const stats = sim.stats();
      expect(stats.requests).toBe(12);
      expect(stats.maxInFlight).toBe(max);
      expect(Object.keys(stats.byStatus).filter((status) => status !== '200' && status !== '404')).toEqual([]);
      for (const name of names) {
        expect(requests(text, name, 'concurrency_limited')).toBe(0);
        for (const window of ['1h', '2h', '3h']) expect(fresh(text, name, window), `${name}/${window}`).toBe(true);
      }
      h.expectNoToken();
    },
  );
});

type RetryCase = { name: string; scenario: Scenario; outcome: FailureKind; timeoutMs?: number };

const RETRIED: RetryCase[] = [
  { name: 'HTTP 503', scenario: { kind: 'server_error', status: 503 }, outcome: 'server_error' },
  { name: '403 SIMULTANEOUS REQUESTS', scenario: { kind: 'concurrency_limited' }, outcome: 'concurrency_limited' },
  { name: 'connection reset', scenario: { kind: 'reset' }, outcome: 'network_error' },
  { name: 'answer slower than the timeout', scenario: { kind: 'slow', delayMs: 1_000 }, outcome: 'timeout', timeoutMs: 300 },
];

const NOT_RETRIED: RetryCase[] = [
  { name: '403 PLEASE VALIDATE TOKEN', scenario: { kind: 'invalid_token', status: 403 }, outcome: 'unauthorized' },
  { name: '400', scenario: { kind: 'bad_request' }, outcome: 'bad_request' },
  { name: 'HTML under 200', scenario: { kind: 'html' }, outcome: 'invalid_response' },
  { name: 'value "-3"', scenario: { kind: 'bad_value', value: '-3' }, outcome: 'invalid_response' },
];

/** Interval of the retry tests: backoff is base interval/10 = 200 ms, so delays of [100, 200) then [200, 400) ms. */
const RETRY_INTERVAL_MS = 2_000;
const RETRY_BASE_MS = 200;

/** The first 'poll failed' log record, once there is one. */
function pollFailed(h: Harness): Record<string, unknown> | undefined {
  return h.logs().find((r) => r.msg === 'poll failed');
}

/** Arrival times of the chat_15 calls the simulator saw. */
function callTimes(sim: Simulator): number[] {
  return sim
    .requests()
    .filter((r) => r.path === REPORT_PATH)
    .map((r) => r.at);
}

describe.concurrent('retries end to end, read from the simulator', () => {
  it.for(RETRIED)(
    '$name: exactly 3 calls a poll, the gaps growing within the backoff bounds, then the next poll on schedule',
    async (c, { onTestFinished }) => {
      const h = createHarness(onTestFinished);
      const sim = await h.sim(TOKEN_A, { scenario: c.scenario });
      await h.start([
        account('co', sim.url, TOKEN_A, { windows: ['1h'], intervalMs: RETRY_INTERVAL_MS, timeoutMs: c.timeoutMs ?? 2_000 }),
      ]);
      // When the first poll has given up, the simulator has seen exactly its 3 calls; the next poll waits for its slot.
      const callsAtEnd = await waitFor('the first poll to fail', async () => (pollFailed(h) ? callTimes(sim).length : undefined), {
        timeoutMs: 10_000,
        intervalMs: 10,
      });
      expect(callsAtEnd).toBe(3);
      expect(pollFailed(h)).toMatchObject({ outcome: c.outcome, attempts: 3 });
      await waitFor('the first call of the second poll', async () => (callTimes(sim).length >= 4 ? true : undefined), {
        timeoutMs: 10_000,
        intervalMs: 20,
      });
      const [c0, c1, c2, c3] = callTimes(sim) as [number, number, number, number];
      const callMs = c.timeoutMs ?? 0;
      // A timed-out call's clock starts in the client, before its request reaches the simulator: allow for that.
      const early = c.timeoutMs ? 60 : 5;
      expect(c3 - c0).toBeGreaterThanOrEqual(RETRY_INTERVAL_MS - 150);
      // Upper bounds are loose on purpose: on 2 busy CI cores a timer can fire a few hundred ms late.
      // The lower bounds, and the logged delays below, are what prove the backoff.
      expect(c3 - c0).toBeLessThanOrEqual(RETRY_INTERVAL_MS + 3 * SLACK_MS);
      const gap1 = c1 - c0 - callMs;
      const gap2 = c2 - c1 - callMs;
      expect(gap1).toBeGreaterThanOrEqual(RETRY_BASE_MS / 2 - early);
      expect(gap1).toBeLessThanOrEqual(RETRY_BASE_MS + 3 * SLACK_MS);
      expect(gap2).toBeGreaterThanOrEqual(RETRY_BASE_MS - early);
      expect(gap2).toBeLessThanOrEqual(2 * RETRY_BASE_MS + 3 * SLACK_MS);

      // The delays the poller chose, as logged before the poll gave up, are in their bounds and are what the simulator saw.
      const firstPoll = h.logs().slice(0, h.logs().findIndex((r) => r.msg === 'poll failed'));
      const retries = firstPoll.filter((r) => r.msg === 'call failed, retrying');
      expect(retries.map((r) => [r.outcome, r.attempt])).toEqual([
        [c.outcome, 1],
        [c.outcome, 2],
      ]);
      const [d1, d2] = retries.map((r) => Number(r.retry_in_ms)) as [number, number];
      expect(d1).toBeGreaterThanOrEqual(RETRY_BASE_MS / 2);
      expect(d1).toBeLessThanOrEqual(RETRY_BASE_MS);
      expect(d2).toBeGreaterThanOrEqual(RETRY_BASE_MS);
      expect(d2).toBeLessThanOrEqual(2 * RETRY_BASE_MS);
      expect(gap1).toBeGreaterThanOrEqual(d1 - early);
      expect(gap2).toBeGreaterThanOrEqual(d2 - early);
      const text = await h.scrape();
      expect(requests(text, 'co', c.outcome)).toBeGreaterThanOrEqual(3);
      expect(up(text, 'co', '1h')).toBe(0);
      expect(sim.stats().maxInFlight).toBe(1);
      h.expectNoToken();
    },
  );

  it.for(NOT_RETRIED)('$name: exactly 1 call a poll', async (c, { onTestFinished }) => {
    const h = createHarness(onTestFinished);
    const sim = await h.sim(TOKEN_A, { scenario: c.scenario });
    await h.start([account('co', sim.url, TOKEN_A, { windows: ['1h'], intervalMs: RETRY_INTERVAL_MS })]);
    const callsAtEnd = await waitFor('the first poll to fail', async () => (pollFailed(h) ? callTimes(sim).length : undefined), {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    expect(callsAtEnd).toBe(1);
    expect(pollFailed(h)).toMatchObject({ outcome: c.outcome, attempts: 1 });
    await waitFor('the second poll', async () => (callTimes(sim).length >= 2 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    const [c0, c1] = callTimes(sim) as [number, number];
    expect(c1 - c0).toBeGreaterThanOrEqual(RETRY_INTERVAL_MS - 150);
    expect(h.logs().filter((r) => r.msg === 'call failed, retrying')).toEqual([]);
    const text = await h.scrape();
    expect(requests(text, 'co', c.outcome)).toBeGreaterThanOrEqual(1);
    expect(requests(text, 'co', c.outcome)).toBeLessThanOrEqual(2);
    h.expectNoToken();
  });

  it('a retrying poll that outlasts the interval never overlaps the next poll of its window: the slot is skipped', async ({ onTestFinished }) => {
    const h = createHarness(onTestFinished);
    const sim = await h.sim(TOKEN_A, { scenario: { kind: 'hang' } });
    // 3 × 400 ms timeouts plus 50-100 and 100-200 ms waits: 1.35-1.5 s, past the 1 s slot.
    // max_concurrency 2, so only the poller's own rule keeps a window's calls apart.
    await h.start([account('co', sim.url, TOKEN_A, { windows: ['1h'], intervalMs: 1_000, timeoutMs: 400, maxConcurrency: 2 })]);
    await waitFor('the next poll', async () => (callTimes(sim).length >= 4 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    const [c0, c1, c2, c3] = callTimes(sim) as [number, number, number, number];
    // Each arrival is after the previous call timed out (less its trip to the simulator) and its backoff.
    expect(c1 - c0).toBeGreaterThanOrEqual(400 + 50 - 60);
    expect(c2 - c1).toBeGreaterThanOrEqual(400 + 100 - 60);
    // The 1 s slot fell inside the first poll and was skipped; the next poll starts at 2 s, after the third call gave up.
    expect(c3 - c2).toBeGreaterThanOrEqual(400 - 60);
    expect(c3 - c0).toBeGreaterThanOrEqual(2_000 - 60);
    expect(sim.stats().maxInFlight).toBe(1);
    expect(h.logs().filter((r) => r.msg === 'poll failed')[0]).toMatchObject({ outcome: 'timeout', attempts: 3 });
    h.expectNoToken();
  });
});

describe('fetchChat15 properties over loopback', () => {
  it('any status 100-599 with any body: resolves to success or no_data, or rejects with one WolkvoxError of a known kind', async ({ onTestFinished }) => {
    let next: { status: number; body: Buffer } = { status: 200, body: Buffer.alloc(0) };
    const server = createHttpServer((req, res) => {
      req.resume();
      res.writeHead(next.status, { 'content-type': 'application/json' });
      res.end(next.body);
    });
    const port = await listenTcp(server, onTestFinished);
    onTestFinished(() => server.closeAllConnections());
    const dispatcher = new Agent();
    onTestFinished(() => dispatcher.close());
    const client = createWolkvoxClient({ baseUrl: `http://127.0.0.1:${port}`, token: new Secret(TOKEN_A), timeoutMs: 150, dispatcher });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    onTestFinished(() => void process.off('unhandledRejection', onUnhandled));

    const value = fc.oneof(fc.nat().map(String), fc.nat(), fc.string(), fc.constantFrom('', null, '-3', '1.5', 'abc'), fc.double());
    const row = fc.dictionary(fc.constantFrom(...CHAT15_FIELDS), value, { maxKeys: 6 });
    const text = fc.oneof(
      fc.string({ unit: 'grapheme' }),
      fc.json({ maxDepth: 3 }),
      fc.record({ code: fc.constantFrom('200', 200, '404', 404, '403', '500', '400'), data: fc.array(row, { maxLength: 3 }) }).map((b) => JSON.stringify(b)),
      fc.constantFrom('{"code":"403","error":"TOKEN LIMIT EXCEEDED"}', '<html>PLEASE VALIDATE TOKEN</html>', '{"code":"200","data":[{"ad_chatbot":"1"'),
    );
    const body = fc.oneof(
      { arbitrary: text.map((t) => Buffer.from(t, 'utf8')), weight: 4 },
      { arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)), weight: 1 },
    );
    // 1xx answers are interim: the client waits for a final one and times out, so they are rarer to keep the run short.
    const status = fc.oneof({ arbitrary: fc.integer({ min: 200, max: 599 }), weight: 12 }, { arbitrary: fc.integer({ min: 100, max: 199 }), weight: 1 });

    await fc.assert(
      fc.asyncProperty(status, body, async (s, b) => {
        next = { status: s, body: b };
        const outcomes: string[] = [];
        try {
          const result = await client.fetchChat15(WINDOW);
          outcomes.push(result.kind);
          // Over the wire it must read exactly as the pure classifier reads what was sent (no body on 204 and 304).
          const sent = s === 204 || s === 304 ? '' : b.toString('utf8');
          expect(result).toEqual(classify(s, sent));
        } catch (error) {
          if (!(error instanceof WolkvoxError)) throw error;
          outcomes.push(error.kind);
          expect(FAILURE_KINDS).toContain(error.kind);
          expect(error.message).not.toContain(TOKEN_A);
          if (s >= 200) {
            const sent = s === 204 || s === 304 ? '' : b.toString('utf8');
            let expected: unknown;
            try {
              classify(s, sent);
            } catch (pure) {
              expected = (pure as WolkvoxError).kind;
            }
            expect(error.kind).toBe(expected);
          } else {
            expect(['timeout', 'network_error']).toContain(error.kind);
          }
        }
        expect(outcomes).toHaveLength(1);
      }),
      { numRuns: 200 },
    );
    // Let any stray rejection surface before checking.
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  });
});
