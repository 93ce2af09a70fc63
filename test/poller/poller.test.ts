// The poller on fake timers: schedule and phases, retries, per-token and per-origin concurrency, start-up spread, quota pauses, closed windows, lifecycle.
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { performance } from 'node:perf_hooks';
import type { AccountConfig } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { createLogger } from '../../src/log.js';
import { createCounterStore } from '../../src/poller/counters.js';
import { createSnapshotCache, type SnapshotCache } from '../../src/poller/cache.js';
import { createPoller, type Poller } from '../../src/poller/poller.js';
import { parseWolkvoxDate } from '../../src/simulator/data.js';
import type { WolkvoxClient } from '../../src/wolkvox/client.js';
import { WolkvoxError, type FailureKind, type Outcome } from '../../src/wolkvox/outcome.js';
import type { Chat15Result, Counts } from '../../src/wolkvox/response.js';
import { windowSpec } from '../support/windows.js';

// 10:00 in Bogotá (UTC-5, no DST); the next local midnight is 2026-03-11T05:00:00Z.
const T0 = Date.parse('2026-03-10T15:00:00Z');
const BOGOTA_MIDNIGHT = Date.parse('2026-03-11T05:00:00Z');
const MINUTE = 60_000;


function account(overrides: Partial<Omit<AccountConfig, 'windows'>> & { windows?: string[] } = {}): AccountConfig {
  const { windows = ['1h'], ...rest } = overrides;
  return {
    name: 'co',
    baseUrl: 'http://wolkvox.invalid',
    token: new Secret('token-co'),
    timeZone: 'America/Bogota',
    intervalMs: MINUTE,
    maxStalenessMs: 3 * MINUTE,
    timeoutMs: 10_000,
    maxConcurrency: 1,
    counterStepMs: 0,
    counterDelayMs: 0,
    ...rest,
    windows: windows.map(windowSpec),
  };
}

function counts(n: number): Counts {
  return { ad_chatbot: n, ad_agents: n + 1, post_chatbot: n + 2, post_agents: n + 3, total_chatbot: n + 10, total_agents: n + 11 };
}

/** How the fake API answers one call: now or after `ms` of fake time; `manual` waits for the test. */
type Reply = { ms?: number } & ({ result: Chat15Result } | { fail: FailureKind }) | 'manual';
const ok = (n = 1, ms?: number): Reply => ({ result: { kind: 'success', counts: counts(n) }, ...(ms !== undefined ? { ms } : {}) });
const fail = (kind: FailureKind, ms?: number): Reply => ({ fail: kind, ...(ms !== undefined ? { ms } : {}) });

type Call = {
  account: string;
  token: string;
  /** Scheme, host and port the call went to. */
  origin: string;
  /** Calls in flight to that origin once this one started, itself included. */
  originInFlightAtStart: number;
  /** Window label, recognised from the span of date_ini..date_end. */
  window: string;
  dateIni: string;
  dateEnd: string;
  at: number;
  endedAt?: number;
  signal?: AbortSignal;
  resolve(result: Chat15Result): void;
  reject(kind: FailureKind): void;
};

/** Names the window a call asked for from its bounds alone, as a real server would see them. */
function windowOfCall(acct: AccountConfig, dateIni: string, dateEnd: string): string {
  const ini = parseWolkvoxDate(dateIni);
  const end = parseWolkvoxDate(dateEnd);
  if (ini === undefined || end === undefined) throw new Error(`bad dates ${dateIni} ${dateEnd}`);
  const spanMs = (end - ini) * 1000;
  for (const spec of acct.windows) {
    if (spec.kind === 'duration' && spec.durationMs === spanMs) return spec.label;
    if (spec.kind === 'yesterday' && spanMs === 86_399_000) return 'yesterday';
  }
  if (acct.windows.some((w) => w.kind === 'today') && dateIni.endsWith('000000') && dateIni.slice(0, 8) === dateEnd.slice(0, 8)) {
    return 'today';
  }
  throw new Error(`no window of ${acct.name} spans ${dateIni}..${dateEnd}`);
}

/** A WolkvoxClient per account that records calls and answers as `reply` says. */
function createFakeApi(reply: (call: Call) => Reply) {
  const calls: Call[] = [];
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const inFlightByWindow = new Map<string, number>();
  const maxInFlightByWindow = new Map<string, number>();
  const inFlightByOrigin = new Map<string, number>();
  const maxInFlightByOrigin = new Map<string, number>();
  /** Instants at which each token had this many calls in flight, per token pair of interest. */
  const snapshots: Array<Record<string, number>> = [];
  /** The same per origin, taken as each call starts. */
  const originSnapshots: Array<Record<string, number>> = [];

  const bump = (map: Map<string, number>, max: Map<string, number>, key: string, by: number) => {
    const value = (map.get(key) ?? 0) + by;
    map.set(key, value);
    max.set(key, Math.max(max.get(key) ?? 0, value));
  };

  const clientFor = (acct: AccountConfig): WolkvoxClient => ({
    fetchChat15(bounds, signal) {
      return new Promise<Chat15Result>((resolve, reject) => {
        const token = acct.token.reveal();
        const origin = new URL(acct.baseUrl).origin;
        const windowKey = `${acct.name}/${windowOfCall(acct, bounds.dateIni, bounds.dateEnd)}`;
        let settled = false;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finish = (settle: () => void) => {
          if (settled) return;
          settled = true;
          if (timer !== undefined) clearTimeout(timer);
          call.endedAt = Date.now();
          bump(inFlight, maxInFlight, token, -1);
          bump(inFlightByWindow, maxInFlightByWindow, windowKey, -1);
          bump(inFlightByOrigin, maxInFlightByOrigin, origin, -1);
          settle();
        };
        const call: Call = {
          account: acct.name,
          token,
          origin,
          originInFlightAtStart: (inFlightByOrigin.get(origin) ?? 0) + 1,
          window: windowOfCall(acct, bounds.dateIni, bounds.dateEnd),
          dateIni: bounds.dateIni,
          dateEnd: bounds.dateEnd,
          at: Date.now(),
          ...(signal ? { signal } : {}),
          resolve: (result) => finish(() => resolve(result)),
          reject: (kind) => finish(() => reject(new WolkvoxError(kind, `fake ${kind}`))),
        };
        calls.push(call);
        bump(inFlight, maxInFlight, token, 1);
        bump(inFlightByWindow, maxInFlightByWindow, windowKey, 1);
        bump(inFlightByOrigin, maxInFlightByOrigin, origin, 1);
        snapshots.push(Object.fromEntries(inFlight));
        originSnapshots.push(Object.fromEntries(inFlightByOrigin));
        // The real client turns an abort into a rejected call.
        signal?.addEventListener('abort', () => call.reject('network_error'), { once: true });
        const answer = reply(call);
        if (answer === 'manual') return;
        const settle = () => ('result' in answer ? call.resolve(answer.result) : call.reject(answer.fail));
        if (answer.ms === undefined) settle();
        else timer = setTimeout(settle, answer.ms);
      });
    },
  });

  return { calls, clientFor, maxInFlight, maxInFlightByWindow, snapshots, inFlight, maxInFlightByOrigin, originSnapshots, inFlightByOrigin };
}

const running: Poller[] = [];

