// API calls per account since its own local midnight, by outcome, for the status page; counted in memory.
import type { Outcome } from '../wolkvox/outcome.js';
import { nextLocalMidnight } from '../wolkvox/window.js';

type Day = { timeZone: string; endsAtMs: number; counts: Partial<Record<Outcome, number>> };

export type CallsToday = ReturnType<typeof createCallsToday>;

/**
 * Wolkvox counts its quota per day, so the status page counts calls the same way: from the
 * account's local midnight. A count whose day has ended reads as empty; no timer resets it.
 */
export function createCallsToday() {
  const zones = new Map<string, string>();
  const days = new Map<string, Day>();

  const current = (account: string, nowMs: number): Day | undefined => {
    const day = days.get(account);
    return day && nowMs < day.endsAtMs && day.timeZone === zones.get(account) ? day : undefined;
  };

  return {
    /** The accounts in force and their time zones; removed accounts are forgotten. */
    sync(accounts: ReadonlyArray<{ name: string; timeZone: string }>): void {
      zones.clear();
      for (const { name, timeZone } of accounts) zones.set(name, timeZone);
      for (const name of [...days.keys()]) if (!zones.has(name)) days.delete(name);
    },

    record(account: string, outcome: Outcome, atMs: number): void {
      const timeZone = zones.get(account);
      if (timeZone === undefined) return;
      let day = current(account, atMs);
      if (!day) {
        day = { timeZone, endsAtMs: nextLocalMidnight(atMs, timeZone), counts: {} };
        days.set(account, day);
      }
      day.counts[outcome] = (day.counts[outcome] ?? 0) + 1;
    },

    /** Calls since the account's last local midnight, by outcome; only outcomes that happened. */
    of(account: string, nowMs: number): Partial<Record<Outcome, number>> {
      return { ...current(account, nowMs)?.counts };
    },
  };
}
