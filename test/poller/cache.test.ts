// SnapshotCache: what a scrape may show per account × window (spec: staleness, quota pause).
import { describe, expect, it } from 'vitest';
import { createSnapshotCache } from '../../src/poller/cache.js';
import { zeroCounts, type Counts } from '../../src/wolkvox/response.js';
import type { WindowBounds } from '../../src/wolkvox/window.js';

const MIN = 60_000;
const T0 = Date.UTC(2024, 5, 15, 17, 0, 0);
const COUNTS: Counts = { ad_chatbot: 1, ad_agents: 2, post_chatbot: 3, post_agents: 4, total_chatbot: 5, total_agents: 6 };
const BOUNDS: WindowBounds = { startMs: T0 - 60 * MIN, endMs: T0, dateIni: '20240615110000', dateEnd: '20240615120000' };
const LATER_COUNTS: Counts = { ...COUNTS, total_agents: 60 };
const LATER_BOUNDS: WindowBounds = { startMs: T0 - 55 * MIN, endMs: T0 + 5 * MIN, dateIni: '20240615110500', dateEnd: '20240615120500' };

function cacheWith(...windows: Array<[string, string, number]>) {
  const cache = createSnapshotCache();
  for (const [account, window, staleness] of windows) cache.track(account, window, staleness);
  return cache;
}

