// The status report: states, values, bounds, quota and counters, assembled from the cache and the poller's schedule.
import { describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { createSnapshotCache } from '../../src/poller/cache.js';
import { createCounterStore } from '../../src/poller/counters.js';
import { botContainment, windowState } from '../../src/status/report.js';
import { buildStatus, type StatusSources } from '../../src/status/status.js';
import type { Counts } from '../../src/wolkvox/response.js';
import { windowSpec } from '../support/windows.js';

const NOW = Date.parse('2026-03-10T15:00:00Z');
const MINUTE = 60_000;
const COUNTS: Counts = { ad_chatbot: 3, ad_agents: 1, post_chatbot: 2, post_agents: 2, total_chatbot: 5, total_agents: 3 };
const BOUNDS = { startMs: NOW - 3_600_000, endMs: NOW, dateIni: '20260310090000', dateEnd: '20260310095959' };

function account(name: string, overrides: Partial<Omit<AccountConfig, 'windows'>> & { windows?: string[] } = {}): AccountConfig {
  const { windows = ['1h'], ...rest } = overrides;
  return {
    name,
    baseUrl: 'http://wolkvox.invalid',
    token: new Secret(`very-secret-token-${name}`),
    timeZone: 'America/Bogota',
    intervalMs: 5 * MINUTE,
    maxStalenessMs: 15 * MINUTE,
    timeoutMs: 60_000,
    maxConcurrency: 1,
    counterStepMs: 0,
    counterDelayMs: 0,
    ...rest,
    windows: windows.map(windowSpec),
  };
}

function sources(accounts: AccountConfig[], setup: (cache: ReturnType<typeof createSnapshotCache>) => void, extra: Partial<StatusSources> = {}): StatusSources {
  const cache = createSnapshotCache();
  for (const a of accounts) for (const w of a.windows) cache.track(a.name, w.label, a.maxStalenessMs);
  setup(cache);
  return {
    nowMs: NOW,
    build: { version: '1.2.3', revision: 'abc' },
    ready: true,
    accounts,
    windows: cache.records(),
    counters: [],
    nextPollAt: () => NOW + MINUTE,
    quotaPausedUntil: () => undefined,
    callsToday: () => ({}),
    ...extra,
  };
}

describe('windowState', () => {
  it('paused wins, then pending, then ok, then failing while values are fresh, else stale', () => {
    expect(windowState({ polled: true, up: true, fresh: true, paused: true })).toBe('paused');
    expect(windowState({ polled: false, up: false, fresh: false, paused: false })).toBe('pending');
    expect(windowState({ polled: true, up: true, fresh: true, paused: false })).toBe('ok');
    expect(windowState({ polled: true, up: false, fresh: true, paused: false })).toBe('failing');
    expect(windowState({ polled: true, up: false, fresh: false, paused: false })).toBe('stale');
  });

  it('botContainment is null without chats', () => {
    expect(botContainment(0, 0)).toBeNull();
    expect(botContainment(3, 1)).toBe(0.75);
  });
});

describe('buildStatus', () => {
  it('shows a healthy window with its values, containment, bounds, last call and next poll', () => {
    const a = account('co');
    const report = buildStatus(
      sources([a], (cache) => {
        cache.recordCall('co', '1h', { atMs: NOW - 1000, outcome: 'success', seconds: 0.4, dateIni: BOUNDS.dateIni, dateEnd: BOUNDS.dateEnd });
        cache.recordSuccess('co', '1h', COUNTS, BOUNDS, NOW - 1000);
      }),
    );
    expect(report.exporter).toEqual({ version: '1.2.3', revision: 'abc', now: '2026-03-10T15:00:00.000Z', ready: true });
    const [status] = report.accounts;
    expect(status).toMatchObject({
      name: 'co',
      tokenFingerprint: a.token.fingerprint(),
      timeZone: 'America/Bogota',
      plannedDailyCalls: 288,
      dailyQuota: 1000,
      dailyQuotaAssumed: true,
      callsToday: {},
    });
    expect(status!.quotaPausedUntil).toBeUndefined();
    expect(status!.counters).toBeUndefined();
    expect(status!.windows).toEqual([
      {
        window: '1h',
        state: 'ok',
        lastOutcome: 'success',
        lastCallSeconds: 0.4,
        lastSuccess: '2026-03-10T14:59:59.000Z',
        nextPoll: '2026-03-10T15:01:00.000Z',
        bounds: { dateIni: BOUNDS.dateIni, dateEnd: BOUNDS.dateEnd },
        values: {
          adBot: 3,
          adAgent: 1,
          postBot: 2,
          postAgent: 2,
          totalBot: 5,
          totalAgent: 3,
          botContainment: 0.625,
          bounds: { dateIni: BOUNDS.dateIni, dateEnd: BOUNDS.dateEnd },
        },
      },
    ]);
  });

  it('a failing window keeps its values and shows the error; once past max-staleness it is stale without values', () => {
    const a = account('co');
    const build = (nowMs: number) =>
      buildStatus(
        sources(
          [a],
          (cache) => {
            cache.recordSuccess('co', '1h', COUNTS, BOUNDS, NOW - 10 * MINUTE);
            cache.recordCall('co', '1h', { atMs: NOW, outcome: 'server_error', seconds: 2, dateIni: '20260310100000', dateEnd: '20260310105959', message: 'HTTP 500' });
            cache.recordFailure('co', '1h');
          },
          { nowMs },
        ),
      ).accounts[0]!.windows[0]!;
    const failing = build(NOW);
    expect(failing).toMatchObject({ state: 'failing', lastOutcome: 'server_error', lastError: 'HTTP 500', bounds: { dateIni: '20260310100000' } });
    expect(failing.values?.adBot).toBe(3);
    // The values served are those of the last success, counted over its bounds, not the failed call's.
    expect(failing.values?.bounds).toEqual({ dateIni: BOUNDS.dateIni, dateEnd: BOUNDS.dateEnd });
    const stale = build(NOW + 5 * MINUTE + 1);
    expect(stale.state).toBe('stale');
    expect(stale.values).toBeUndefined();
    expect(stale.lastSuccess).toBe('2026-03-10T14:50:00.000Z');
  });

  it('a window not polled yet is pending, with its next poll and nothing else', () => {
    const report = buildStatus(sources([account('co')], () => {}, { ready: false }));
    expect(report.exporter.ready).toBe(false);
    expect(report.accounts[0]!.windows[0]).toEqual({ window: '1h', state: 'pending', nextPoll: '2026-03-10T15:01:00.000Z' });
  });

  it('a paused account shows until when, and its windows paused with no next poll', () => {
    const until = Date.parse('2026-03-11T05:00:00Z');
    const report = buildStatus(
      sources(
        [account('co', { windows: ['1h', 'today'] })],
        (cache) => {
          cache.recordSuccess('co', '1h', COUNTS, BOUNDS, NOW - MINUTE);
          cache.setQuotaPaused('co', true);
        },
        { quotaPausedUntil: () => until },
      ),
    );
    const [status] = report.accounts;
    expect(status!.quotaPausedUntil).toBe('2026-03-11T05:00:00.000Z');
    expect(status!.windows.map((w) => [w.window, w.state, w.nextPoll])).toEqual([
      ['1h', 'paused', undefined],
      ['today', 'paused', undefined],
    ]);
    // The values still served are still shown.
    expect(status!.windows[0]!.values?.totalBot).toBe(5);
  });

  it('shows calls today, the configured quota, counters, and the shard', () => {
    const a = account('co', { dailyQuota: 2000, counterStepMs: 3_600_000, counterDelayMs: 15 * MINUTE });
    const counters = createCounterStore();
    counters.track('co', NOW - 3_600_000);
    const report = buildStatus(
      sources([a], () => {}, {
        counters: counters.view(),
        callsToday: (name) => (name === 'co' ? { success: 7, timeout: 1 } : {}),
        shard: { index: 1, total: 3 },
      }),
    );
    expect(report.exporter.shard).toEqual({ index: 1, total: 3 });
    expect(report.accounts[0]).toMatchObject({
      dailyQuota: 2000,
      dailyQuotaAssumed: false,
      plannedDailyCalls: 288 + 24,
      callsToday: { success: 7, timeout: 1 },
      counters: { settledUntil: '2026-03-10T14:00:00.000Z', stepSeconds: 3600, delaySeconds: 900 },
    });
  });

  it('lists accounts and windows in config order, and never holds the token', () => {
    const accounts = [account('b', { windows: ['today', '1h'] }), account('a')];
    const report = buildStatus(sources(accounts, () => {}));
    expect(report.accounts.map((s) => [s.name, s.windows.map((w) => w.window)])).toEqual([
      ['b', ['today', '1h']],
      ['a', ['1h']],
    ]);
    expect(JSON.stringify(report)).not.toContain('very-secret-token');
  });
});
