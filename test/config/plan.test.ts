// Planned daily calls and the start-up warnings about interval and quota (spec: --collector.interval).
import { describe, expect, it } from 'vitest';
import type { WindowSpec } from '../../src/config/duration.js';
import { DEFAULT_DAILY_QUOTA, plannedDailyCalls, planWarnings, SUGGESTED_MIN_INTERVAL_MS } from '../../src/config/plan.js';
import type { AccountConfig } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';

const MIN = 60_000;
const H1: WindowSpec = { kind: 'duration', label: '1h', durationMs: 3_600_000 };
const H24: WindowSpec = { kind: 'duration', label: '24h', durationMs: 86_400_000 };
const D7: WindowSpec = { kind: 'duration', label: '7d', durationMs: 7 * 86_400_000 };
const TODAY: WindowSpec = { kind: 'today', label: 'today' };
const YESTERDAY: WindowSpec = { kind: 'yesterday', label: 'yesterday' };
const WEEK: WindowSpec = { kind: 'week', label: 'week' };
const MONTH: WindowSpec = { kind: 'month', label: 'month' };
const LAST_WEEK: WindowSpec = { kind: 'last_week', label: 'last_week' };
const LAST_MONTH: WindowSpec = { kind: 'last_month', label: 'last_month' };

function account(name: string, overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    name,
    server: '0032',
    baseUrl: 'https://wv0032.wolkvox.com',
    token: new Secret(`tok-${name}`),
    timeZone: 'America/Bogota',
    windows: [H1, TODAY],
    intervalMs: 5 * MIN,
    maxStalenessMs: 15 * MIN,
    timeoutMs: 60_000,
    maxConcurrency: 1,
    counterStepMs: 0,
    counterDelayMs: 0,
    ...overrides,
  };
}

const ONE_LICENSE = '1000, the daily quota of one license (set --wolkvox.daily-quota or daily_quota if the token has more)';

describe('plannedDailyCalls', () => {
  it.each<[string, WindowSpec[], number, number]>([
    ['2 windows every 5m', [H1, TODAY], 5 * MIN, 576],
    ['3 windows every 5m (wolkvox-api-facts: 864/day)', [H1, H24, TODAY], 5 * MIN, 864],
    ['1 window every 5m', [TODAY], 5 * MIN, 288],
    ['1 window every minute', [H1], MIN, 1440],
    ['1 window every second', [H1], 1_000, 86_400],
    ['1 window every hour', [D7], 60 * MIN, 24],
    ['2 windows every 10m', [H1, TODAY], 10 * MIN, 288],
    ['yesterday alone', [YESTERDAY], 5 * MIN, 1],
    ['yesterday polled every second still counts 1', [YESTERDAY], 1_000, 1],
    ['2 windows and yesterday every 5m', [H1, TODAY, YESTERDAY], 5 * MIN, 577],
    ['1 window every 7m (not a divisor of the day)', [TODAY], 7 * MIN, 86_400_000 / (7 * MIN)],
    ['last_week and last_month count 1 each, like yesterday', [H1, LAST_WEEK, LAST_MONTH], 5 * MIN, 290],
    ['week and month are polled like today', [WEEK, MONTH], 5 * MIN, 576],
  ])('%s: %d ms → %d', (_name, windows, intervalMs, expected) => {
    expect(plannedDailyCalls({ windows, intervalMs, counterStepMs: 0 })).toBeCloseTo(expected, 9);
  });

  it.each([
    ['the defaults: 1h,today every 5m and hourly chunks', [H1, TODAY], 60 * MIN, 600],
    ['chunks of a minute', [H1, TODAY], MIN, 576 + 1440],
    ['daily chunks', [H1, TODAY], 24 * 60 * MIN, 577],
    ['counters off', [H1, TODAY], 0, 576],
  ])('counter chunks add 86400 / step: %s', (_name, windows, counterStepMs, expected) => {
    expect(plannedDailyCalls({ windows, intervalMs: 5 * MIN, counterStepMs })).toBeCloseTo(expected, 9);
  });
});