function setup(
  accounts: AccountConfig[],
  reply: (call: Call) => Reply = () => ok(),
  options: { random?: () => number; retries?: number; maxInFlightPerOrigin?: number } = {},
) {
  const api = createFakeApi(reply);
  const cache: SnapshotCache = createSnapshotCache();
  const requests: Array<{ account: string; outcome: Outcome; seconds: number }> = [];
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json' }, { write: (line: string) => void lines.push(line) });
  const counters = createCounterStore();
  const poller = createPoller({
    accounts,
    counters,
    clientFor: api.clientFor,
    cache,
    clock: { now: () => Date.now() },
    logger,
    onRequest: (acct, outcome, seconds) => void requests.push({ account: acct, outcome, seconds }),
    random: options.random ?? (() => 0),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.maxInFlightPerOrigin !== undefined ? { maxInFlightPerOrigin: options.maxInFlightPerOrigin } : {}),
  });
  running.push(poller);
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const callsOf = (acct: string, window: string) => api.calls.filter((c) => c.account === acct && c.window === window);
  const view = (acct: string, window: string) => cache.view(Date.now()).find((v) => v.account === acct && v.window === window);
  return { api, cache, poller, requests, logger, logs, callsOf, view };
}

/** Advances fake time to an absolute instant. */
async function advanceTo(instant: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(instant - Date.now());
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});

afterEach(async () => {
  for (const poller of running.splice(0)) await poller.stop();
  vi.useRealTimers();
});

describe('schedule', () => {
  it('polls nothing before start()', async () => {
    const h = setup([account({ windows: ['1h', 'today'] })]);
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(h.api.calls).toHaveLength(0);
    expect(h.poller.ready()).toBe(false);
  });

  it('starts the first poll of every window at once, staggered by well under a second', async () => {
    const accounts = [
      account({ name: 'co', token: new Secret('token-co'), windows: ['1h', '2h', '3h'] }),
      account({ name: 'mx', token: new Secret('token-mx'), windows: ['1h', '2h', '3h'] }),
    ];
    const h = setup(accounts);
    h.poller.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(h.api.calls.map((c) => `${c.account}/${c.window}`).sort()).toEqual(
      ['co/1h', 'co/2h', 'co/3h', 'mx/1h', 'mx/2h', 'mx/3h'],
    );
    for (const call of h.api.calls) {
      expect(call.at).toBeGreaterThanOrEqual(T0);
      expect(call.at).toBeLessThan(T0 + 1000);
    }
    // Staggered: no two windows of one account fire at the same instant.
    for (const name of ['co', 'mx']) {
      const times = h.api.calls.filter((c) => c.account === name).map((c) => c.at);
      expect(new Set(times).size).toBe(3);
    }
  });

  it('repeats every interval, each window on its own phase spread across the interval', async () => {
    const h = setup([account({ windows: ['1h', '2h', '3h'], intervalMs: MINUTE })]);
    h.poller.start();
    await advanceTo(T0 + 1000 + 5 * MINUTE);
    const phases: number[] = [];
    for (const window of ['1h', '2h', '3h']) {
      const times = h.callsOf('co', window).map((c) => c.at);
      expect(times.length).toBeGreaterThanOrEqual(5);
      const later = times.slice(1);
      for (let i = 1; i < later.length; i++) expect(later[i]! - later[i - 1]!).toBe(MINUTE);
      phases.push((later[0]! - T0) % MINUTE);
    }
    // After the first round, the three windows fire at three different points of the interval, well apart.
    for (let i = 0; i < phases.length; i++) {
      for (let j = i + 1; j < phases.length; j++) {
        const d = Math.abs(phases[i]! - phases[j]!);
        expect(Math.min(d, MINUTE - d)).toBeGreaterThanOrEqual(MINUTE / 3 / 2);
      }
    }
    const later = h.api.calls.filter((c) => c.at >= T0 + 1000).map((c) => c.at);
    expect(new Set(later).size).toBe(later.length);
  });

  it('never overlaps a poll still running at its next slot: the slot is skipped, not bunched', async () => {
    const h = setup([account({ windows: ['1h'], intervalMs: MINUTE })], (call) =>
      call.at === T0 ? 'manual' : ok(),
    );
    h.poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.api.calls).toHaveLength(1);
    await advanceTo(T0 + 150_000);
    expect(h.api.calls).toHaveLength(1);
    h.api.calls[0]!.resolve({ kind: 'success', counts: counts(1) });
    await advanceTo(T0 + 180_000 - 1);
    expect(h.api.calls).toHaveLength(1);
    await advanceTo(T0 + 180_000);
    expect(h.api.calls.map((c) => c.at - T0)).toEqual([0, 180_000]);
    await advanceTo(T0 + 300_000);
    expect(h.api.calls.map((c) => c.at - T0)).toEqual([0, 180_000, 240_000, 300_000]);
    expect(h.api.maxInFlightByWindow.get('co/1h')).toBe(1);
  });
  it('pollAll() joins a poll already running instead of starting a second call for the window', async () => {
    const h = setup([account({ windows: ['1h'] })], (call) => (call.at === T0 ? 'manual' : ok(2)));
    h.poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.api.calls).toHaveLength(1);
    let joined = false;
    const all = h.poller.pollAll().then(() => void (joined = true));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.api.calls).toHaveLength(1);
    expect(joined).toBe(false);
    h.api.calls[0]!.resolve({ kind: 'success', counts: counts(1) });
    await all;
    expect(h.api.calls).toHaveLength(1);
    expect(h.view('co', '1h')).toMatchObject({ up: true, fresh: { counts: counts(1) } });
  });
});

