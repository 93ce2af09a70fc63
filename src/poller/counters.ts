// The _total counters per account: settled chunks added once, in order, and how far they have settled; no timers, no I/O.
import { zeroCounts, type Counts } from '../wolkvox/response.js';

/** One account's counters as a scrape shows them. */
export type CounterView = {
  account: string;
  totals: Counts;
  /** End of the last chunk added: the counters hold every chat between their start and this instant. */
  settledUntilMs: number;
  /** Where these counters began: the start of the first chunk they count. */
  startedAtMs: number;
};

export type CounterStore = ReturnType<typeof createCounterStore>;

export function createCounterStore() {
  const accounts = new Map<string, CounterView>();
  /** Bumped by every change, so a renderer can tell whether what it rendered still holds. */
  let version = 0;

  return {
    /**
     * Starts counting an account from `startMs` (the start of its first chunk), every counter at
     * 0. An account tracked already keeps its counters (a reload).
     */
    track(account: string, startMs: number): void {
      if (accounts.has(account)) return;
      version++;
      accounts.set(account, { account, totals: zeroCounts(), settledUntilMs: startMs, startedAtMs: startMs });
    },

    /** Forgets an account, so its counter series leave /metrics. */
    untrack(account: string): void {
      if (accounts.delete(account)) version++;
    },

    /**
     * Adds one settled chunk. It must start where the counters have settled until, so a chunk is
     * never added twice and none is skipped; anything else throws, as a bug in the caller.
     */
    add(account: string, chunk: { startMs: number; nextStartMs: number }, counts: Counts): void {
      const state = accounts.get(account);
      if (!state) return;
      if (chunk.startMs !== state.settledUntilMs) {
        throw new Error(
          `counter chunk of ${account} starts at ${new Date(chunk.startMs).toISOString()}, not where the counters settled (${new Date(state.settledUntilMs).toISOString()})`,
        );
      }
      version++;
      for (const field of Object.keys(counts) as Array<keyof Counts>) state.totals[field] += counts[field];
      state.settledUntilMs = chunk.nextStartMs;
    },

    /** Where an account's counters have settled until; undefined when it has none. */
    settledUntil(account: string): number | undefined {
      return accounts.get(account)?.settledUntilMs;
    },

    /** Every account's counters, as copies. */
    view(): CounterView[] {
      return [...accounts.values()].map((state) => ({ ...state, totals: { ...state.totals } }));
    },

    /** Changes whenever anything in the store does. */
    version(): number {
      return version;
    },
  };
}
