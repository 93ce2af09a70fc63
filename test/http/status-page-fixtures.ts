// Status reports in every state, for the status page's unit tests and app.test.ts; hand-written, as the lead's builder would make them.
import type { AccountStatus, StatusReport, WindowStatus } from '../../src/status/report.js';

export const NOW = '2024-05-01T17:30:00.000Z';

/** Hostile texts, as Wolkvox (error messages) or a careless config (account names) might hold them. */
export const HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>", '&lt;b&gt;'] as const;

export function okWindow(overrides: Partial<WindowStatus> = {}): WindowStatus {
  return {
    window: '1h',
    state: 'ok',
    lastOutcome: 'success',
    lastSuccess: '2024-05-01T17:27:00.000Z',
    lastCallSeconds: 0.42,
    nextPoll: '2024-05-01T17:32:00.000Z',
    bounds: { dateIni: '20240501113000', dateEnd: '20240501122959' },
    values: {
      adBot: 12,
      adAgent: 3,
      postBot: 40,
      postAgent: 9,
      totalBot: 70,
      totalAgent: 14,
      botContainment: 70 / 84,
      bounds: { dateIni: '20240501113000', dateEnd: '20240501122959' },
    },
    ...overrides,
  };
}

export function account(overrides: Partial<AccountStatus> = {}): AccountStatus {
  return {
    name: 'colombia',
    tokenFingerprint: '0123456789abcdef',
    timeZone: 'America/Bogota',
    plannedDailyCalls: 600,
    dailyQuota: 1000,
    dailyQuotaAssumed: true,
    callsToday: { success: 210, no_data: 4 },
    windows: [okWindow()],
    ...overrides,
  };
}

export function report(accounts: AccountStatus[], overrides: Partial<StatusReport['exporter']> = {}): StatusReport {
  return { exporter: { version: '9.8.7', revision: 'abc1234', now: NOW, ready: true, ...overrides }, accounts };
}

/** One account per state: ok, failing, stale, paused and pending, with counters on the first. */
export function everyState(): StatusReport {
  return report([
    account({
      counters: { settledUntil: '2024-05-01T16:00:00.000Z', stepSeconds: 3600, delaySeconds: 600 },
      windows: [
        okWindow(),
        okWindow({
          window: 'today',
          lastOutcome: 'no_data',
          bounds: { dateIni: '20240501000000', dateEnd: '20240501122959' },
          values: {
            adBot: 0,
            adAgent: 0,
            postBot: 0,
            postAgent: 0,
            totalBot: 0,
            totalAgent: 0,
            botContainment: null,
            bounds: { dateIni: '20240501000000', dateEnd: '20240501122959' },
          },
        }),
      ],
    }),
    account({
      name: 'mexico',
      tokenFingerprint: 'fedcba9876543210',
      timeZone: 'America/Mexico_City',
      dailyQuota: 2000,
      dailyQuotaAssumed: false,
      callsToday: { success: 12, server_error: 3 },
      // The failed call asked for a later hour than the values served were counted over.
      windows: [
        okWindow({
          state: 'failing',
          lastOutcome: 'server_error',
          lastError: 'HTTP 503',
          lastSuccess: '2024-05-01T17:10:00.000Z',
          lastCallSeconds: 12.34,
          bounds: { dateIni: '20240501120000', dateEnd: '20240501125959' },
        }),
      ],
    }),
    account({
      name: 'peru',
      tokenFingerprint: '1111222233334444',
      callsToday: { unauthorized: 5 },
      windows: [
        {
          window: '1h',
          state: 'stale',
          lastOutcome: 'unauthorized',
          lastError: 'Wolkvox rejected the token (PLEASE VALIDATE TOKEN)',
          lastCallSeconds: 0.1,
          nextPoll: '2024-05-01T17:35:00.000Z',
        },
      ],
    }),
    account({
      name: 'chile',
      tokenFingerprint: '5555666677778888',
      plannedDailyCalls: 1200,
      callsToday: { success: 1000, quota_exceeded: 1 },
      quotaPausedUntil: '2024-05-02T04:00:00.000Z',
      windows: [{ window: '1h', state: 'paused', lastOutcome: 'quota_exceeded', lastError: 'HTTP 403: "TOKEN LIMIT EXCEEDED"', lastSuccess: '2024-05-01T15:00:00.000Z' }],
    }),
    account({ name: 'argentina', tokenFingerprint: '9999aaaabbbbcccc', callsToday: {}, windows: [{ window: '1h', state: 'pending', nextPoll: '2024-05-01T17:30:20.000Z' }] }),
  ]);
}
