// Retry delays: exponential with jitter, from an injected random source; pure.

export type BackoffOptions = {
  /** Delay before the first retry, before jitter. */
  baseMs: number;
  /** No delay is longer than this. */
  maxMs: number;
};

/**
 * The delay before retry number `attempt` (0 for the first retry): base × 2^attempt, scaled by a
 * jitter factor in [0.5, 1) so that accounts sharing a token do not retry in lockstep.
 * `random` returns a number in [0, 1), like Math.random.
 */
export function retryDelayMs(attempt: number, options: BackoffOptions, random: () => number): number {
  const exponential = options.baseMs * 2 ** attempt;
  const jittered = exponential * (0.5 + random() / 2);
  return Math.round(Math.min(options.maxMs, jittered));
}

/** Backoff for one account: 1 s, 2 s, … but never more than a third of its interval. */
export function backoffFor(intervalMs: number): BackoffOptions {
  return { baseMs: Math.min(1_000, intervalMs / 10), maxMs: Math.max(1, Math.floor(intervalMs / 3)) };
}