describe('retries', () => {
  const retryable: FailureKind[] = ['timeout', 'network_error', 'server_error', 'concurrency_limited'];
  const notRetryable: FailureKind[] = ['unauthorized', 'bad_request', 'invalid_response'];

  it.each(retryable)('%s: retried twice by default, so 3 calls a poll, with growing delays', async (kind) => {
    const h = setup([account({ windows: ['1h'], intervalMs: MINUTE })], () => fail(kind));
    h.poller.start();
    await advanceTo(T0 + MINUTE - 1);
    const times = h.api.calls.map((c) => c.at - T0);
    expect(times).toHaveLength(3);
    const [first, second, third] = times as [number, number, number];
    expect(first).toBe(0);
    expect(second - first).toBeGreaterThan(0);
    expect(third - second).toBeGreaterThan(second - first);
    // Never more than a third of the interval between calls.
    expect(third - second).toBeLessThanOrEqual(MINUTE / 3);
    expect(h.requests.map((r) => r.outcome)).toEqual([kind, kind, kind]);
    expect(h.view('co', '1h')?.up).toBe(false);
    // The next poll, at the next interval, retries again.
    await advanceTo(T0 + 2 * MINUTE - 1);
    expect(h.api.calls).toHaveLength(6);
    expect(h.api.calls[3]!.at).toBe(T0 + MINUTE);
  });

  it.each(notRetryable)('%s: called once a poll, never retried', async (kind) => {
    const h = setup([account({ windows: ['1h'], intervalMs: MINUTE })], () => fail(kind));
    h.poller.start();
    await advanceTo(T0 + 2 * MINUTE + 30_000);
    expect(h.api.calls.map((c) => c.at - T0)).toEqual([0, MINUTE, 2 * MINUTE]);
    expect(h.requests.map((r) => r.outcome)).toEqual([kind, kind, kind]);
    expect(h.view('co', '1h')?.up).toBe(false);
  });

  it('quota_exceeded is not retried', async () => {
    const h = setup([account({ windows: ['1h'] })], (call) => (call.at < BOGOTA_MIDNIGHT ? fail('quota_exceeded') : ok()));
    h.poller.start();
    await advanceTo(T0 + 30_000);
    expect(h.api.calls).toHaveLength(1);
    expect(h.requests.map((r) => r.outcome)).toEqual(['quota_exceeded']);
  });

  it('a retry that succeeds ends the poll as a success', async () => {
    let n = 0;
    const h = setup([account({ windows: ['1h'] })], () => (++n < 3 ? fail('server_error') : ok(7)));
    h.poller.start();
    await advanceTo(T0 + 30_000);
    expect(h.requests.map((r) => r.outcome)).toEqual(['server_error', 'server_error', 'success']);
    expect(h.view('co', '1h')).toMatchObject({ up: true, fresh: { counts: counts(7) } });
  });

  it('honours the retries option', async () => {
    const h = setup([account({ windows: ['1h'] })], () => fail('timeout'), { retries: 0 });
    h.poller.start();
    await advanceTo(T0 + 30_000);
    expect(h.api.calls).toHaveLength(1);
  });

  it('jitters the delays with the random source', async () => {
    const gaps = async (random: () => number) => {
      const h = setup([account({ windows: ['1h'] })], () => fail('server_error'), { random });
      h.poller.start();
      await advanceTo(Date.now() + 30_000);
      await h.poller.stop();
      const times = h.api.calls.map((c) => c.at);
      return [times[1]! - times[0]!, times[2]! - times[1]!];
    };
    const low = await gaps(() => 0);
    vi.setSystemTime(T0);
    const high = await gaps(() => 0.99);
    expect(low[0]).not.toBe(high[0]);
    expect(low[1]).not.toBe(high[1]);
    expect(high[0]).toBeGreaterThan(low[0]!);
    // Delays grow whatever the jitter.
    expect(high[1]).toBeGreaterThan(high[0]!);
  });

  it('a retrying poll never overlaps the next poll of its window', async () => {
    // Each failing call takes 25 s: three calls plus backoff run past the next slot at 60 s.
    const h = setup([account({ windows: ['1h'], intervalMs: MINUTE })], () => fail('server_error', 25_000));
    h.poller.start();
    await advanceTo(T0 + 3 * MINUTE - 1);
    const calls = h.api.calls;
    expect(calls.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i]!.at).toBeGreaterThanOrEqual(calls[i - 1]!.endedAt ?? Infinity);
    }
    expect(h.api.maxInFlightByWindow.get('co/1h')).toBe(1);
    // The first poll's three calls end after 60 s; the 60 s slot is skipped and the next poll starts at 120 s.
    expect(calls[2]!.endedAt! - T0).toBeGreaterThan(MINUTE);
    expect(calls[3]!.at - T0).toBe(2 * MINUTE);
  });
});

describe('concurrency per token', () => {
  it.each([1, 2] as const)('never more than %i calls in flight for a token shared by several accounts', async (max) => {
    const shared = new Secret('token-shared');
    const accounts = [
      account({ name: 'a', token: shared, maxConcurrency: max, windows: ['1h', '2h', '3h'] }),
      account({ name: 'b', token: new Secret('token-shared'), maxConcurrency: max, windows: ['1h', '2h', '3h'] }),
      account({ name: 'c', token: new Secret('token-other'), maxConcurrency: max, windows: ['1h', '2h', '3h'] }),
    ];
    const h = setup(accounts, () => ok(1, 4_000));
    let maxSeen = 0;
    h.poller.start();
    for (let t = 0; t < 3 * MINUTE; t += 500) {
      await vi.advanceTimersByTimeAsync(500);
      maxSeen = Math.max(maxSeen, h.poller.inFlight('a'), h.poller.inFlight('b'));
    }
    expect(h.api.maxInFlight.get('token-shared')).toBe(max);
    expect(h.api.maxInFlight.get('token-other')).toBe(max);
    expect(maxSeen).toBeLessThanOrEqual(max);
    // Independent tokens: at some instant both were at their cap together.
    expect(h.api.snapshots.some((s) => s['token-shared'] === max && s['token-other'] === max)).toBe(true);
    // Every window was still polled: queueing delays calls, it does not drop them.
    for (const name of ['a', 'b', 'c']) {
      for (const window of ['1h', '2h', '3h']) expect(h.callsOf(name, window).length).toBeGreaterThanOrEqual(3);
    }
  });

  it('two accounts sharing a token use the smaller of their limits', async () => {
    const accounts = [
      account({ name: 'a', token: new Secret('t'), maxConcurrency: 2, windows: ['1h', '2h'] }),
      account({ name: 'b', token: new Secret('t'), maxConcurrency: 1, windows: ['1h', '2h'] }),
    ];
    const h = setup(accounts, () => ok(1, 4_000));
    h.poller.start();
    await advanceTo(T0 + 2 * MINUTE);
    expect(h.api.maxInFlight.get('t')).toBe(1);
  });
});

