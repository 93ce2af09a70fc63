// The _total counters on a fake clock: chunks settle once and in order, through failures, a quota pause and reloads.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AccountConfig } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { createLogger } from '../../src/log.js';
import { createSnapshotCache } from '../../src/poller/cache.js';
import { createCounterStore, type CounterStore } from '../../src/poller/counters.js';
import { createPoller, type Poller } from '../../src/poller/poller.js';
import { countsBetween, parseWolkvoxDate } from '../../src/simulator/data.js';
import type { WolkvoxClient } from '../../src/wolkvox/client.js';
import { WolkvoxError, type FailureKind } from '../../src/wolkvox/outcome.js';
import type { Counts } from '../../src/wolkvox/response.js';

// 10:20 in Bogotá (UTC-5, no DST). With hourly chunks and a 15m delay, the first chunk is 10:00-11:00.
const T0 = Date.parse('2026-03-10T15:20:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SEED = 7;

function account(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    name: 'co',
    baseUrl: 'http://wolkvox.invalid',
    token: new Secret('token-co'),
    timeZone: 'America/Bogota',
    windows: [],
    intervalMs: 5 * MINUTE,
    maxStalenessMs: 15 * MINUTE,
    timeoutMs: 10_000,
    maxConcurrency: 1,
    counterStepMs: HOUR,
    counterDelayMs: 15 * MINUTE,
    ...overrides,
  };
}

/** What the simulator holds for wall-clock [dateIni, dateEnd], both ends inclusive as Wolkvox reads them. */
function truth(dateIni: string, dateEnd: string): Counts {
  return countsBetween(parseWolkvoxDate(dateIni)!, parseWolkvoxDate(dateEnd)! + 1, SEED);
}

type Call = { account: string; dateIni: string; dateEnd: string; at: number };

const running: Poller[] = [];

function setup(accounts: AccountConfig[], fail: (call: Call) => FailureKind | undefined = () => undefined) {
  const calls: Call[] = [];
  const counters: CounterStore = createCounterStore();
  const lines: string[] = [];
  const clientFor = (acct: AccountConfig): WolkvoxClient => ({
    async fetchChat15(bounds) {
      const call = { account: acct.name, dateIni: bounds.dateIni, dateEnd: bounds.dateEnd, at: Date.now() };
      calls.push(call);
      const kind = fail(call);
      if (kind) throw new WolkvoxError(kind, `fake ${kind}`);
      return { kind: 'success', counts: truth(bounds.dateIni, bounds.dateEnd) };
    },
  });
  const poller = createPoller({
    accounts,
    counters,
    clientFor,
    cache: createSnapshotCache(),
    clock: { now: () => Date.now() },
    logger: createLogger({ level: 'debug', format: 'json' }, { write: (line: string) => void lines.push(line) }),
    onRequest: () => undefined,
    random: () => 0,
  });
  running.push(poller);
  const totals = (name = 'co') => counters.view().find((v) => v.account === name);
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { calls, counters, poller, totals, logs };
}

async function advanceTo(instant: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(instant - Date.now());
}

/** The local wall-clock date of an instant in Bogotá, as a 14-digit string. */
const bogota = (iso: string) => {
  const local = new Date(Date.parse(iso) - 5 * HOUR);
  return local.toISOString().replace(/[-:T]/g, '').slice(0, 14);
};

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});

afterEach(async () => {
  for (const poller of running.splice(0)) await poller.stop();
  vi.useRealTimers();
});