describe('planWarnings', () => {
  it('says nothing for the defaults (2 windows every 5m, one license)', () => {
    expect(planWarnings([account('co')])).toEqual([]);
    expect(DEFAULT_DAILY_QUOTA).toBe(1000);
    expect(SUGGESTED_MIN_INTERVAL_MS).toBe(5 * MIN);
  });

  it('says nothing at exactly the quota, and warns one call past it', () => {
    expect(planWarnings([account('co', { dailyQuota: 576 })])).toEqual([]);
    expect(planWarnings([account('co', { dailyQuota: 575 })])).toEqual([
      'account co: 576 planned calls a day exceed the daily quota of 575',
    ]);
  });

  it('warns about an interval below 5m, with the calls per window', () => {
    expect(planWarnings([account('co', { windows: [TODAY], intervalMs: MIN, dailyQuota: 10_000 })])).toEqual([
      'account co: interval 60s is below the 5m Wolkvox suggests; each window makes 1440 calls a day',
    ]);
    expect(planWarnings([account('co', { windows: [TODAY], intervalMs: 5 * MIN - 1_000, dailyQuota: 10_000 })])).toEqual([
      'account co: interval 299s is below the 5m Wolkvox suggests; each window makes 289 calls a day',
    ]);
  });

  it('does not warn about an interval of exactly 5m or more', () => {
    expect(planWarnings([account('co', { intervalMs: 5 * MIN })])).toEqual([]);
    expect(planWarnings([account('co', { intervalMs: 60 * MIN })])).toEqual([]);
  });

  it('warns when the planned calls pass one license, 1000 a day, when no quota is set', () => {
    expect(planWarnings([account('co', { windows: [H1, H24, TODAY, D7] })])).toEqual([
      `account co: 1152 planned calls a day exceed ${ONE_LICENSE}`,
    ]);
  });

  it('compares with the configured quota and names it', () => {
    expect(planWarnings([account('co', { windows: [H1, H24, TODAY, D7], dailyQuota: 2000 })])).toEqual([]);
    expect(planWarnings([account('co', { windows: [H1, H24, TODAY, D7], dailyQuota: 1100 })])).toEqual([
      'account co: 1152 planned calls a day exceed the daily quota of 1100',
    ]);
  });

  it('rounds fractional plans up before comparing', () => {
    // 86400 / 86.399 s = 1000.01… calls: over 1000.
    expect(planWarnings([account('co', { windows: [TODAY], intervalMs: 86_399, dailyQuota: 1000 })])).toContain(
      'account co: 1001 planned calls a day exceed the daily quota of 1000',
    );
  });

  it('lets yesterday cost 1 call a day', () => {
    // 3 × 288 + 1 = 865: still under one license.
    expect(planWarnings([account('co', { windows: [H1, H24, TODAY, YESTERDAY] })])).toEqual([]);
  });

  it('adds up accounts that share a token, which share its quota', () => {
    const shared = new Secret('tok-shared');
    const accounts = [
      account('colombia', { token: shared }),
      account('mexico', { token: new Secret('tok-shared') }),
      account('chile', { token: new Secret('tok-own') }),
    ];
    // 576 + 576 = 1152 on the shared token; chile's 576 alone is fine.
    expect(planWarnings(accounts)).toEqual([`account colombia, mexico: 1152 planned calls a day exceed ${ONE_LICENSE}`]);
  });

  it('does not add up accounts with different tokens', () => {
    expect(planWarnings([account('a'), account('b'), account('c')])).toEqual([]);
  });

  it('takes the quota one sharing account states for the whole token', () => {
    const accounts = [
      account('colombia', { token: new Secret('tok-shared'), dailyQuota: 5000 }),
      account('mexico', { token: new Secret('tok-shared') }),
    ];
    expect(planWarnings(accounts)).toEqual([]);
    const busy = [
      account('colombia', { token: new Secret('tok-shared'), dailyQuota: 1100 }),
      account('mexico', { token: new Secret('tok-shared'), dailyQuota: 3000 }),
    ];
    // Two different statements: trust the smaller.
    expect(planWarnings(busy)).toEqual(['account colombia, mexico: 1152 planned calls a day exceed the daily quota of 1100']);
  });

  it('lists interval warnings first, then quota warnings', () => {
    const accounts = [account('fast', { windows: [TODAY], intervalMs: MIN }), account('slow')];
    expect(planWarnings(accounts)).toEqual([
      'account fast: interval 60s is below the 5m Wolkvox suggests; each window makes 1440 calls a day',
      `account fast: 1440 planned calls a day exceed ${ONE_LICENSE}`,
    ]);
  });

  it('never puts a token into a warning', () => {
    const accounts = [
      account('a', { token: new Secret('tok-SENTINEL-9f2'), intervalMs: 1_000 }),
      account('b', { token: new Secret('tok-SENTINEL-9f2'), intervalMs: 1_000 }),
    ];
    const warnings = planWarnings(accounts);
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).not.toContain('SENTINEL');
  });
});