describe('calls in flight per origin (--wolkvox.max-in-flight)', () => {
  /** `count` accounts on `baseUrl`, each with its own token unless `token` is given. */
  const accountsOn = (baseUrl: string, prefix: string, count: number, extra: Partial<Omit<AccountConfig, 'windows'>> & { windows?: string[] } = {}) =>
    Array.from({ length: count }, (_, i) =>
      account({ name: `${prefix}${i}`, baseUrl, token: new Secret(`token-${prefix}${i}`), maxConcurrency: 2, windows: ['1h', '2h', '3h'], ...extra }),
    );

  it('never has more than the cap in flight to one origin, over many tokens and accounts, and still polls every window', async () => {
    // 12 tokens × 2 slots would allow 24 calls at once; the origin allows 4.
    const accounts = accountsOn('http://wolkvox.invalid', 'acct', 12);
    const h = setup(accounts, () => ok(1, 3_000), { maxInFlightPerOrigin: 4 });
    h.poller.start();
    let maxSeen = 0;
    for (let t = 0; t < 3 * MINUTE; t += 250) {
      await vi.advanceTimersByTimeAsync(250);
      maxSeen = Math.max(maxSeen, h.poller.originInFlight('http://wolkvox.invalid'));
    }
    // Counted in the fake server: the cap is reached, never passed.
    expect(h.api.maxInFlightByOrigin.get('http://wolkvox.invalid')).toBe(4);
    expect(Math.max(...h.api.calls.map((c) => c.originInFlightAtStart))).toBe(4);
    expect(maxSeen).toBe(4);
    // The per-token limit still lets a token use both its slots when the origin has room.
    expect(Math.max(...h.api.maxInFlight.values())).toBeLessThanOrEqual(2);
    for (const acct of accounts) for (const window of ['1h', '2h', '3h']) expect(h.callsOf(acct.name, window).length).toBeGreaterThanOrEqual(2);
  });

  it('times a call from when it was sent, not from when it began to wait for the origin', async () => {
    // Durations come from performance.now(): make it follow fake time.
    const now = vi.spyOn(performance, 'now').mockImplementation(() => Date.now());
    onTestFinished(() => now.mockRestore());
    const accounts = accountsOn('http://wolkvox.invalid', 'acct', 3, { windows: ['1h'] });
    const h = setup(accounts, () => ok(1, 3_000), { maxInFlightPerOrigin: 1 });
    h.poller.start();
    await advanceTo(T0 + 10_000);
    // The third waited 6 s for its turn; each call took 3 s.
    expect(h.api.calls.map((c) => c.at - T0)).toEqual([0, 3_000, 6_000]);
    expect(h.requests.map((r) => r.seconds)).toEqual([3, 3, 3]);
  });

  it('gives each origin its own cap: scheme, host and port', async () => {
    const accounts = [
      ...accountsOn('http://a.invalid', 'a', 5),
      // The same host on another port is another origin; a path or the default port is not.
      ...accountsOn('http://a.invalid:8080', 'p', 5),
      ...accountsOn('http://b.invalid:80/wolkvox', 'b', 3),
      ...accountsOn('http://b.invalid', 'c', 2),
    ];
    const h = setup(accounts, () => ok(1, 5_000), { maxInFlightPerOrigin: 3 });
    h.poller.start();
    await advanceTo(T0 + 2 * MINUTE);
    expect(Object.fromEntries(h.api.maxInFlightByOrigin)).toEqual({ 'http://a.invalid': 3, 'http://a.invalid:8080': 3, 'http://b.invalid': 3 });
    // Independent: at some instant all three were at their cap together.
    expect(h.api.originSnapshots.some((s) => s['http://a.invalid'] === 3 && s['http://a.invalid:8080'] === 3 && s['http://b.invalid'] === 3)).toBe(true);
    expect(h.poller.originInFlight('http://b.invalid:80/other')).toBe(h.poller.originInFlight('http://b.invalid'));
  });

  it('serves tokens fairly: a token with many windows queues at most its own slots ahead of the others', async () => {
    // Big has 9 windows and 2 slots; x, y and z one window each, added after it. One call at a time.
    const accounts = [
      account({ name: 'big', token: new Secret('token-big'), maxConcurrency: 2, windows: ['1h', '2h', '3h', '4h', '5h', '6h', '7h', '8h', '9h'] }),
      ...['x', 'y', 'z'].map((name) => account({ name, token: new Secret(`token-${name}`), windows: ['1h'] })),
    ];
    const h = setup(accounts, () => ok(1, 1_000), { maxInFlightPerOrigin: 1 });
    h.poller.start();
    await advanceTo(T0 + 20_000);
    const order = h.api.calls.map((c) => (c.account === 'big' ? 'big' : c.account));
    // In the order they reached the origin: big's first, its second (which held its other slot), then x, y, z.
    expect(order.slice(0, 5)).toEqual(['big', 'big', 'x', 'y', 'z']);
    expect(order).toHaveLength(12);
    expect(h.api.maxInFlightByOrigin.get('http://wolkvox.invalid')).toBe(1);
  });

  it('combines with the per-token limit: both hold at once, and the tighter one binds', async () => {
    const shared = new Secret('token-shared');
    const accounts = [
      account({ name: 's1', token: shared, maxConcurrency: 1, windows: ['1h', '2h', '3h'] }),
      account({ name: 's2', token: new Secret('token-shared'), maxConcurrency: 1, windows: ['1h', '2h', '3h'] }),
      account({ name: 'd', token: new Secret('token-d'), maxConcurrency: 2, windows: ['1h', '2h', '3h'] }),
      account({ name: 'e', token: new Secret('token-e'), maxConcurrency: 2, windows: ['1h', '2h', '3h'] }),
    ];
    const h = setup(accounts, () => ok(1, 4_000), { maxInFlightPerOrigin: 3 });
    h.poller.start();
    await advanceTo(T0 + 3 * MINUTE);
    // 1 + 2 + 2 token slots would allow 5; the origin allows 3.
    expect(h.api.maxInFlightByOrigin.get('http://wolkvox.invalid')).toBe(3);
    expect(h.api.maxInFlight.get('token-shared')).toBe(1);
    expect(h.api.maxInFlight.get('token-d')).toBeLessThanOrEqual(2);
    expect(h.api.maxInFlight.get('token-e')).toBeLessThanOrEqual(2);

    // One token with 2 slots under a cap of 3: the token binds.
    const one = setup([account({ name: 'solo', baseUrl: 'http://solo.invalid', token: new Secret('token-solo'), maxConcurrency: 2, windows: ['1h', '2h', '3h', '4h'] })], () => ok(1, 4_000), {
      maxInFlightPerOrigin: 3,
    });
    one.poller.start();
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(one.api.maxInFlightByOrigin.get('http://solo.invalid')).toBe(2);
  });

  it('applies a new cap on reload: a raise lets waiting calls in at once, a cut keeps calls in flight counted', async () => {
    const accounts = accountsOn('http://wolkvox.invalid', 'acct', 10, { windows: ['1h'] });
    const h = setup(accounts, () => ok(1, 10_000), { maxInFlightPerOrigin: 2 });
    h.poller.start();
    await advanceTo(T0 + 1_000);
    expect(h.api.inFlightByOrigin.get('http://wolkvox.invalid')).toBe(2);

    // A reload without a cap keeps the one in force.
    h.poller.update(accounts);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.api.inFlightByOrigin.get('http://wolkvox.invalid')).toBe(2);

    h.poller.update(accounts, { maxInFlightPerOrigin: 5 });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.api.inFlightByOrigin.get('http://wolkvox.invalid')).toBe(5);
    expect(h.poller.originInFlight('http://wolkvox.invalid')).toBe(5);

    await advanceTo(T0 + 5_000);
    const cutAt = Date.now();
    h.poller.update(accounts, { maxInFlightPerOrigin: 1 });
    await advanceTo(T0 + 2 * MINUTE);
    const afterCut = h.api.calls.filter((c) => c.at >= cutAt);
    expect(afterCut.length).toBeGreaterThan(0);
    // Nothing new went out until the 5 in flight were down to none: every later call found itself alone.
    expect(afterCut.every((c) => c.originInFlightAtStart === 1)).toBe(true);
    expect(Math.min(...afterCut.map((c) => c.at))).toBeGreaterThanOrEqual(Math.max(...h.api.calls.filter((c) => c.at < cutAt).map((c) => c.endedAt ?? Infinity)));
  });

  it('stop() ends polls still waiting for an origin slot, and sends none of them', async () => {
    const accounts = accountsOn('http://wolkvox.invalid', 'acct', 6, { windows: ['1h', '2h'] });
    const h = setup(accounts, () => 'manual', { maxInFlightPerOrigin: 1 });
    h.poller.start();
    await advanceTo(T0 + 2_000);
    expect(h.api.calls).toHaveLength(1);
    const stopped = h.poller.stop();
    await vi.advanceTimersByTimeAsync(0);
    await stopped;
    // The call in flight was aborted; the queued polls were cancelled before sending anything.
    expect(h.api.calls).toHaveLength(1);
    expect(h.poller.originInFlight('http://wolkvox.invalid')).toBe(0);
  });
});

