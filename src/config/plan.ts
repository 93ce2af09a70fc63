// How many API calls a config spends per day, and the start-up warnings about it; pure.
import { isClosedWindow } from './duration.js';
import type { AccountConfig } from './schema.js';
import { groupByToken } from './tokens.js';

const DAY_MS = 86_400_000;
/** Wolkvox grants 1,000 calls a day per license; an unknown quota is assumed to be one license. */
export const DEFAULT_DAILY_QUOTA = 1_000;
/** Wolkvox suggests polling no more often than this (wolkvox-api-facts: Limits). */
export const SUGGESTED_MIN_INTERVAL_MS = 5 * 60_000;

/**
 * Calls per day this account makes when every poll succeeds first time: each window 86400 /
 * interval, except closed ones (`yesterday`, `last_week`, `last_month`), fetched once per period,
 * which count 1 at most; plus one call per counter chunk, 86400 / counter step (spec: History).
 */
export function plannedDailyCalls(account: Pick<AccountConfig, 'windows' | 'intervalMs' | 'counterStepMs'>): number {
  const perWindow = DAY_MS / account.intervalMs;
  const windows = account.windows.reduce((sum, window) => sum + (isClosedWindow(window) ? 1 : perWindow), 0);
  return windows + (account.counterStepMs > 0 ? DAY_MS / account.counterStepMs : 0);
}

/** Human-readable warnings for the start-up log (spec: --collector.interval). */
export function planWarnings(accounts: readonly AccountConfig[]): string[] {
  const warnings: string[] = [];
  for (const account of accounts) {
    if (account.intervalMs < SUGGESTED_MIN_INTERVAL_MS) {
      warnings.push(
        `account ${account.name}: interval ${account.intervalMs / 1000}s is below the 5m Wolkvox suggests; each window makes ${Math.round(DAY_MS / account.intervalMs)} calls a day`,
      );
    }
  }
  // Accounts that share a token share its quota.
  for (const members of groupByToken(accounts).values()) {
    const planned = Math.ceil(members.reduce((sum, account) => sum + plannedDailyCalls(account), 0));
    // The quota belongs to the token: an account that does not state it does not lower it to the default.
    const stated = members.flatMap((account) => (account.dailyQuota !== undefined ? [account.dailyQuota] : []));
    const known = stated.length > 0;
    const quota = known ? Math.min(...stated) : DEFAULT_DAILY_QUOTA;
    if (planned > quota) {
      const names = members.map((account) => account.name).join(', ');
      const source = known
        ? `the daily quota of ${quota}`
        : `${quota}, the daily quota of one license (set --wolkvox.daily-quota or daily_quota if the token has more)`;
      warnings.push(`account ${names}: ${planned} planned calls a day exceed ${source}`);
    }
  }
  return warnings;
}
