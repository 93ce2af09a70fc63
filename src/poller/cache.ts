// The last good counts, window bounds and status per account × window; no timers, no I/O.
import type { Outcome } from '../wolkvox/outcome.js';
import type { Counts } from '../wolkvox/response.js';
import type { WindowBounds } from '../wolkvox/window.js';

/** The last API call of a window, for the status page: not part of /metrics. */
export type LastCall = {
  atMs: number;
  outcome: Outcome;
  /** Seconds the call took, queueing excluded. */
  seconds: number;
  /** The bounds it asked for. */
  dateIni: string;
  dateEnd: string;
  /** What went wrong, for a failed call; the client has scrubbed the token from it. */
  message?: string;
};

type Entry = {
  account: string;
  window: string;
  maxStalenessMs: number;
  /** A poll of this window has finished at least once, well or badly. */
  polled: boolean;
  /** The last poll succeeded. */
  up: boolean;
  lastSuccessMs?: number;
  counts?: Counts;
  bounds?: WindowBounds;
  lastCall?: LastCall;
};

/** Everything the cache knows of one window, for the status page. */
export type WindowRecord = Readonly<Entry>;

/** What a scrape may show of one window at one instant. */
export type SnapshotView = {
  account: string;
  window: string;
  up: boolean;
  lastSuccessMs?: number;
  /** Present while the last good values are younger than max-staleness; absent means "hide the series". */
  fresh?: { counts: Counts; bounds: WindowBounds };
};

export type SnapshotCache = ReturnType<typeof createSnapshotCache>;

/** The one key of an account × window pair, for the cache and the poller's schedule alike. */
export const windowKey = (account: string, window: string): string => `${account}\u0000${window}`;

export function createSnapshotCache() {
  const entries = new Map<string, Entry>();
  const pausedAccounts = new Map<string, boolean>();
  /** Bumped by every change, so a renderer can tell whether what it rendered still holds. */
  let version = 0;

  const entry = (account: string, window: string): Entry | undefined => entries.get(windowKey(account, window));

  return {
    /** Starts tracking a window; keeps what is known when it is tracked already (reload). */
    track(account: string, window: string, maxStalenessMs: number): void {
      version++;
      const existing = entry(account, window);
      if (existing) existing.maxStalenessMs = maxStalenessMs;
      else entries.set(windowKey(account, window), { account, window, maxStalenessMs, polled: false, up: false });
      if (!pausedAccounts.has(account)) pausedAccounts.set(account, false);
    },

    /** Forgets a window, so its series leave /metrics at the next scrape. */
    untrack(account: string, window: string): void {
      version++;
      entries.delete(windowKey(account, window));
      if (![...entries.values()].some((e) => e.account === account)) pausedAccounts.delete(account);
    },

    recordSuccess(account: string, window: string, counts: Counts, bounds: WindowBounds, atMs: number): void {
      version++;
      const e = entry(account, window);
      if (!e) return;
      Object.assign(e, { polled: true, up: true, lastSuccessMs: atMs, counts, bounds });
    },

    /** A closed window whose values are known: they are as good now as when fetched. */
    confirm(account: string, window: string, atMs: number): void {
      version++;
      const e = entry(account, window);
      if (!e || !e.counts) return;
      Object.assign(e, { polled: true, up: true, lastSuccessMs: atMs });
    },

    recordFailure(account: string, window: string): void {
      version++;
      const e = entry(account, window);
      if (!e) return;
      e.polled = true;
      e.up = false;
    },

    /**
     * The window's last API call, for the status page. It leaves version() alone: /metrics shows
     * nothing of it, so a call must not cost a re-render.
     */
    recordCall(account: string, window: string, call: LastCall): void {
      const e = entry(account, window);
      if (e) e.lastCall = call;
    },

    setQuotaPaused(account: string, paused: boolean): void {
      version++;
      if (pausedAccounts.has(account)) pausedAccounts.set(account, paused);
    },

    isQuotaPaused(account: string): boolean {
      return pausedAccounts.get(account) ?? false;
    },

    /** Bounds of the last good answer, e.g. to tell whether a closed window needs another call. */
    lastBounds(account: string, window: string): WindowBounds | undefined {
      return entry(account, window)?.bounds;
    },

    /** Accounts being tracked, with their quota pause state. */
    accounts(): Array<{ account: string; quotaPaused: boolean }> {
      return [...pausedAccounts].map(([account, quotaPaused]) => ({ account, quotaPaused }));
    },

    /** Every tracked window, polled or not, in the order tracked. Read-only: show them, do not keep them. */
    records(): WindowRecord[] {
      return [...entries.values()];
    },

    /** Changes whenever anything in /metrics' view of the cache does. */
    version(): number {
      return version;
    },

    /**
     * The first instant after `nowMs` at which view() changes without any write: when the
     * freshest values still shown pass max-staleness. Infinity when nothing will expire.
     */
    nextExpiryMs(nowMs: number): number {
      let next = Infinity;
      for (const e of entries.values()) {
        if (e.lastSuccessMs === undefined || !e.counts) continue;
        const expiry = e.lastSuccessMs + e.maxStalenessMs;
        if (expiry >= nowMs && expiry < next) next = expiry;
      }
      return next;
    },

    /** Every polled window as a scrape at `nowMs` should show it (spec: Reading the response, staleness). */
    view(nowMs: number): SnapshotView[] {
      const views: SnapshotView[] = [];
      for (const e of entries.values()) {
        if (!e.polled) continue;
        const paused = pausedAccounts.get(e.account) ?? false;
        const fresh =
          e.counts && e.bounds && e.lastSuccessMs !== undefined && nowMs - e.lastSuccessMs <= e.maxStalenessMs
            ? { counts: e.counts, bounds: e.bounds }
            : undefined;
        views.push({
          account: e.account,
          window: e.window,
          up: e.up && !paused,
          ...(e.lastSuccessMs !== undefined ? { lastSuccessMs: e.lastSuccessMs } : {}),
          ...(fresh ? { fresh } : {}),
        });
      }
      return views;
    },
  };
}
