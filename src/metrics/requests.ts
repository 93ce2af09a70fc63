// API calls per account: how many ended in each outcome, and how long they took; counted in memory, rendered by metrics.ts.
import { OUTCOMES, type Outcome } from '../wolkvox/outcome.js';

/** API calls take up to ~60 s (wolkvox-api-facts: Limits). */
export const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60] as const;

export type AccountRequests = {
  account: string;
  /** Calls per outcome; every outcome is present, at 0 until it happens. */
  outcomes: Record<Outcome, number>;
  /** Calls per duration bucket (not cumulative), the last entry for +Inf. */
  buckets: number[];
  sumSeconds: number;
  count: number;
};

export type RequestStats = ReturnType<typeof createRequestStats>;

function zeroed(account: string): AccountRequests {
  return {
    account,
    outcomes: Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0])) as Record<Outcome, number>,
    buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0),
    sumSeconds: 0,
    count: 0,
  };
}

export function createRequestStats() {
  const accounts = new Map<string, AccountRequests>();
  /** Bumped by every change, so a renderer can tell whether what it rendered still holds. */
  let version = 0;

  return {
    record(account: string, outcome: Outcome, seconds: number): void {
      const stats = accounts.get(account);
      if (!stats) return;
      version++;
      stats.outcomes[outcome]++;
      const bucket = DURATION_BUCKETS.findIndex((bound) => seconds <= bound);
      stats.buckets[bucket === -1 ? DURATION_BUCKETS.length : bucket]!++;
      stats.sumSeconds += seconds;
      stats.count++;
    },

    /** Zeroed series for new accounts, so increase() sees the first call of each kind; removed accounts go. */
    sync(names: readonly string[]): void {
      const wanted = new Set(names);
      for (const name of [...accounts.keys()]) {
        if (!wanted.has(name)) {
          accounts.delete(name);
          version++;
        }
      }
      for (const name of names) {
        if (!accounts.has(name)) {
          accounts.set(name, zeroed(name));
          version++;
        }
      }
    },

    /** Every account's figures, in the order they were added. Read-only: render them, do not keep them. */
    view(): readonly AccountRequests[] {
      return [...accounts.values()];
    },

    version: () => version,
  };
}