describe('start-up spread', () => {
  /** When each window's first call went out, by account/window. */
  const firstCalls = (calls: readonly Call[]) => {
    const first = new Map<string, number>();
    for (const call of calls) if (!first.has(`${call.account}/${call.window}`)) first.set(`${call.account}/${call.window}`, call.at);
    return first;
  };
  const manyAccounts = (count: number, windows: string[]) =>
    Array.from({ length: count }, (_, i) =>
      account({ name: `a${i}`, token: new Secret(`token-a${i}`), intervalMs: 5 * MINUTE, maxStalenessMs: 15 * MINUTE, windows }),
    );

  it('spreads a large start at 50 first polls a second, not all at once', async () => {
    // No origin cap to speak of, and a token per window: only the spread keeps 300 first polls apart.
    const h = setup(manyAccounts(300, ['1h']), () => ok(1, 1_000), { maxInFlightPerOrigin: 100_000 });
    h.poller.start();
    await advanceTo(T0 + MINUTE);
    const starts = [...firstCalls(h.api.calls).values()].sort((a, b) => a - b);
    expect(starts).toHaveLength(300);
    // Never more than 50 first polls sent in any second...
    for (let i = 50; i < starts.length; i++) expect(starts[i]! - starts[i - 50]!).toBeGreaterThanOrEqual(999);
    // ...and no slower: 300 at 50 a second take 6 s.
    expect(starts.at(-1)! - T0).toBeLessThan(6_000);
    expect(Math.max(...h.api.calls.map((c) => c.originInFlightAtStart))).toBeLessThanOrEqual(51);
  });

  it('with the origin cap as well, polls every window of a large start within one interval', async () => {
    // 100 accounts × 3 windows at 5m, 1 s calls, 4 in flight: about 300 / 4 = 75 s of calls.
    const h = setup(manyAccounts(100, ['1h', '2h', '3h']), () => ok(1, 1_000), { maxInFlightPerOrigin: 4 });
    h.poller.start();
    await advanceTo(T0 + 5 * MINUTE - 1);
    const first = firstCalls(h.api.calls);
    expect(first.size).toBe(300);
    expect(Math.max(...first.values()) - T0).toBeLessThan(5 * MINUTE / 2);
    expect(h.api.maxInFlightByOrigin.get('http://wolkvox.invalid')).toBe(4);
    expect(h.poller.ready()).toBe(true);
  });

  it('keeps the start-up spread in the later polls: each window keeps the offset of its first poll', async () => {
    const accounts = Array.from({ length: 100 }, (_, i) => account({ name: `a${i}`, token: new Secret(`token-a${i}`), windows: ['1h'] }));
    const h = setup(accounts, () => ok(1, 10));
    h.poller.start();
    await advanceTo(T0 + MINUTE + 5_000);
    const second = accounts.map((acct) => h.callsOf(acct.name, '1h')[1]!.at);
    const first = accounts.map((acct) => h.callsOf(acct.name, '1h')[0]!.at);
    // 100 windows, one a second's fiftieth apart, each exactly one interval after its first poll.
    expect(new Set(first).size).toBe(100);
    second.forEach((at, i) => expect(at - first[i]!).toBe(MINUTE));
  });

  it('a reload that adds many windows spreads them by the same rule; one that adds a few starts them at once', async () => {
    const h = setup([account({ name: 'a', token: new Secret('token-a'), windows: ['1h'] })], () => ok(1, 10));
    h.poller.start();
    await advanceTo(T0 + 10_000);
    const few = Array.from({ length: 5 }, (_, i) => account({ name: `f${i}`, token: new Secret(`token-f${i}`), windows: ['1h'] }));
    h.poller.update([account({ name: 'a', token: new Secret('token-a'), windows: ['1h'] }), ...few]);
    await advanceTo(T0 + 11_000);
    expect(h.api.calls.filter((c) => c.account.startsWith('f')).every((c) => c.at - T0 < 11_000)).toBe(true);
    expect(h.api.calls.filter((c) => c.account.startsWith('f'))).toHaveLength(5);

    const many = Array.from({ length: 200 }, (_, i) => account({ name: `m${i}`, token: new Secret(`token-m${i}`), windows: ['1h'] }));
    const reloadAt = T0 + 20_000;
    await advanceTo(reloadAt);
    h.poller.update([account({ name: 'a', token: new Secret('token-a'), windows: ['1h'] }), ...few, ...many]);
    await advanceTo(reloadAt + 3_000);
    // 200 at 50 a second: 4 s, so after 3 s about 150 have gone out, not all.
    const started = h.api.calls.filter((c) => c.account.startsWith('m')).length;
    expect(started).toBeGreaterThan(140);
    expect(started).toBeLessThan(160);
    await advanceTo(reloadAt + 5_000);
    expect(h.api.calls.filter((c) => c.account.startsWith('m'))).toHaveLength(200);
  });
});

