// The status report: what the status page and /api/v1/status show of every account and window; types and the state rules, pure.
import type { Outcome } from '../wolkvox/outcome.js';

/**
 * A window's state at a glance (spec: Endpoints):
 * - `ok`: the last poll succeeded;
 * - `failing`: the last poll failed, and the last good values are still served;
 * - `stale`: no good values are served (they passed max-staleness, or none came yet after failures);
 * - `paused`: the account's token spent its daily quota; polling resumes at local midnight;
 * - `pending`: not polled yet since start.
 */
export type WindowState = 'ok' | 'failing' | 'stale' | 'paused' | 'pending';

export type WindowStatus = {
  window: string;
  state: WindowState;
  /** The outcome of the last API call for this window, if any. */
  lastOutcome?: Outcome;
  /** What went wrong in the last failed poll, scrubbed of the token; absent after a success. */
  lastError?: string;
  /** ISO 8601. */
  lastSuccess?: string;
  /** Seconds the last API call took. */
  lastCallSeconds?: number;
  /** ISO 8601; absent while the account is paused or the exporter is stopping. */
  nextPoll?: string;
  /** The bounds of the values shown, as sent to Wolkvox. */
  bounds?: { dateIni: string; dateEnd: string };
  /** The values served on /metrics; absent when none are (stale, pending). */
  values?: {
    adBot: number;
    adAgent: number;
    postBot: number;
    postAgent: number;
    totalBot: number;
    totalAgent: number;
    /** total_chatbot / (total_chatbot + total_agents); null when there were no chats. */
    botContainment: number | null;
    /**
     * The bounds these values were counted over. After a failed poll they are older than the
     * window's `bounds` (what the last call asked for), and the page must not show the one as the other.
     */
    bounds: { dateIni: string; dateEnd: string };
  };
};

export type AccountStatus = {
  name: string;
  /** The first 16 hex digits of the token's SHA-256: tells tokens apart, never reveals one. */
  tokenFingerprint: string;
  timeZone: string;
  plannedDailyCalls: number;
  /** The configured daily quota, or 1,000 (one license) when none is set. */
  dailyQuota: number;
  dailyQuotaAssumed: boolean;
  /** API calls made since local midnight, by outcome (only outcomes that happened). */
  callsToday: Partial<Record<Outcome, number>>;
  /** ISO 8601, while the token's quota is spent. */
  quotaPausedUntil?: string;
  /** The _total counters, when the account has them. */
  counters?: { settledUntil: string; stepSeconds: number; delaySeconds: number };
  windows: WindowStatus[];
};

export type StatusReport = {
  exporter: {
    version: string;
    revision: string;
    /** ISO 8601 of when the report was made. */
    now: string;
    /** Whether every window has been polled once (/readyz). */
    ready: boolean;
    shard?: { index: number; total: number };
  };
  accounts: AccountStatus[];
};

/** The state rule, from what the cache knows of a window. */
export function windowState(input: { polled: boolean; up: boolean; fresh: boolean; paused: boolean }): WindowState {
  if (input.paused) return 'paused';
  if (!input.polled) return 'pending';
  if (input.up) return 'ok';
  return input.fresh ? 'failing' : 'stale';
}

/** total_chatbot / all chats, or null without chats. */
export function botContainment(bot: number, agent: number): number | null {
  return bot + agent === 0 ? null : bot / (bot + agent);
}
