// One poll: the retry loop of a call, a window's poll (closed-window reuse, the cache), and the counters' chunk polls.
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import type { WindowSpec } from '../config/duration.js';
import type { AccountConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { WolkvoxClient } from '../wolkvox/client.js';
import { isRetryable, WolkvoxError, type Outcome } from '../wolkvox/outcome.js';
import { zeroCounts, type Counts } from '../wolkvox/response.js';
import { chunkStartingAt, settlesAt } from '../wolkvox/chunks.js';
import { computeWindow, isClosedWindow, type WindowBounds } from '../wolkvox/window.js';
import { backoffFor, retryDelayMs } from './backoff.js';
import type { LastCall, SnapshotCache } from './cache.js';
import type { CounterStore } from './counters.js';
import type { Limiter } from './limiter.js';
import type { QuotaPauses } from './quota.js';

/** Retries after the first call of a poll, so at most 3 calls a poll (spec: Reading the response). */
export const DEFAULT_RETRIES = 2;

/** What every poll shares: the poller builds it once and hands it to each poll. */
export type PollContext = {
  cache: SnapshotCache;
  clock: Clock;
  logger: Logger;
  /** Called once per API call, retries included (main passes metrics.recordRequest). */
  onRequest(account: string, outcome: Outcome, durationSeconds: number): void;
  /** [0, 1), for backoff jitter. */
  random(): number;
  retries: number;
  /** The limiter of the account's token, shared by every account on it. */
  limiterFor(account: AccountConfig): Limiter;
  /** The limiter of the account's origin (--wolkvox.max-in-flight), shared by every token and account calling it. */
  originLimiterFor(account: AccountConfig): Limiter;
  quota: QuotaPauses;
  /** The accounts in force, to pause everyone on an exhausted token. */
  accounts(): readonly AccountConfig[];
  /** Aborted at shutdown: cancels calls in flight and wakes retry waits. */
  signal: AbortSignal;
  /** The _total counters, which counter polls add settled chunks to. */
  counters: CounterStore;
};

/** What a call with retries needs of the context: the backfill builds just this much. */
export type CallContext = Pick<
  PollContext,
  'onRequest' | 'random' | 'retries' | 'limiterFor' | 'originLimiterFor' | 'quota' | 'accounts' | 'signal'
>;

/** The fields that say in a log line which account (and window) a poll or call belongs to. */
export type LogFields = Readonly<Record<string, string | boolean>>;

/** What one poll polls. */
export type WindowTarget = {
  account: AccountConfig;
  spec: WindowSpec;
  client: WolkvoxClient;
};

type CallAnswer =
  | { paused: true }
  | { paused?: false; result: Awaited<ReturnType<WolkvoxClient['fetchChat15']>>; seconds: number }
  | { paused?: false; failure: WolkvoxError; seconds: number };

/** Waits `ms`, or less if the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', wake);
      resolve();
    }, ms);
    const wake = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', wake, { once: true });
  });
}

/**
 * One API call with a slot of the token and then a slot of the origin held. Undefined when
 * shutdown or reload cancelled it.
 *
 * Always token first, then origin: no call ever holds an origin slot while it waits for a token,
 * so there is no cycle to deadlock on, and origin slots go only to calls that can be sent at once
 * (the other order would let calls queued behind a busy token sit on the origin's few slots).
 * It also keeps the origin fair: each token has at most its own 1 or 2 calls in the origin's FIFO
 * queue, so a token with many windows cannot crowd out the others.
 */
async function callOnce(
  context: CallContext,
  target: Pick<WindowTarget, 'account' | 'client'>,
  bounds: Pick<WindowBounds, 'dateIni' | 'dateEnd'>,
  cancelled: () => boolean,
): Promise<CallAnswer | undefined> {
  const { account, client } = target;
  const releaseToken = await context.limiterFor(account).acquire();
  let releaseOrigin: (() => void) | undefined;
  let startedAt = performance.now();
  const seconds = () => (performance.now() - startedAt) / 1000;
  try {
    if (cancelled()) return undefined;
    releaseOrigin = await context.originLimiterFor(account).acquire();
    if (cancelled()) return undefined;
    // A poll that waited for the token while another window hit the quota must not spend a call.
    if (context.quota.isPaused(account)) return { paused: true };
    // The request duration is the call's, not the time spent queued for the two slots.
    startedAt = performance.now();
    return { result: await client.fetchChat15(bounds, context.signal), seconds: seconds() };
  } catch (error) {
    const failure =
      error instanceof WolkvoxError ? error : new WolkvoxError('invalid_response', 'unexpected client error', { cause: error });
    // Pause while the slot is still held, so a poll queued for this token sees the pause.
    if (failure.kind === 'quota_exceeded' && !cancelled()) context.quota.pause(account, context.accounts());
    return { failure, seconds: seconds() };
  } finally {
    // The origin slot first: it goes to a call that already holds its token and can be sent now.
    releaseOrigin?.();
    releaseToken();
  }
}

/** How a fetch with retries ended. */
export type FetchOutcome =
  /** Counts for the bounds: a success, or no data in them (all zeros). `seconds`: the last call's. */
  | { kind: 'counts'; counts: Counts; outcome: 'success' | 'no_data'; seconds: number }
  /** Every attempt failed; `failure` is the last, and `seconds` its duration. */
  | { kind: 'failed'; failure: WolkvoxError; attempts: number; seconds: number }
  /** The token is paused by its daily quota: no call was made, or `quotaHit`, the call that hit the quota. */
  | { kind: 'paused'; quotaHit?: { failure: WolkvoxError; seconds: number } }
  /** Shutdown or reload cut it short: it says nothing about Wolkvox. */
  | { kind: 'cancelled' };

/**
 * Up to 1 + retries calls for `bounds` (spec: Reading the response): retryable failures back off
 * with jitter, the others end it. Every call is reported through onRequest; nothing is cached.
 * `where` goes into each log line (account, window): fields rather than a child logger, because
 * making a child per poll cost about 5% of the main thread during the first polls of 1,000 accounts,
 * and at the default level most polls log nothing.
 */
export async function fetchWithRetries(
  context: CallContext,
  target: Pick<WindowTarget, 'account' | 'client'>,
  bounds: Pick<WindowBounds, 'dateIni' | 'dateEnd'>,
  cancelled: () => boolean,
  log: Logger,
  where: LogFields,
): Promise<FetchOutcome> {
  const { account } = target;
  const backoff = backoffFor(account.intervalMs);
  for (let attempt = 0; ; attempt++) {
    const answer = await callOnce(context, target, bounds, cancelled);
    // A call cut short by shutdown or reload says nothing about Wolkvox: do not count it.
    if (!answer || cancelled()) return { kind: 'cancelled' };
    if (answer.paused) return { kind: 'paused' };
    if ('result' in answer) {
      const { result } = answer;
      context.onRequest(account.name, result.kind, answer.seconds);
      // spec: 404 or code 404 is "no data in the window": all zeros, a success.
      return { kind: 'counts', counts: result.kind === 'success' ? result.counts : zeroCounts(), outcome: result.kind, seconds: answer.seconds };
    }
    const { failure } = answer;
    context.onRequest(account.name, failure.kind, answer.seconds);
    // callOnce() paused the token's accounts while it still held the slot.
    if (failure.kind === 'quota_exceeded') return { kind: 'paused', quotaHit: { failure, seconds: answer.seconds } };
    if (isRetryable(failure.kind) && attempt < context.retries) {
      const delay = retryDelayMs(attempt, backoff, context.random);
      log.debug({ ...where, outcome: failure.kind, attempt: attempt + 1, retry_in_ms: delay, err: failure.message }, 'call failed, retrying');
      await sleep(delay, context.signal);
      if (cancelled()) return { kind: 'cancelled' };
      continue;
    }
    return { kind: 'failed', failure, attempts: attempt + 1, seconds: answer.seconds };
  }
}

/**
 * Polls one window once and records the outcome in the cache. `cancelled` says the poll was cut
 * short by shutdown or reload; such a poll records nothing.
 */
export async function pollWindow(context: PollContext, target: WindowTarget, cancelled: () => boolean): Promise<void> {
  const { cache, clock, logger: log } = context;
  const { account, spec } = target;
  const where = { account: account.name, window: spec.label };
  if (context.quota.isPaused(account)) {
    cache.recordFailure(account.name, spec.label);
    return;
  }
  const now = clock.now();
  const bounds = computeWindow(spec, now, account.timeZone);
  // spec: closed windows (yesterday, last_week, last_month) are fetched once, again only after failures.
  if (isClosedWindow(spec) && cache.lastBounds(account.name, spec.label)?.dateIni === bounds.dateIni) {
    cache.confirm(account.name, spec.label, now);
    return;
  }
  const outcome = await fetchWithRetries(context, target, bounds, cancelled, log, where);
  const called = (call: Pick<LastCall, 'outcome' | 'seconds' | 'message'>) =>
    cache.recordCall(account.name, spec.label, { atMs: clock.now(), dateIni: bounds.dateIni, dateEnd: bounds.dateEnd, ...call });
  switch (outcome.kind) {
    case 'cancelled':
      return;
    case 'counts':
      called({ outcome: outcome.outcome, seconds: outcome.seconds });
      cache.recordSuccess(account.name, spec.label, outcome.counts, bounds, clock.now());
      log.debug({ ...where, outcome: outcome.outcome, date_ini: bounds.dateIni, date_end: bounds.dateEnd }, 'poll succeeded');
      return;
    case 'paused':
      if (outcome.quotaHit) {
        const { failure, seconds } = outcome.quotaHit;
        called({ outcome: failure.kind, seconds, message: failure.message });
      }
      cache.recordFailure(account.name, spec.label);
      return;
    case 'failed': {
      const { failure, attempts } = outcome;
      called({ outcome: failure.kind, seconds: outcome.seconds, message: failure.message });
      cache.recordFailure(account.name, spec.label);
      log.warn({ ...where, outcome: failure.kind, attempts, status: failure.status, err: failure.message }, 'poll failed');
      return;
    }
  }
}

/** What one account's counter poll needs. */
export type CounterTarget = Pick<WindowTarget, 'account' | 'client'>;

/**
 * Adds every chunk of the account that has settled by now, oldest first, one call each (spec:
 * History). A failure or a quota pause leaves the chunk pending, to be tried again: chunks are
 * delayed, never skipped or repeated. Resolves with the instant the next chunk is due.
 */
export async function pollCounters(context: PollContext, target: CounterTarget, cancelled: () => boolean): Promise<number> {
  const { clock, counters, quota, logger: log } = context;
  const { account } = target;
  const where = { account: account.name, counters: true };
  for (;;) {
    const settledUntil = counters.settledUntil(account.name);
    if (settledUntil === undefined || cancelled()) return Infinity;
    const chunk = chunkStartingAt(settledUntil, account.counterStepMs, account.timeZone);
    const due = settlesAt(chunk, account.counterDelayMs);
    if (clock.now() < due) return due;
    if (quota.isPaused(account)) return quota.resumesAt(account) ?? clock.now() + account.intervalMs;
    const outcome = await fetchWithRetries(context, target, chunk, cancelled, log, where);
    switch (outcome.kind) {
      case 'cancelled':
        return Infinity;
      case 'counts':
        counters.add(account.name, chunk, outcome.counts);
        log.debug({ ...where, outcome: outcome.outcome, date_ini: chunk.dateIni, date_end: chunk.dateEnd }, 'counter chunk settled');
        continue;
      case 'paused':
        return quota.resumesAt(account) ?? clock.now() + account.intervalMs;
      case 'failed': {
        const { failure, attempts } = outcome;
        log.warn(
          { ...where, outcome: failure.kind, attempts, status: failure.status, err: failure.message, date_ini: chunk.dateIni, date_end: chunk.dateEnd },
          'counter chunk failed; it stays pending and is tried again after an interval',
        );
        return clock.now() + account.intervalMs;
      }
    }
  }
}