describe('quota_exceeded', () => {
  it('pauses every window of the account until local midnight, then resumes', async () => {
    let quotaSpent = false;
    const h = setup([account({ windows: ['1h', '2h', '3h'], intervalMs: 5 * MINUTE, maxStalenessMs: 15 * MINUTE })], (call) => {
      if (call.at >= BOGOTA_MIDNIGHT) return ok(2);
      if (call.at >= T0 + 5 * MINUTE) quotaSpent = true;
      return quotaSpent ? fail('quota_exceeded') : ok(1);
    });
    h.poller.start();
    await advanceTo(T0 + 5 * MINUTE - 1);
    expect(h.api.calls).toHaveLength(3);
    expect(h.cache.isQuotaPaused('co')).toBe(false);

    await advanceTo(BOGOTA_MIDNIGHT - 1);
    // One call hit the quota; no window called again the same local day.
    expect(h.api.calls).toHaveLength(4);
    expect(h.requests.map((r) => r.outcome)).toEqual(['success', 'success', 'success', 'quota_exceeded']);
    expect(h.cache.isQuotaPaused('co')).toBe(true);
    expect(h.cache.accounts()).toEqual([{ account: 'co', quotaPaused: true }]);
    const views = h.cache.view(Date.now());
    expect(views.map((v) => [v.window, v.up])).toEqual([['1h', false], ['2h', false], ['3h', false]]);
    const warnings = h.logs().filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ account: 'co', outcome: 'quota_exceeded', resume_at: '2026-03-11T05:00:00.000Z' });

    await advanceTo(BOGOTA_MIDNIGHT + 5 * MINUTE - 1);
    const after = h.api.calls.filter((c) => c.at >= BOGOTA_MIDNIGHT);
    expect(after.map((c) => c.window).sort()).toEqual(['1h', '2h', '3h']);
    expect(h.cache.isQuotaPaused('co')).toBe(false);
    expect(h.cache.view(Date.now()).map((v) => [v.window, v.up, v.fresh?.counts.ad_chatbot])).toEqual([
      ['1h', true, 2],
      ['2h', true, 2],
      ['3h', true, 2],
    ]);
    expect(h.logs().filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('makes no further call for polls already waiting for the token when the quota runs out', async () => {
    // One slot per token and slow calls: the 2h and 3h polls queue behind the 1h call that hits the quota.
    const h = setup([account({ windows: ['1h', '2h', '3h'], maxConcurrency: 1 })], () => fail('quota_exceeded', 5_000));
    h.poller.start();
    await advanceTo(T0 + 30_000);
    expect(h.api.calls).toHaveLength(1);
    expect(h.requests.map((r) => r.outcome)).toEqual(['quota_exceeded']);
    expect(h.cache.view(Date.now()).map((v) => [v.window, v.up])).toEqual([['1h', false], ['2h', false], ['3h', false]]);
    expect(h.poller.ready()).toBe(true);
  });

  it('pauses every account that shares the exhausted token, each until its own local midnight', async () => {
    const shared = new Secret('shared-token');
    const h = setup(
      [
        account({ name: 'co', token: shared }),
        account({ name: 'mx', token: shared, timeZone: 'America/Mexico_City' }),
        account({ name: 'pe', token: new Secret('other-token') }),
      ],
      (call) => (call.account === 'co' ? fail('quota_exceeded') : ok(1, 10_000)),
    );
    h.poller.start();
    await advanceTo(T0 + 3 * MINUTE);
    expect(h.cache.isQuotaPaused('co')).toBe(true);
    expect(h.cache.isQuotaPaused('mx')).toBe(true);
    expect(h.cache.isQuotaPaused('pe')).toBe(false);
    // co's first poll runs first and exhausts the shared token before mx's first poll gets a slot.
    expect(h.callsOf('mx', '1h')).toHaveLength(0);
    expect(h.callsOf('pe', '1h').length).toBeGreaterThanOrEqual(3);
    const warnings = h.logs().filter((l) => l.level === 'warn' && l.outcome === 'quota_exceeded');
    expect(warnings.map((w) => [w.account, w.resume_at])).toEqual([
      ['co', '2026-03-11T05:00:00.000Z'],
      // Mexico City is UTC-6 in March 2026 (no DST since 2022).
      ['mx', '2026-03-11T06:00:00.000Z'],
    ]);
  });

  // issue 8, defect 5: the pause belongs to the token, so a new token resumes the account at once.
  it('resumes at once when a reload gives the paused account another token, and keeps the pause when the token stays', async () => {
    const spent = new Secret('spent-token');
    const fresh = new Secret('fresh-token');
    const h = setup([account({ token: spent })], (call) => (call.token === spent.reveal() ? fail('quota_exceeded') : ok(7)));
    h.poller.start();
    await advanceTo(T0 + 5 * MINUTE);
    expect(h.cache.isQuotaPaused('co')).toBe(true);
    expect(h.api.calls).toHaveLength(1);

    // Same token, other settings: still paused, no call.
    h.poller.update([account({ token: spent, timeoutMs: 20_000 })]);
    expect(h.cache.isQuotaPaused('co')).toBe(true);
    await advanceTo(T0 + 10 * MINUTE);
    expect(h.api.calls).toHaveLength(1);

    h.poller.update([account({ token: fresh })]);
    expect(h.cache.isQuotaPaused('co')).toBe(false);
    await advanceTo(T0 + 10 * MINUTE + 1_000);
    expect(h.api.calls.map((c) => c.token)).toEqual([spent.reveal(), fresh.reveal()]);
    expect(h.view('co', '1h')).toMatchObject({ up: true, fresh: { counts: { ad_chatbot: 7 } } });
    expect(h.logs().some((l) => l.msg === 'the account has another token now: resuming polling after the daily quota pause')).toBe(true);
  });

  it('pauses at once an account that a reload moves onto a paused token', async () => {
    const spent = new Secret('spent-token');
    const h = setup(
      [account({ name: 'co', token: spent }), account({ name: 'mx', token: new Secret('mx-token') })],
      (call) => (call.token === spent.reveal() ? fail('quota_exceeded') : ok()),
    );
    h.poller.start();
    await advanceTo(T0 + 2 * MINUTE);
    expect(h.cache.isQuotaPaused('mx')).toBe(false);
    const mxCalls = h.callsOf('mx', '1h').length;
    h.poller.update([account({ name: 'co', token: spent }), account({ name: 'mx', token: spent })]);
    expect(h.cache.isQuotaPaused('mx')).toBe(true);
    await advanceTo(T0 + 10 * MINUTE);
    expect(h.callsOf('mx', '1h')).toHaveLength(mxCalls);
  });

  it('forgets the per-token state of tokens no account uses any more', async () => {
    const h = setup([account({ name: 'co', token: new Secret('a') }), account({ name: 'mx', token: new Secret('b') })]);
    h.poller.start();
    await advanceTo(T0 + 2 * MINUTE);
    expect(h.poller.trackedTokens()).toBe(2);
    h.poller.update([account({ name: 'co', token: new Secret('a') })]);
    expect(h.poller.trackedTokens()).toBe(1);
    h.poller.update([account({ name: 'co', token: new Secret('c') })]);
    await advanceTo(T0 + 4 * MINUTE);
    expect(h.poller.trackedTokens()).toBe(1);
  });

  it('pauses only the account that hit its quota', async () => {
    const h = setup(
      [account({ name: 'co', token: new Secret('a') }), account({ name: 'mx', token: new Secret('b') })],
      (call) => (call.account === 'co' ? fail('quota_exceeded') : ok()),
    );
    h.poller.start();
    // mx's first poll went out a step after co's, and its slots keep that offset.
    await advanceTo(T0 + 10 * MINUTE + 1_000);
    expect(h.callsOf('co', '1h')).toHaveLength(1);
    expect(h.callsOf('mx', '1h')).toHaveLength(11);
    expect(h.cache.accounts()).toEqual([
      { account: 'co', quotaPaused: true },
      { account: 'mx', quotaPaused: false },
    ]);
  });
});

describe('the yesterday window', () => {
  const yesterdayAccount = () =>
    account({ windows: ['yesterday'], intervalMs: 5 * MINUTE, maxStalenessMs: 15 * MINUTE });

  it('is fetched once a local day and kept fresh in between', async () => {
    const h = setup([yesterdayAccount()], () => ok(3));
    h.poller.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.api.calls.map((c) => [c.dateIni, c.dateEnd])).toEqual([['20260309000000', '20260309235959']]);

    await advanceTo(T0 + 2 * 3_600_000);
    expect(h.api.calls).toHaveLength(1);
    // Two hours on, far past max-staleness: still fresh and up, as the closed window's values still hold.
    const view = h.view('co', 'yesterday');
    expect(view).toMatchObject({ up: true, fresh: { counts: counts(3) } });
    expect(view!.lastSuccessMs).toBeGreaterThan(Date.now() - 5 * MINUTE - 1);

    await advanceTo(BOGOTA_MIDNIGHT + 5 * MINUTE);
    expect(h.api.calls.map((c) => [c.dateIni, c.dateEnd])).toEqual([
      ['20260309000000', '20260309235959'],
      ['20260310000000', '20260310235959'],
    ]);
    await advanceTo(BOGOTA_MIDNIGHT + 3 * 3_600_000);
    expect(h.api.calls).toHaveLength(2);
  });

  it('is fetched again on the next interval after a failure', async () => {
    let n = 0;
    const h = setup([yesterdayAccount()], () => (++n % 2 === 1 ? fail('bad_request') : ok(n)));
    h.poller.start();
    await advanceTo(T0 + 3_600_000);
    expect(h.api.calls.map((c) => c.at - T0)).toEqual([0, 5 * MINUTE]);
    expect(h.view('co', 'yesterday')).toMatchObject({ up: true, fresh: { counts: counts(2) } });

    // After midnight the new day's first call fails, and the next interval fetches it again.
    await advanceTo(BOGOTA_MIDNIGHT + 3_600_000);
    const after = h.api.calls.filter((c) => c.at >= BOGOTA_MIDNIGHT);
    expect(after).toHaveLength(2);
    expect(after[1]!.at - after[0]!.at).toBe(5 * MINUTE);
    expect(after.map((c) => c.dateIni)).toEqual(['20260310000000', '20260310000000']);
    expect(h.view('co', 'yesterday')).toMatchObject({ up: true, fresh: { counts: counts(4) } });
  });
});