describe('counters', () => {
  it('start at 0, settled until the first chunk, and add each chunk once, counter_delay after it ends', async () => {
    const h = setup([account()]);
    expect(h.totals()).toMatchObject({ settledUntilMs: Date.parse('2026-03-10T15:00:00Z'), totals: { ad_chatbot: 0, total_agents: 0 } });
    h.poller.start();
    await advanceTo(Date.parse('2026-03-10T16:14:59Z'));
    expect(h.calls).toEqual([]);
    await advanceTo(Date.parse('2026-03-10T16:15:00Z'));
    expect(h.calls.map((c) => [c.dateIni, c.dateEnd])).toEqual([['20260310100000', '20260310105959']]);
    expect(h.totals()).toMatchObject({ settledUntilMs: Date.parse('2026-03-10T16:00:00Z'), totals: truth('20260310100000', '20260310105959') });

    // 01:00 the next day in Bogotá: 10:00 to 23:00 have settled (23:00's at 00:15), 00:00's settles at 01:15.
    await advanceTo(Date.parse('2026-03-11T06:00:00Z'));
    expect(h.calls.map((c) => c.dateIni)).toEqual(Array.from({ length: 14 }, (_, i) => `20260310${String(10 + i).padStart(2, '0')}0000`));
    expect(h.calls.at(-1)?.dateEnd).toBe('20260310235959');
    for (const [index, call] of h.calls.entries()) {
      expect(call.at).toBe(Date.parse('2026-03-10T16:15:00Z') + index * HOUR);
    }
    expect(h.totals()).toMatchObject({ settledUntilMs: Date.parse('2026-03-11T05:00:00Z'), totals: truth('20260310100000', '20260310235959') });
  });

  it('only delay a chunk on failure: it is tried again after an interval, then the backlog is added oldest first', async () => {
    let outage = true;
    const h = setup([account()], () => (outage ? 'server_error' : undefined));
    h.poller.start();
    await advanceTo(Date.parse('2026-03-10T19:20:00Z'));
    // Every attempt is for the oldest pending chunk; none was added.
    expect(new Set(h.calls.map((c) => c.dateIni))).toEqual(new Set(['20260310100000']));
    expect(h.totals()?.totals.ad_chatbot).toBe(0);
    outage = false;
    const before = h.calls.length;
    await advanceTo(Date.parse('2026-03-10T19:30:00Z'));
    expect(h.calls.slice(before).map((c) => c.dateIni)).toEqual(['20260310100000', '20260310110000', '20260310120000', '20260310130000']);
    expect(h.totals()).toMatchObject({ settledUntilMs: Date.parse('2026-03-10T19:00:00Z'), totals: truth('20260310100000', '20260310135959') });
    const warned = h.logs().filter((l) => l.level === 'warn' && l.msg === 'counter chunk failed; it stays pending and is tried again after an interval');
    expect(warned.length).toBeGreaterThan(0);
    for (const line of warned) expect(line).toMatchObject({ account: 'co', counters: true, outcome: 'server_error', date_ini: '20260310100000' });
  });

  it('wait out a quota pause and catch up after local midnight, adding every chunk exactly once', async () => {
    let quotaSpentAt: number | undefined;
    const h = setup([account()], (call) => {
      // The quota runs out at 14:00 Bogotá and comes back at midnight.
      if (call.at >= Date.parse('2026-03-10T19:00:00Z') && call.at < Date.parse('2026-03-11T05:00:00Z')) {
        quotaSpentAt ??= call.at;
        return 'quota_exceeded';
      }
      return undefined;
    });
    h.poller.start();
    await advanceTo(Date.parse('2026-03-11T04:59:59Z'));
    const paused = h.calls.filter((c) => c.at >= Date.parse('2026-03-10T19:00:00Z'));
    expect(paused).toHaveLength(1); // the call that met the quota; none after it that day
    expect(h.totals()?.settledUntilMs).toBe(Date.parse('2026-03-10T18:00:00Z'));
    await advanceTo(Date.parse('2026-03-11T05:01:00Z'));
    const resumed = h.calls.filter((c) => c.at >= Date.parse('2026-03-11T05:00:00Z'));
    // 13:00 (the chunk that met the quota) to 22:00, in order, once each; 23:00's settles at 00:15.
    expect(resumed.map((c) => c.dateIni)).toEqual(Array.from({ length: 10 }, (_, i) => `20260310${String(13 + i).padStart(2, '0')}0000`));
    expect(h.totals()).toMatchObject({ settledUntilMs: Date.parse('2026-03-11T04:00:00Z'), totals: truth('20260310100000', '20260310225959') });
    expect(quotaSpentAt).toBe(Date.parse('2026-03-10T19:15:00Z'));
  });

  it('keep their totals across a reload that leaves them alone, bridge to the new grid when the step changes, and go with counter_step 0', async () => {
    const h = setup([account()]);
    h.poller.start();
    await advanceTo(Date.parse('2026-03-10T17:20:00Z'));
    const kept = h.totals()!;
    expect(kept.settledUntilMs).toBe(Date.parse('2026-03-10T17:00:00Z'));

    // Another timeout only: same counters, same schedule.
    h.poller.update([account({ timeoutMs: 20_000 })]);
    expect(h.totals()).toEqual(kept);

    // 12:00 settled; now 15-minute chunks from there on, with a 5m delay.
    h.poller.update([account({ counterStepMs: 15 * MINUTE, counterDelayMs: 5 * MINUTE })]);
    const before = h.calls.length;
    await advanceTo(Date.parse('2026-03-10T17:49:59Z'));
    expect(h.calls.slice(before).map((c) => [c.dateIni, c.dateEnd])).toEqual([
      ['20260310120000', '20260310121459'],
      ['20260310121500', '20260310122959'],
    ]);
    expect(h.totals()?.totals).toEqual(truth('20260310100000', '20260310122959'));

    h.poller.update([account({ counterStepMs: 0 })]);
    expect(h.totals()).toBeUndefined();
    const after = h.calls.length;
    await advanceTo(Date.parse('2026-03-10T20:00:00Z'));
    expect(h.calls).toHaveLength(after);
  });

  it('share the token\'s concurrency limit with the windows, and count every account on its own', async () => {
    const shared = new Secret('shared');
    const h = setup([account({ name: 'co', token: shared }), account({ name: 'mx', token: shared, timeZone: 'America/Mexico_City' })]);
    h.poller.start();
    await advanceTo(Date.parse('2026-03-10T18:30:00Z'));
    expect(h.calls.filter((c) => c.account === 'co').map((c) => c.dateIni)).toEqual(['20260310100000', '20260310110000', '20260310120000']);
    // Mexico City is UTC-6: 10:20 Bogotá is 09:20 there.
    expect(h.calls.filter((c) => c.account === 'mx').map((c) => c.dateIni)).toEqual(['20260310090000', '20260310100000', '20260310110000']);
    expect(h.poller.inFlight('co')).toBe(0);
    expect(bogota('2026-03-10T15:00:00Z')).toBe('20260310100000');
  });
});
