// Assembles the status report (status/report.ts) from the cache, the counters and the poller's schedule; pure.
import { DEFAULT_DAILY_QUOTA, plannedDailyCalls } from '../config/plan.js';
import type { AccountConfig } from '../config/schema.js';
import type { WindowRecord } from '../poller/cache.js';
import type { CounterView } from '../poller/counters.js';
import type { Outcome } from '../wolkvox/outcome.js';
import type { BuildInfo } from '../version.js';
import { botContainment, windowState, type AccountStatus, type StatusReport, type WindowStatus } from './report.js';

export type StatusSources = {
  nowMs: number;
  build: BuildInfo;
  ready: boolean;
  shard?: { index: number; total: number };
  /** The accounts this process polls, in config order. */
  accounts: readonly AccountConfig[];
  /** Every tracked window (SnapshotCache.records()). */
  windows: readonly WindowRecord[];
  /** Every account's counters (CounterStore.view()). */
  counters: readonly CounterView[];
  nextPollAt(account: string, window: string): number | undefined;
  quotaPausedUntil(account: AccountConfig): number | undefined;
  callsToday(account: string, nowMs: number): Partial<Record<Outcome, number>>;
};

const iso = (ms: number): string => new Date(ms).toISOString();

function windowStatus(record: WindowRecord | undefined, label: string, paused: boolean, sources: StatusSources, account: string): WindowStatus {
  const { nowMs } = sources;
  const lastSuccessMs = record?.lastSuccessMs;
  const fresh =
    record?.counts !== undefined && record.bounds !== undefined && lastSuccessMs !== undefined && nowMs - lastSuccessMs <= record.maxStalenessMs
      ? { counts: record.counts, bounds: record.bounds }
      : undefined;
  const call = record?.lastCall;
  const nextPoll = paused ? undefined : sources.nextPollAt(account, label);
  // The bounds last asked for; a closed window reused without a call shows the bounds of its values.
  const bounds = call ? { dateIni: call.dateIni, dateEnd: call.dateEnd } : record?.bounds ? { dateIni: record.bounds.dateIni, dateEnd: record.bounds.dateEnd } : undefined;
  return {
    window: label,
    state: windowState({ polled: record?.polled ?? false, up: record?.up ?? false, fresh: fresh !== undefined, paused }),
    ...(call ? { lastOutcome: call.outcome, lastCallSeconds: call.seconds } : {}),
    ...(call?.message !== undefined && !(record?.up ?? false) ? { lastError: call.message } : {}),
    ...(lastSuccessMs !== undefined ? { lastSuccess: iso(lastSuccessMs) } : {}),
    ...(nextPoll !== undefined ? { nextPoll: iso(nextPoll) } : {}),
    ...(bounds ? { bounds } : {}),
    ...(fresh
      ? {
          values: {
            adBot: fresh.counts.ad_chatbot,
            adAgent: fresh.counts.ad_agents,
            postBot: fresh.counts.post_chatbot,
            postAgent: fresh.counts.post_agents,
            totalBot: fresh.counts.total_chatbot,
            totalAgent: fresh.counts.total_agents,
            botContainment: botContainment(fresh.counts.total_chatbot, fresh.counts.total_agents),
            bounds: { dateIni: fresh.bounds.dateIni, dateEnd: fresh.bounds.dateEnd },
          },
        }
      : {}),
  };
}

export function buildStatus(sources: StatusSources): StatusReport {
  const { nowMs } = sources;
  const records = new Map<string, Map<string, WindowRecord>>();
  for (const record of sources.windows) {
    let byWindow = records.get(record.account);
    if (!byWindow) records.set(record.account, (byWindow = new Map()));
    byWindow.set(record.window, record);
  }
  const counters = new Map(sources.counters.map((view) => [view.account, view]));

  const accounts = sources.accounts.map((account): AccountStatus => {
    const pausedUntil = sources.quotaPausedUntil(account);
    const settled = counters.get(account.name);
    return {
      name: account.name,
      tokenFingerprint: account.token.fingerprint(),
      timeZone: account.timeZone,
      plannedDailyCalls: Math.ceil(plannedDailyCalls(account)),
      dailyQuota: account.dailyQuota ?? DEFAULT_DAILY_QUOTA,
      dailyQuotaAssumed: account.dailyQuota === undefined,
      callsToday: sources.callsToday(account.name, nowMs),
      ...(pausedUntil !== undefined ? { quotaPausedUntil: iso(pausedUntil) } : {}),
      ...(settled && account.counterStepMs > 0
        ? { counters: { settledUntil: iso(settled.settledUntilMs), stepSeconds: account.counterStepMs / 1000, delaySeconds: account.counterDelayMs / 1000 } }
        : {}),
      windows: account.windows.map((spec) =>
        windowStatus(records.get(account.name)?.get(spec.label), spec.label, pausedUntil !== undefined, sources, account.name),
      ),
    };
  });

  return {
    exporter: {
      version: sources.build.version,
      revision: sources.build.revision,
      now: iso(nowMs),
      ready: sources.ready,
      ...(sources.shard ? { shard: sources.shard } : {}),
    },
    accounts,
  };
}