describe('staleness', () => {
  it('keeps the last good values with up 0 until max-staleness passes, then drops them', async () => {
    let n = 0;
    const h = setup([account({ windows: ['1h'], intervalMs: MINUTE, maxStalenessMs: 3 * MINUTE })], () =>
      ++n === 1 ? ok(5) : fail('bad_request'),
    );
    h.poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.view('co', '1h')).toMatchObject({ up: true, lastSuccessMs: T0, fresh: { counts: counts(5) } });

    await advanceTo(T0 + MINUTE);
    expect(h.view('co', '1h')).toMatchObject({ up: false, lastSuccessMs: T0, fresh: { counts: counts(5) } });
    expect(h.cache.view(T0 + 3 * MINUTE)[0]?.fresh?.counts).toEqual(counts(5));
    const stale = h.cache.view(T0 + 3 * MINUTE + 1)[0];
    expect(stale).toEqual({ account: 'co', window: '1h', up: false, lastSuccessMs: T0 });
  });
});

describe('onRequest', () => {
  it('is called once per call with its outcome and a duration', async () => {
    const replies: Reply[] = [ok(), { result: { kind: 'no_data' } }, fail('server_error'), ok(), fail('unauthorized')];
    let n = 0;
    const h = setup([account({ windows: ['1h'], intervalMs: MINUTE })], () => replies[n++] ?? ok());
    h.poller.start();
    await advanceTo(T0 + 3 * MINUTE + 30_000);
    expect(h.api.calls).toHaveLength(5);
    expect(h.requests.map((r) => [r.account, r.outcome])).toEqual([
      ['co', 'success'],
      ['co', 'no_data'],
      ['co', 'server_error'],
      ['co', 'success'],
      ['co', 'unauthorized'],
    ]);
    for (const r of h.requests) {
      expect(Number.isFinite(r.seconds)).toBe(true);
      expect(r.seconds).toBeGreaterThanOrEqual(0);
    }
  });

  it('no_data counts as a success with all zeros', async () => {
    const h = setup([account()], () => ({ result: { kind: 'no_data' } }));
    h.poller.start();
    await vi.advanceTimersByTimeAsync(0);
    const zeros = { ad_chatbot: 0, ad_agents: 0, post_chatbot: 0, post_agents: 0, total_chatbot: 0, total_agents: 0 };
    expect(h.view('co', '1h')).toMatchObject({ up: true, fresh: { counts: zeros } });
  });
});

describe('logging', () => {
  // A child logger per poll cost about 5% of the main thread during the first polls of 1,000 accounts.
  it('makes no child logger per poll, and still logs each failure with its account and window', async () => {
    const h = setup([account({ windows: ['1h', 'today'], intervalMs: MINUTE })], () => fail('bad_request'));
    const child = vi.spyOn(h.logger, 'child');
    h.poller.start();
    await advanceTo(T0 + 3 * MINUTE - 1);
    expect(h.api.calls).toHaveLength(6);
    expect(child).not.toHaveBeenCalled();
    const failures = h.logs().filter((l) => l.msg === 'poll failed');
    expect(failures.map((l) => [l.account, l.window, l.outcome])).toEqual([
      ['co', '1h', 'bad_request'],
      ['co', 'today', 'bad_request'],
      ['co', '1h', 'bad_request'],
      ['co', 'today', 'bad_request'],
      ['co', '1h', 'bad_request'],
      ['co', 'today', 'bad_request'],
    ]);
  });

  it('logs a reloaded account under its new name', async () => {
    const h = setup([account({ windows: ['1h'], intervalMs: MINUTE })], () => fail('bad_request'));
    h.poller.start();
    await advanceTo(T0 + MINUTE - 1);
    h.poller.update([account({ name: 'pe', windows: ['1h'], intervalMs: MINUTE })]);
    await advanceTo(T0 + 2 * MINUTE - 1);
    const [before, ...after] = h.logs().filter((l) => l.msg === 'poll failed').map((l) => l.account);
    expect(before).toBe('co');
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after)).toEqual(new Set(['pe']));
  });
});

describe('lifecycle', () => {
  it('is ready once every window has finished its first poll, well or badly, and stays ready', async () => {
    const h = setup(
      [account({ name: 'co', token: new Secret('a'), windows: ['1h', '2h'] }), account({ name: 'mx', token: new Secret('b'), windows: ['1h', '2h'] })],
      (call) => (call.at < T0 + 2000 ? 'manual' : fail('bad_request')),
    );
    expect(h.poller.ready()).toBe(false);
    h.poller.start();
    await vi.advanceTimersByTimeAsync(1000);
    // One slot per token: the second window of each account waits for the first.
    expect(h.api.calls).toHaveLength(2);
    expect(h.poller.ready()).toBe(false);
    h.api.calls[0]!.resolve({ kind: 'success', counts: counts(1) });
    h.api.calls[1]!.resolve({ kind: 'success', counts: counts(1) });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.api.calls).toHaveLength(4);
    h.api.calls[2]!.resolve({ kind: 'success', counts: counts(1) });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.poller.ready()).toBe(false);
    h.api.calls[3]!.reject('bad_request');
    await vi.advanceTimersByTimeAsync(0);
    expect(h.poller.ready()).toBe(true);
    await advanceTo(T0 + 3 * MINUTE);
    expect(h.poller.ready()).toBe(true);
  });

  it('stop() aborts calls in flight, wakes retry waits, resolves, and leaves no timer behind', async () => {
    const h = setup(
      [account({ name: 'co', token: new Secret('a') }), account({ name: 'mx', token: new Secret('b'), windows: ['1h', '2h'] })],
      (call) => (call.account === 'co' ? 'manual' : call.window === '1h' ? fail('server_error') : 'manual'),
    );
    h.poller.start();
    await vi.advanceTimersByTimeAsync(200);
    const coCall = h.callsOf('co', '1h')[0]!;
    expect(coCall.signal?.aborted).toBe(false);
    expect(h.callsOf('mx', '1h')).toHaveLength(1); // now waiting to retry
    expect(vi.getTimerCount()).toBeGreaterThan(0);

    await h.poller.stop();
    expect(coCall.signal?.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    // Calls cut short by shutdown are not counted as failures.
    expect(h.requests.map((r) => r.outcome)).toEqual(['server_error']);
    const callsAtStop = h.api.calls.length;
    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(h.api.calls).toHaveLength(callsAtStop);
  });

  it('update() adds and removes windows and accounts; unchanged windows keep their values and schedule', async () => {
    const h = setup([
      account({ name: 'co', token: new Secret('a'), windows: ['1h', '2h'] }),
      account({ name: 'mx', token: new Secret('b'), windows: ['1h'] }),
    ]);
    h.poller.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.api.calls).toHaveLength(3);
    const co1hBefore = h.callsOf('co', '1h').map((c) => c.at);

    await advanceTo(T0 + 10_000);
    h.poller.update([
      account({ name: 'co', token: new Secret('a'), windows: ['1h', '3h'] }),
      account({ name: 'pe', token: new Secret('c'), windows: ['today'] }),
    ]);
    // Removed windows and accounts leave the cache at once.
    expect(h.cache.view(Date.now()).map((v) => `${v.account}/${v.window}`)).toEqual(['co/1h']);
    expect(h.cache.accounts().map((a) => a.account).sort()).toEqual(['co', 'pe']);
    expect(h.view('co', '1h')).toMatchObject({ up: true, lastSuccessMs: co1hBefore[0] });

    await advanceTo(T0 + 11_000);
    // Added ones are polled at once; the unchanged window is not polled out of turn.
    expect(h.callsOf('co', '3h').map((c) => c.at - T0)[0]).toBeLessThan(11_000);
    expect(h.callsOf('pe', 'today')).toHaveLength(1);
    expect(h.callsOf('co', '1h')).toHaveLength(1);

    await advanceTo(T0 + 5 * MINUTE);
    expect(h.callsOf('co', '1h').map((c) => c.at - T0)).toEqual([0, 60_000, 120_000, 180_000, 240_000, 300_000]);
    expect(h.callsOf('co', '2h')).toHaveLength(1);
    expect(h.callsOf('mx', '1h')).toHaveLength(1);
    expect(h.cache.view(Date.now()).map((v) => `${v.account}/${v.window}`).sort()).toEqual(['co/1h', 'co/3h', 'pe/today']);
  });

  it('update() with new settings for a window restarts its schedule but keeps its cached values', async () => {
    const h = setup([account({ windows: ['1h'], intervalMs: MINUTE })], (call) => (call.at === T0 ? ok(4) : 'manual'));
    h.poller.start();
    await advanceTo(T0 + 10_000);
    h.poller.update([account({ windows: ['1h'], intervalMs: 2 * MINUTE })]);
    expect(h.view('co', '1h')).toMatchObject({ up: true, lastSuccessMs: T0, fresh: { counts: counts(4) } });
    await advanceTo(T0 + 11_000);
    expect(h.api.calls.map((c) => c.at - T0)).toEqual([0, 10_000]);
  });

  it('update() with new settings never overlaps the replaced poll still in flight for that window', async () => {
    // The first call hangs until the test answers it; the reload lands meanwhile.
    // Two slots per token, so only the window's own guard can keep the calls apart.
    const h = setup([account({ windows: ['1h'], intervalMs: MINUTE, maxConcurrency: 2 })], (call) => (call.at === T0 ? 'manual' : ok(5)));
    h.poller.start();
    await advanceTo(T0 + 1_000);
    expect(h.api.calls).toHaveLength(1);
    h.poller.update([account({ windows: ['1h'], intervalMs: 2 * MINUTE, maxConcurrency: 2 })]);
    await advanceTo(T0 + 5_000);
    // The new schedule's first poll waits for the old call to end.
    expect(h.api.calls).toHaveLength(1);
    h.api.calls[0]?.resolve({ kind: 'success', counts: counts(1) });
    await advanceTo(T0 + 6_000);
    expect(h.api.calls).toHaveLength(2);
    expect(h.api.maxInFlightByWindow.get('co/1h')).toBe(1);
    expect(h.view('co', '1h')).toMatchObject({ up: true, fresh: { counts: counts(5) } });
  });
});


