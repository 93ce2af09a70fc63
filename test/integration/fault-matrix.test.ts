// Issue 4 §1 end to end, beyond exporter.test.ts: recovery on the real scheduler, isolation, transport edges, concurrency, retries, client properties.
// Nothing here bounds a duration on the wall clock, as a busy machine runs late: durations are read on a fake clock
// while loopback I/O stays real, and on real time the tests count calls, bytes and log records instead.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { AccountConfig, Config } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { createLogger } from '../../src/log.js';
import { startExporter, type RunningExporter } from '../../src/main.js';
import { startSimulator, type Scenario, type Simulator, type SimulatorOptions } from '../../src/simulator/server.js';
import { createWolkvoxClient } from '../../src/wolkvox/client.js';
import { FAILURE_KINDS, isRetryable, WolkvoxError, type FailureKind } from '../../src/wolkvox/outcome.js';
import { CHAT15_FIELDS, classify } from '../../src/wolkvox/response.js';
import { samplesOf, valueOf } from '../support/exposition.js';
import { settleIo, track, useFakeClock } from '../support/fake-clock.js';
import { REFUSING_HOST, reservePort } from '../support/loopback.js';
import { waitFor } from '../support/processes.js';
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
type LogRecord = Record<string, unknown>;
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
    counterStepMs: 0,
    counterDelayMs: 0,
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
    /** Waits for a state with a deadline; how long it took proves nothing here, so the deadline is generous. */
    scrapeUntil(what: string, ok: (text: string) => boolean, timeoutMs = 30_000): Promise<string> {
      return waitFor(
        what,
        async () => {
          const text = await h.scrape();
          return ok(text) ? text : undefined;
        },
        { timeoutMs, intervalMs: 20, describe: () => lines.slice(-8).join('') },
      );
    },
    /** Log records in the order the exporter wrote them, from line `from` on (a `mark()`). */
    logs(from = 0): LogRecord[] {
      return lines.slice(from).map((line) => JSON.parse(line) as LogRecord);
    },
    /** The place in the log of this moment: records after it were written later. */
    mark(): number {
      return lines.length;
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

async function settle(promise: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
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

/** Records of one account and window that end a call: a success, a failure retried, or the poll's last failure. */
function callEnds(records: LogRecord[], account: string, window: string): LogRecord[] {
  return records.filter(
    (r) => r.account === account && r.window === window && ['poll succeeded', 'call failed, retrying', 'poll failed'].includes(String(r.msg)),
  );
}

describe.concurrent('a fault on one account, on the real scheduler', { timeout: 90_000 }, () => {
  it.for(RECOVERY)(
    // How soon it is back, in intervals, is checked exactly on a fake clock below; here, on real time, only that it is.
    '$name: only its windows go to 0, its last values stay until max-staleness, and it is up again once the fault ends',
    async (fault, { onTestFinished }) => {
      const h = createHarness(onTestFinished);
      // Refused: co's simulator listens on 127.0.0.2 at a port this test holds on 127.0.0.1, so that while it is
      // stopped nobody else can listen there, and it can listen there again when the fault ends.
      const reserved = fault.fault === 'refused' ? await reservePort() : undefined;
      if (reserved) onTestFinished(() => reserved.release());
      const simA = await h.sim(TOKEN_A, reserved ? { host: REFUSING_HOST, port: reserved.port } : {});
      const simB = await h.sim(TOKEN_B);
      const co = account('co', simA.url, TOKEN_A, fault.timeoutMs ? { timeoutMs: fault.timeoutMs } : {});
      const mx = account('mx', simB.url, TOKEN_B);
      await h.start([co, mx]);
      const allFresh = (t: string, name: string) => fresh(t, name, '1h') && fresh(t, name, 'today');
      await h.scrapeUntil('every window up', (t) => allFresh(t, 'co') && allFresh(t, 'mx'));

      const faultMark = h.mark();
      if (fault.fault === 'refused') await simA.close();
      else simA.setScenario(fault.fault);

      const down = await h.scrapeUntil('co down', (t) => up(t, 'co', '1h') === 0 && up(t, 'co', 'today') === 0);
      expect(allFresh(down, 'mx')).toBe(true);
      // The last good values stay, and they are from before the fault: after it, a window records at most the one
      // success of a call already answered, and none once it has failed.
      for (const window of ['1h', 'today']) {
        expect(samplesOf(down, 'wolkvox_whatsapp_chats', { account: 'co', window })).toHaveLength(4);
        const ends = callEnds(h.logs(faultMark), 'co', window);
        const firstFailure = ends.findIndex((r) => r.msg !== 'poll succeeded');
        expect(firstFailure, `co/${window} failed after the fault`).toBeGreaterThanOrEqual(0);
        expect(firstFailure, `co/${window} successes after the fault`).toBeLessThanOrEqual(1);
        expect(ends.slice(firstFailure).filter((r) => r.msg === 'poll succeeded'), `co/${window}`).toEqual([]);
      }
      // Another failed call later, the same values are still served.
      const held = await h.scrapeUntil('another failed call', (t) => requests(t, 'co', fault.outcome) > requests(down, 'co', fault.outcome));
      expect(heldValues(held, 'co')).toEqual(heldValues(down, 'co'));
      expect(requests(held, 'co', 'success')).toBe(requests(down, 'co', 'success'));
      expect(up(held, 'co', '1h')).toBe(0);
      expect(requests(held, 'mx', fault.outcome)).toBe(0);
      expect((await h.get('/healthz')).status).toBe(200);
      expect((await h.get('/readyz')).status).toBe(200);

      // Past max-staleness: co's values go (never zeros), its status and last success stay; mx is untouched.
      const stale = await h.scrapeUntil('co values gone', (t) => WINDOW_VALUE_METRICS.every((name) => samplesOf(t, name, { account: 'co' }).length === 0));
      for (const window of ['1h', 'today']) {
        expect(up(stale, 'co', window)).toBe(0);
        expect(lastSuccess(stale, 'co', window)).toBe(lastSuccess(down, 'co', window));
      }
      expect(requests(stale, 'co', 'success')).toBe(requests(down, 'co', 'success'));
      expect(valueOf(stale, 'wolkvox_quota_paused', { account: 'co' })).toBe(0);
      expect(allFresh(stale, 'mx')).toBe(true);
      expect(lastSuccess(stale, 'mx', '1h')!).toBeGreaterThan(lastSuccess(down, 'mx', '1h')!);
      expect(requests(stale, 'co', fault.outcome)).toBeGreaterThanOrEqual(2);
      for (const kind of FAILURE_KINDS) expect(requests(stale, 'mx', kind), `mx ${kind}`).toBe(0);
      const failures = h.logs().filter((r) => r.level === 'warn' && r.msg === 'poll failed');
      expect(failures.length).toBeGreaterThanOrEqual(2);
      expect(failures.every((r) => r.account === 'co' && r.outcome === fault.outcome)).toBe(true);

      // The fault ends: at most the one call already under way fails, the next one succeeds.
      const healedAt = Date.now();
      const healMark = h.mark();
      if (fault.fault === 'refused') await h.sim(TOKEN_A, { host: REFUSING_HOST, port: reserved!.port });
      else simA.setScenario({ kind: 'ok' });
      const recovered = await h.scrapeUntil('co up again', (t) => allFresh(t, 'co'));
      expect(allFresh(recovered, 'mx')).toBe(true);
      for (const window of ['1h', 'today']) {
        const back = callEnds(h.logs(healMark), 'co', window).findIndex((r) => r.msg === 'poll succeeded');
        expect(back, `co/${window} calls that failed after the fault ended`).toBeLessThanOrEqual(1);
        expect(back).toBeGreaterThanOrEqual(0);
        expect(lastSuccess(recovered, 'co', window)! * 1000).toBeGreaterThanOrEqual(healedAt - 5);
      }
      h.expectNoToken();
    },
  );

  it('a host that drops every connection: network_error, retried (3 calls a poll), only that account down', async ({ onTestFinished }) => {
    const h = createHarness(onTestFinished);
    // Closes each connection as it comes, counting them: one per call, as the exporter opens a new one each time.
    let connections = 0;
    const dropper = createTcpServer((socket) => {
      connections++;
      socket.destroy();
    });
    const port = await listenTcp(dropper, onTestFinished);
    const simB = await h.sim(TOKEN_B);
    // A long interval: only the first polls happen, so the counts are exact.
    await h.start([
      account('co', `http://127.0.0.1:${port}`, TOKEN_A, { windows: ['1h'], intervalMs: 3_600_000 }),
      account('mx', simB.url, TOKEN_B, { windows: ['1h'], intervalMs: 3_600_000 }),
    ]);
    await waitFor('ready', async () => ((await h.get('/readyz')).status === 200 ? true : undefined), { timeoutMs: 30_000, intervalMs: 20 });
    const text = await h.scrape();
    expect(up(text, 'co', '1h')).toBe(0);
    expect(requests(text, 'co', 'network_error')).toBe(3);
    expect(connections).toBe(3);
    expect(samplesOf(text, 'wolkvox_whatsapp_chats', { account: 'co' })).toEqual([]);
    expect(fresh(text, 'mx', '1h')).toBe(true);
    const failed = h.logs().filter((r) => r.msg === 'poll failed');
    expect(failed).toEqual([expect.objectContaining({ account: 'co', outcome: 'network_error', attempts: 3 })]);
    expect(String(failed[0]?.err)).toBe('request failed: ECONNRESET');
    h.expectNoToken();
  });
});

describe.concurrent('transport edges, on the real client', { timeout: 60_000 }, () => {
  // DNS failures and refused connections: test/wolkvox/client.test.ts, on the same client.
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
    const { error } = await settle(client.fetchChat15(WINDOW));
    expect(expectFailure(error, 'invalid_response').message).toBe('body larger than 10485760 bytes; not a chat_15 answer');
    // The simulator's stream ends because the client went away, not because it was all sent: bytes, not time, show it.
    await waitFor('the simulator to see the client go', async () => (sim.stats().inFlight === 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 10 });
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

/** Arrival times of the chat_15 calls the simulator saw. */
function callTimes(sim: Simulator): number[] {
  return sim
    .requests()
    .filter((r) => r.path === REPORT_PATH)
    .map((r) => r.at);
}

/** Waits, on real time, for the `n`-th call of co/1h to end in the log, and returns that record. */
function callEnd(h: Harness, n: number): Promise<LogRecord> {
  return waitFor(`call ${n} of co/1h to end`, async () => callEnds(h.logs(), 'co', '1h')[n - 1], {
    timeoutMs: 15_000,
    intervalMs: 5,
    describe: () => h.lines.slice(-5).join(''),
  });
}

/** Waits, on real time, until the simulator has received exactly `calls` calls and holds `inFlight` of them. */
async function simulatorAt(sim: Simulator, calls: number, inFlight: number): Promise<void> {
  await waitFor(
    `the simulator to hold ${inFlight} of ${calls} calls`,
    async () => (callTimes(sim).length >= calls && sim.stats().inFlight === inFlight ? true : undefined),
    { timeoutMs: 15_000, intervalMs: 5, describe: () => JSON.stringify({ calls: callTimes(sim).length, ...sim.stats() }) },
  );
  expect(callTimes(sim)).toHaveLength(calls);
}

/**
 * Drives one poll of co/1h that fails `attempts` times on the fake clock; its first call is co/1h's call number
 * `firstCall`, which is also the simulator's when every call reaches it (pass no simulator when none does). A call
 * that hangs (`timeoutMs`) is timed out by moving the clock to its deadline; after each retried failure the clock
 * moves by the delay the poller logged. Returns the logged delays.
 */
async function driveFailingPoll(h: Harness, sim: Simulator | undefined, firstCall: number, attempts: number, timeoutMs?: number): Promise<number[]> {
  const delays: number[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const call = firstCall + attempt - 1;
    if (timeoutMs !== undefined) {
      await simulatorAt(sim!, call, 1);
      await vi.advanceTimersByTimeAsync(timeoutMs);
    }
    const end = await callEnd(h, call);
    if (attempt === attempts) {
      expect(end).toMatchObject({ msg: 'poll failed', attempts });
      return delays;
    }
    expect(end).toMatchObject({ msg: 'call failed, retrying', attempt });
    delays.push(Number(end.retry_in_ms));
    // The client has let the call go before the next one starts, so maxInFlight tells of the poller alone.
    if (sim) await simulatorAt(sim, call, 0);
    await vi.advanceTimersByTimeAsync(Number(end.retry_in_ms));
  }
  return delays;
}

/**
 * On a fake clock (Date and setTimeout): the exporter's schedule, backoff and call deadlines and the simulator's
 * delays and clock run on it. Loopback I/O stays real, and the clock moves only when the test advances it, after
 * waiting for the I/O it expects; so the time a call reaches the simulator is exactly when the exporter made it,
 * however busy the machine. Sequential: the fake clock is global to this worker, so nothing else may run meanwhile.
 */
describe('recovery and retries end to end, on a fake clock, read from the simulator', { timeout: 90_000 }, () => {
  it.for(RECOVERY)(
    '$name: back at the first slot after the fault ends, or at the next call of a retrying poll',
    async (fault, { onTestFinished }) => {
      const h = createHarness(onTestFinished);
      const t0 = useFakeClock(onTestFinished, { date: true });
      const reserved = fault.fault === 'refused' ? await reservePort() : undefined;
      if (reserved) onTestFinished(() => reserved.release());
      const simOptions: SimulatorOptions = { now: () => Date.now(), ...(reserved ? { host: REFUSING_HOST, port: reserved.port } : {}) };
      let sim = await h.sim(TOKEN_A, simOptions);
      const interval = 1_000;
      await h.start([account('co', sim.url, TOKEN_A, { windows: ['1h'], intervalMs: interval, timeoutMs: fault.timeoutMs ?? 2_000 })]);
      const startFault = async () => (fault.fault === 'refused' ? sim.close() : sim.setScenario(fault.fault));
      const endFault = async () => {
        if (fault.fault === 'refused') sim = await h.sim(TOKEN_A, simOptions);
        else sim.setScenario({ kind: 'ok' });
      };
      const lastSuccessS = async () => lastSuccess(await h.scrape(), 'co', '1h');

      const attempts = isRetryable(fault.outcome) ? 3 : 1;

      await vi.advanceTimersByTimeAsync(0);
      expect(await callEnd(h, 1)).toMatchObject({ msg: 'poll succeeded' });
      // The fault: the poll of the next slot fails, every call of it.
      await startFault();
      await vi.advanceTimersByTimeAsync(t0 + interval - Date.now());
      await driveFailingPoll(h, fault.fault === 'refused' ? undefined : sim, 2, attempts, fault.timeoutMs);
      expect(up(await h.scrape(), 'co', '1h')).toBe(0);

      // It ends between two polls: the very next slot brings the window back, less than one interval later.
      const healedAt = Date.now();
      await endFault();
      await vi.advanceTimersByTimeAsync(t0 + 2 * interval - Date.now());
      expect(await callEnd(h, 2 + attempts)).toMatchObject({ msg: 'poll succeeded' });
      expect(await lastSuccessS()).toBe((t0 + 2 * interval) / 1000);
      expect(t0 + 2 * interval - healedAt).toBeLessThanOrEqual(interval);
      if (attempts === 1) {
        const text = await h.scrape();
        expect([up(text, 'co', '1h'), requests(text, 'co', fault.outcome), requests(text, 'co', 'success')]).toEqual([1, 1, 2]);
        h.expectNoToken();
        return;
      }

      // It ends while a retrying poll is under way: that poll's next call brings the window back, after waiting out
      // the timeout of a call already sent into the fault.
      await startFault();
      await vi.advanceTimersByTimeAsync(t0 + 3 * interval - Date.now());
      const pollStart = Date.now();
      if (fault.timeoutMs !== undefined) {
        await simulatorAt(sim, 6, 1);
        await endFault();
        await vi.advanceTimersByTimeAsync(fault.timeoutMs);
      }
      const failed = await callEnd(h, 6);
      expect(failed).toMatchObject({ msg: 'call failed, retrying', outcome: fault.outcome, attempt: 1 });
      if (fault.timeoutMs === undefined) await endFault();
      await vi.advanceTimersByTimeAsync(Number(failed.retry_in_ms));
      expect(await callEnd(h, 7)).toMatchObject({ msg: 'poll succeeded' });
      expect(await lastSuccessS()).toBe((pollStart + (fault.timeoutMs ?? 0) + Number(failed.retry_in_ms)) / 1000);
      const text = await h.scrape();
      expect(up(text, 'co', '1h')).toBe(1);
      expect(requests(text, 'co', fault.outcome)).toBe(4);
      expect(requests(text, 'co', 'success')).toBe(3);
      h.expectNoToken();
    },
  );

  it.for(RETRIED)(
    '$name: exactly 3 calls a poll, each after the delay the poller chose within the backoff bounds, then the next poll on schedule',
    async (c, { onTestFinished }) => {
      const h = createHarness(onTestFinished);
      const t0 = useFakeClock(onTestFinished, { date: true });
      const sim = await h.sim(TOKEN_A, { scenario: c.scenario, now: () => Date.now() });
      await h.start([
        account('co', sim.url, TOKEN_A, { windows: ['1h'], intervalMs: RETRY_INTERVAL_MS, timeoutMs: c.timeoutMs ?? 2_000 }),
      ]);
      await vi.advanceTimersByTimeAsync(0);
      const [d1, d2] = (await driveFailingPoll(h, sim, 1, 3, c.timeoutMs)) as [number, number];
      expect(callEnds(h.logs(), 'co', '1h').map((r) => [r.msg, r.outcome])).toEqual([
        ['call failed, retrying', c.outcome],
        ['call failed, retrying', c.outcome],
        ['poll failed', c.outcome],
      ]);
      expect(h.logs().find((r) => r.msg === 'poll failed')).toMatchObject({ outcome: c.outcome, attempts: 3 });
      expect(d1).toBeGreaterThanOrEqual(RETRY_BASE_MS / 2);
      expect(d1).toBeLessThanOrEqual(RETRY_BASE_MS);
      expect(d2).toBeGreaterThanOrEqual(RETRY_BASE_MS);
      expect(d2).toBeLessThanOrEqual(2 * RETRY_BASE_MS);
      // Each retry reached the simulator exactly when the call before it had ended and its delay had passed.
      const callMs = c.timeoutMs ?? 0;
      expect(callTimes(sim)).toEqual([t0, t0 + callMs + d1, t0 + 2 * callMs + d1 + d2]);
      const text = await h.scrape();
      expect(requests(text, 'co', c.outcome)).toBe(3);
      expect(up(text, 'co', '1h')).toBe(0);

      // The next poll starts at its slot, one interval after the first began, with no call in between.
      await vi.advanceTimersByTimeAsync(t0 + RETRY_INTERVAL_MS - Date.now());
      await simulatorAt(sim, 4, c.timeoutMs === undefined ? 0 : 1);
      expect(callTimes(sim)[3]).toBe(t0 + RETRY_INTERVAL_MS);
      expect(sim.stats().maxInFlight).toBe(1);
      h.expectNoToken();
    },
  );

  it.for(NOT_RETRIED)('$name: exactly 1 call a poll, the next one an interval later', async (c, { onTestFinished }) => {
    const h = createHarness(onTestFinished);
    const t0 = useFakeClock(onTestFinished, { date: true });
    const sim = await h.sim(TOKEN_A, { scenario: c.scenario, now: () => Date.now() });
    await h.start([account('co', sim.url, TOKEN_A, { windows: ['1h'], intervalMs: RETRY_INTERVAL_MS })]);
    await vi.advanceTimersByTimeAsync(0);
    expect(await callEnd(h, 1)).toMatchObject({ msg: 'poll failed', outcome: c.outcome, attempts: 1 });
    expect(callTimes(sim)).toEqual([t0]);
    expect(requests(await h.scrape(), 'co', c.outcome)).toBe(1);
    await vi.advanceTimersByTimeAsync(t0 + RETRY_INTERVAL_MS - Date.now());
    expect(await callEnd(h, 2)).toMatchObject({ msg: 'poll failed', outcome: c.outcome, attempts: 1 });
    expect(callTimes(sim)).toEqual([t0, t0 + RETRY_INTERVAL_MS]);
    expect(h.logs().filter((r) => r.msg === 'call failed, retrying')).toEqual([]);
    expect(requests(await h.scrape(), 'co', c.outcome)).toBe(2);
    h.expectNoToken();
  });

  it('a retrying poll that outlasts the interval never overlaps the next poll of its window: the slot is skipped', async ({ onTestFinished }) => {
    const h = createHarness(onTestFinished);
    const t0 = useFakeClock(onTestFinished, { date: true });
    const sim = await h.sim(TOKEN_A, { scenario: { kind: 'hang' }, now: () => Date.now() });
    // 3 × 400 ms timeouts plus 50-100 and 100-200 ms waits: 1.35-1.5 s, past the 1 s slot.
    // max_concurrency 2, so only the poller's own rule keeps a window's calls apart.
    await h.start([account('co', sim.url, TOKEN_A, { windows: ['1h'], intervalMs: 1_000, timeoutMs: 400, maxConcurrency: 2 })]);
    await vi.advanceTimersByTimeAsync(0);
    const [d1, d2] = (await driveFailingPoll(h, sim, 1, 3, 400)) as [number, number];
    expect(h.logs().filter((r) => r.msg === 'poll failed')).toEqual([expect.objectContaining({ outcome: 'timeout', attempts: 3 })]);
    const pollEnded = Date.now();
    expect(pollEnded - t0).toBe(1_200 + d1 + d2);
    expect(pollEnded - t0).toBeGreaterThan(1_000);
    // The 1 s slot fell inside the first poll and was skipped; the next poll starts at 2 s, after the third call gave up.
    await vi.advanceTimersByTimeAsync(t0 + 2_000 - Date.now());
    await simulatorAt(sim, 4, 1);
    expect(callTimes(sim)).toEqual([t0, t0 + 400 + d1, t0 + 800 + d1 + d2, t0 + 2_000]);
    expect(sim.stats().maxInFlight).toBe(1);
    h.expectNoToken();
  });
});

/**
 * The bytes the client has read from its sockets to `port`: every client socket Node opens is announced on the
 * `net.client.socket` diagnostics channel, and its bytesRead grows only as the client takes data off the wire.
 */
function countBytesRead(port: number, onFinished: OnFinished): () => number {
  const sockets: Socket[] = [];
  const onSocket = (message: unknown) => void sockets.push((message as { socket: Socket }).socket);
  subscribe('net.client.socket', onSocket);
  onFinished(() => void unsubscribe('net.client.socket', onSocket));
  return () => sockets.filter((socket) => socket.remotePort === port).reduce((sum, socket) => sum + socket.bytesRead, 0);
}

/**
 * The call's deadline on a fake clock (only setTimeout is faked: the servers below trickle on a real setInterval),
 * against real loopback servers. Each case checks the call is still waiting 1 ms before timeoutMs and has timed out
 * at it: a busy machine can make neither early nor late. Sequential, as the fake clock is global to this worker.
 */
describe('the call deadline, on a fake clock, against real servers', { timeout: 90_000 }, () => {
  /** Advances to 1 ms before `timeoutMs` (already `elapsed`), checks the call waits, then to `timeoutMs`: timeout. */
  async function expectTimeoutAt(call: { promise: Promise<unknown>; settled(): boolean }, timeoutMs: number, elapsed = 0): Promise<void> {
    await vi.advanceTimersByTimeAsync(timeoutMs - elapsed - 1);
    await settleIo();
    expect(call.settled(), 'settled before its deadline').toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    // The clock stands still from here: only the deadline that just passed can end the call.
    await waitFor('the call to end at its deadline', async () => (call.settled() ? true : undefined), { timeoutMs: 15_000, intervalMs: 5 });
    expectFailure((await settle(call.promise)).error, 'timeout');
  }

  it('a bare TCP server that takes the request and never answers: timeout, and the client lets the socket go', async ({ onTestFinished }) => {
    useFakeClock(onTestFinished);
    const sockets = new Set<Socket>();
    let received = 0;
    const server = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on('data', (chunk: Buffer) => void (received += chunk.length));
      socket.on('close', () => sockets.delete(socket));
    });
    const port = await listenTcp(server, onTestFinished);
    onTestFinished(() => sockets.forEach((s) => s.destroy()));
    const client = createWolkvoxClient({ baseUrl: `http://127.0.0.1:${port}`, token: new Secret(TOKEN_A), timeoutMs: 300 });
    const call = track(client.fetchChat15(WINDOW));
    await waitFor('the request to arrive', async () => (received > 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 5 });
    await expectTimeoutAt(call, 300);
    await waitFor('the client to close its socket', async () => (sockets.size === 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 10 });
  });

  it.for([
    { name: 'headers at once, then a body that stalls', trickle: false },
    // An idle timer per read would be renewed by each byte: only a deadline over the whole call stops this one.
    { name: 'a body trickled a byte every 50 ms', trickle: true },
  ])('$name: timeout after timeoutMs in total', async ({ trickle }, { onTestFinished }) => {
    useFakeClock(onTestFinished);
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
    const origin = `http://127.0.0.1:${port}`;
    const bytesRead = countBytesRead(port, onTestFinished);
    const client = createWolkvoxClient({ baseUrl: origin, token: new Secret(TOKEN_A), timeoutMs: 400 });
    const call = track(client.fetchChat15(WINDOW));
    const chunkAfter = (seen: number) =>
      waitFor('more body bytes at the client', async () => (bytesRead() > seen ? bytesRead() : undefined), { timeoutMs: 30_000, intervalMs: 5 });
    let seen = await chunkAfter(0);
    let elapsed = 0;
    if (trickle) {
      // 100 ms on the call's clock, then a byte: the per-chunk timer starts again each time, the call's deadline does not.
      for (let step = 0; step < 3; step++) {
        await vi.advanceTimersByTimeAsync(100);
        elapsed += 100;
        seen = await chunkAfter(seen);
      }
    }
    await expectTimeoutAt(call, 400, elapsed);
    await waitFor('the server to see the client go', async () => (responses.size === 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 10 });
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
    const options = { baseUrl: `http://127.0.0.1:${port}`, token: new Secret(TOKEN_A) };
    // A final status gets its answer however slow the machine: the deadline is far beyond any loopback answer, so the
    // outcome is the classifier's alone (deadlines are checked exactly on a fake clock above). A 1xx is interim: the
    // client waits for a final answer and times out, or the connection fails; both are accepted, so 150 ms is enough.
    const answering = createWolkvoxClient({ ...options, timeoutMs: 60_000 });
    const interim = createWolkvoxClient({ ...options, timeoutMs: 150 });
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
          const result = await (s >= 200 ? answering : interim).fetchChat15(WINDOW);
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