describe('createSnapshotCache', () => {
  it('shows nothing for a tracked window until its first poll ends', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN]);
    expect(cache.view(T0)).toEqual([]);
    expect(cache.accounts()).toEqual([{ account: 'co', quotaPaused: false }]);
  });

  it('shows a success with its counts, bounds and time', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN]);
    cache.recordSuccess('co', '1h', COUNTS, BOUNDS, T0);
    expect(cache.view(T0)).toEqual([
      { account: 'co', window: '1h', up: true, lastSuccessMs: T0, fresh: { counts: COUNTS, bounds: BOUNDS } },
    ]);
    expect(cache.lastBounds('co', '1h')).toEqual(BOUNDS);
  });

  it('replaces the values with the next success', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN]);
    cache.recordSuccess('co', '1h', COUNTS, BOUNDS, T0);
    cache.recordSuccess('co', '1h', LATER_COUNTS, LATER_BOUNDS, T0 + 5 * MIN);
    expect(cache.view(T0 + 5 * MIN)).toEqual([
      { account: 'co', window: '1h', up: true, lastSuccessMs: T0 + 5 * MIN, fresh: { counts: LATER_COUNTS, bounds: LATER_BOUNDS } },
    ]);
  });

  it('shows a first failure as down, with no values and no last success', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN]);
    cache.recordFailure('co', '1h');
    expect(cache.view(T0)).toEqual([{ account: 'co', window: '1h', up: false }]);
    expect(cache.lastBounds('co', '1h')).toBeUndefined();
  });

  it('keeps the last good values after a failure until max-staleness, then hides them but keeps up and lastSuccess', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN]);
    cache.recordSuccess('co', '1h', COUNTS, BOUNDS, T0);
    cache.recordFailure('co', '1h');
    const stale = { account: 'co', window: '1h', up: false, lastSuccessMs: T0 };
    expect(cache.view(T0 + 5 * MIN)).toEqual([{ ...stale, fresh: { counts: COUNTS, bounds: BOUNDS } }]);
    // Exactly max-staleness old: still served.
    expect(cache.view(T0 + 15 * MIN)).toEqual([{ ...stale, fresh: { counts: COUNTS, bounds: BOUNDS } }]);
    // One millisecond more: hidden, never zeros.
    expect(cache.view(T0 + 15 * MIN + 1)).toEqual([stale]);
    expect(cache.view(T0 + 24 * 60 * MIN)).toEqual([stale]);
  });

  it('hides values past max-staleness even while up (a poller that stopped polling)', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN]);
    cache.recordSuccess('co', '1h', COUNTS, BOUNDS, T0);
    expect(cache.view(T0 + 16 * MIN)).toEqual([{ account: 'co', window: '1h', up: true, lastSuccessMs: T0 }]);
  });

  it('comes back up with the new values after a failure', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN]);
    cache.recordSuccess('co', '1h', COUNTS, BOUNDS, T0);
    cache.recordFailure('co', '1h');
    cache.recordSuccess('co', '1h', LATER_COUNTS, LATER_BOUNDS, T0 + 30 * MIN);
    expect(cache.view(T0 + 30 * MIN)).toEqual([
      { account: 'co', window: '1h', up: true, lastSuccessMs: T0 + 30 * MIN, fresh: { counts: LATER_COUNTS, bounds: LATER_BOUNDS } },
    ]);
  });

  it('uses each window its own max-staleness', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN], ['co', 'today', 30 * MIN]);
    cache.recordSuccess('co', '1h', COUNTS, BOUNDS, T0);
    cache.recordSuccess('co', 'today', COUNTS, BOUNDS, T0);
    const view = cache.view(T0 + 20 * MIN);
    expect(view.map((v) => [v.window, v.fresh !== undefined])).toEqual([
      ['1h', false],
      ['today', true],
    ]);
  });

  it('forces up to false on every window of a quota-paused account, and only that account', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN], ['co', 'today', 15 * MIN], ['mx', 'today', 15 * MIN]);
    for (const [account, window] of [['co', '1h'], ['co', 'today'], ['mx', 'today']] as const) {
      cache.recordSuccess(account, window, COUNTS, BOUNDS, T0);
    }
    cache.setQuotaPaused('co', true);
    expect(cache.isQuotaPaused('co')).toBe(true);
    expect(cache.isQuotaPaused('mx')).toBe(false);
    expect(cache.accounts()).toEqual([
      { account: 'co', quotaPaused: true },
      { account: 'mx', quotaPaused: false },
    ]);
    expect(cache.view(T0 + MIN).map((v) => [v.account, v.window, v.up, v.fresh !== undefined])).toEqual([
      ['co', '1h', false, true],
      ['co', 'today', false, true],
      ['mx', 'today', true, true],
    ]);
    cache.setQuotaPaused('co', false);
    expect(cache.isQuotaPaused('co')).toBe(false);
    expect(cache.view(T0 + MIN).every((v) => v.up)).toBe(true);
  });

  it('ignores a quota pause for an account it does not track', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN]);
    cache.setQuotaPaused('ghost', true);
    expect(cache.isQuotaPaused('ghost')).toBe(false);
    expect(cache.accounts()).toEqual([{ account: 'co', quotaPaused: false }]);
  });

  it('untrack removes the window, and the account with its last window', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN], ['co', 'today', 15 * MIN], ['mx', 'today', 15 * MIN]);
    cache.recordSuccess('co', '1h', COUNTS, BOUNDS, T0);
    cache.recordSuccess('co', 'today', COUNTS, BOUNDS, T0);
    cache.recordSuccess('mx', 'today', COUNTS, BOUNDS, T0);
    cache.setQuotaPaused('co', true);
    cache.untrack('co', '1h');
    expect(cache.view(T0).map((v) => `${v.account}/${v.window}`)).toEqual(['co/today', 'mx/today']);
    expect(cache.lastBounds('co', '1h')).toBeUndefined();
    expect(cache.isQuotaPaused('co')).toBe(true);
    cache.untrack('co', 'today');
    expect(cache.view(T0).map((v) => `${v.account}/${v.window}`)).toEqual(['mx/today']);
    expect(cache.accounts()).toEqual([{ account: 'mx', quotaPaused: false }]);
    expect(cache.isQuotaPaused('co')).toBe(false);
    // Results that arrive for an untracked window are dropped.
    cache.recordSuccess('co', '1h', COUNTS, BOUNDS, T0);
    cache.recordFailure('co', 'today');
    cache.confirm('co', '1h', T0);
    expect(cache.view(T0).map((v) => `${v.account}/${v.window}`)).toEqual(['mx/today']);
  });

  it('keeps what it knows when a window is tracked again (reload), with the new max-staleness', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN]);
    cache.recordSuccess('co', '1h', COUNTS, BOUNDS, T0);
    cache.setQuotaPaused('co', true);
    cache.track('co', '1h', 60 * MIN);
    expect(cache.isQuotaPaused('co')).toBe(true);
    expect(cache.view(T0 + 30 * MIN)).toEqual([
      { account: 'co', window: '1h', up: false, lastSuccessMs: T0, fresh: { counts: COUNTS, bounds: BOUNDS } },
    ]);
  });

  it('confirm refreshes a closed window whose values are known', () => {
    const cache = cacheWith(['co', 'yesterday', 15 * MIN]);
    cache.recordSuccess('co', 'yesterday', COUNTS, BOUNDS, T0);
    cache.recordFailure('co', 'yesterday');
    cache.confirm('co', 'yesterday', T0 + 60 * MIN);
    expect(cache.view(T0 + 70 * MIN)).toEqual([
      { account: 'co', window: 'yesterday', up: true, lastSuccessMs: T0 + 60 * MIN, fresh: { counts: COUNTS, bounds: BOUNDS } },
    ]);
  });

  it('confirm does nothing for a window that never succeeded', () => {
    const cache = cacheWith(['co', 'yesterday', 15 * MIN]);
    cache.confirm('co', 'yesterday', T0);
    expect(cache.view(T0)).toEqual([]);
    cache.recordFailure('co', 'yesterday');
    cache.confirm('co', 'yesterday', T0);
    expect(cache.view(T0)).toEqual([{ account: 'co', window: 'yesterday', up: false }]);
  });

  it('keeps zeros from a no-data answer as values, not as missing series', () => {
    const cache = cacheWith(['co', '1h', 15 * MIN]);
    cache.recordSuccess('co', '1h', zeroCounts(), BOUNDS, T0);
    expect(cache.view(T0)[0]?.fresh?.counts).toEqual(zeroCounts());
  });

  it('keeps accounts and windows apart, even with look-alike names', () => {
    const cache = cacheWith(['a', 'b', 15 * MIN], ['a b', '1h', 15 * MIN], ['ab', '1h', 15 * MIN]);
    cache.recordSuccess('a', 'b', COUNTS, BOUNDS, T0);
    cache.recordFailure('ab', '1h');
    expect(cache.view(T0).map((v) => [v.account, v.window, v.up])).toEqual([
      ['a', 'b', true],
      ['ab', '1h', false],
    ]);
  });
});

describe('records (the status page)', () => {
  it('lists every tracked window with its last call; a call alone does not change version()', () => {
    const cache = createSnapshotCache();
    cache.track('co', '1h', 60_000);
    cache.track('co', 'today', 60_000);
    const before = cache.version();
    cache.recordCall('co', '1h', { atMs: 1, outcome: 'timeout', seconds: 60, dateIni: 'a', dateEnd: 'b', message: 'no complete answer' });
    cache.recordCall('gone', '1h', { atMs: 1, outcome: 'timeout', seconds: 60, dateIni: 'a', dateEnd: 'b' });
    expect(cache.version()).toBe(before);
    expect(cache.records().map((r) => [r.window, r.polled, r.lastCall?.outcome])).toEqual([
      ['1h', false, 'timeout'],
      ['today', false, undefined],
    ]);
  });
});