describe('what the status page reads', () => {
  it('records each window\'s last call: outcome, duration, bounds, and the error of a failure', async () => {
    // Durations come from performance.now(): make it follow fake time.
    const now = vi.spyOn(performance, 'now').mockImplementation(() => Date.now());
    onTestFinished(() => now.mockRestore());
    let failing = false;
    const h = setup([account({ windows: ['1h'], intervalMs: MINUTE })], () => (failing ? fail('server_error', 1500) : ok(1, 250)), {
      retries: 0,
    });
    h.poller.start();
    await vi.advanceTimersByTimeAsync(1000);
    const first = h.cache.records()[0]!.lastCall;
    expect(first).toMatchObject({ outcome: 'success', dateIni: h.api.calls[0]!.dateIni, dateEnd: h.api.calls[0]!.dateEnd });
    expect(first!.seconds).toBe(0.25);
    expect(first!.message).toBeUndefined();

    failing = true;
    await advanceTo(T0 + 2 * MINUTE + 2000);
    const last = h.cache.records()[0]!.lastCall!;
    expect(last).toMatchObject({ outcome: 'server_error', message: 'fake server_error' });
    expect(last.seconds).toBe(1.5);
    expect(last.dateIni).toBe(h.api.calls.at(-1)!.dateIni);
  });

  it('records the call that hit the quota, and says until when the account is paused', async () => {
    const h = setup([account({ windows: ['1h'] })], (call) => (call.at < BOGOTA_MIDNIGHT ? fail('quota_exceeded') : ok()));
    h.poller.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.cache.records()[0]!.lastCall).toMatchObject({ outcome: 'quota_exceeded' });
    expect(h.poller.quotaPausedUntil(account())).toBe(BOGOTA_MIDNIGHT);
    await advanceTo(BOGOTA_MIDNIGHT);
    expect(h.poller.quotaPausedUntil(account())).toBeUndefined();
  });

  it('says when each window is next due, and nothing while its poll runs', async () => {
    const h = setup([account({ windows: ['1h', '2h'], intervalMs: MINUTE })], (call) => (call.window === '2h' ? 'manual' : ok()));
    expect(h.poller.nextPollAt('co', '1h')).toBeUndefined();
    h.poller.start();
    expect(h.poller.nextPollAt('co', '1h')).toBe(T0);
    await vi.advanceTimersByTimeAsync(1000);
    // 1h ran at T0 on phase 0: its next slot is one interval after its anchor.
    expect(h.poller.nextPollAt('co', '1h')).toBe(T0 + MINUTE);
    // 2h's call is still out.
    expect(h.poller.nextPollAt('co', '2h')).toBeUndefined();
    h.api.calls.find((c) => c.window === '2h')!.resolve({ kind: 'success', counts: counts(1) });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.poller.nextPollAt('co', '2h')).toBeGreaterThan(Date.now());
    expect(h.poller.nextPollAt('co', 'nope')).toBeUndefined();
  });
});

describe('shard handover', () => {
  it('holds the first polls of handed-over accounts back one interval; other added accounts start at once', async () => {
    const h = setup([account({ name: 'co', token: new Secret('a'), windows: ['1h'], intervalMs: MINUTE })]);
    h.poller.start();
    await advanceTo(T0 + 10_000);
    h.poller.update(
      [
        account({ name: 'co', token: new Secret('a'), windows: ['1h'], intervalMs: MINUTE }),
        account({ name: 'moved', token: new Secret('b'), windows: ['1h', 'today'], intervalMs: MINUTE, counterStepMs: 3_600_000 }),
        account({ name: 'new', token: new Secret('c'), windows: ['1h'], intervalMs: MINUTE }),
      ],
      { handedOver: new Set(['moved']) },
    );
    expect(h.poller.nextPollAt('moved', '1h')).toBeGreaterThanOrEqual(T0 + 10_000 + MINUTE);
    await advanceTo(T0 + 10_000 + MINUTE - 1);
    expect(h.callsOf('new', '1h')).toHaveLength(1);
    expect(h.api.calls.filter((c) => c.account === 'moved')).toHaveLength(0);
    await advanceTo(T0 + 10_000 + MINUTE + 1000);
    expect(h.callsOf('moved', '1h').map((c) => c.at - T0 - 10_000)[0]).toBeGreaterThanOrEqual(MINUTE);
    expect(h.callsOf('moved', 'today')).toHaveLength(1);
    // Later polls keep the interval from there.
    await advanceTo(T0 + 10_000 + 3 * MINUTE + 1000);
    const times = h.callsOf('moved', '1h').map((c) => c.at);
    expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual([MINUTE, MINUTE]);
  });
});
