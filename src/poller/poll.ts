// One poll of one window: the retry loop, closed-window reuse, and recording the outcome in the cache.
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import type { WindowSpec } from '../config/duration.js';
import type { AccountConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { WolkvoxClient } from '../wolkvox/client.js';
import { isRetryable, WolkvoxError, type Outcome } from '../wolkvox/outcome.js';
import { zeroCounts } from '../wolkvox/response.js';
import { computeWindow, isClosedWindow, type WindowBounds } from '../wolkvox/window.js';
import { backoffFor, retryDelayMs } from './backoff.js';
import type { SnapshotCache } from './cache.js';
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
  quota: QuotaPauses;
  /** The accounts in force, to pause everyone on an exhausted token. */
  accounts(): readonly AccountConfig[];
  /** Aborted at shutdown: cancels calls in flight and wakes retry waits. */
  signal: AbortSignal;
};

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

/** One API call with a slot of the token held. Undefined when shutdown or reload cancelled it. */
async function callOnce(
  context: PollContext,
  target: WindowTarget,
  bounds: WindowBounds,
  cancelled: () => boolean,
): Promise<CallAnswer | undefined> {
  const { account, client } = target;
  const release = await context.limiterFor(account).acquire();
  const startedAt = performance.now();
  const seconds = () => (performance.now() - startedAt) / 1000;
  try {
    if (cancelled()) return undefined;
    // A poll that waited for the token while another window hit the quota must not spend a call.
    if (context.quota.isPaused(account)) return { paused: true };
    return { result: await client.fetchChat15(bounds, context.signal), seconds: seconds() };
  } catch (error) {
    const failure =
      error instanceof WolkvoxError ? error : new WolkvoxError('invalid_response', 'unexpected client error', { cause: error });
    // Pause while the slot is still held, so a poll queued for this token sees the pause.
    if (failure.kind === 'quota_exceeded' && !cancelled()) context.quota.pause(account, context.accounts());
    return { failure, seconds: seconds() };
  } finally {
    release();
  }
}

/**
 * Polls one window once: up to 1 + retries calls, recorded in the cache and through onRequest.
 * `cancelled` says the poll was cut short by shutdown or reload; such a poll records nothing.
 */
export async function pollWindow(context: PollContext, target: WindowTarget, cancelled: () => boolean): Promise<void> {
  const { cache, clock, onRequest } = context;
  const { account, spec } = target;
  const log = context.logger.child({ account: account.name, window: spec.label });
  if (context.quota.isPaused(account)) {
    cache.recordFailure(account.name, spec.label);
    return;
  }
  const now = clock.now();
  const bounds = computeWindow(spec, now, account.timeZone);
  // spec: `yesterday` is closed: fetched once after midnight, again only after failures.
  if (isClosedWindow(spec) && cache.lastBounds(account.name, spec.label)?.dateIni === bounds.dateIni) {
    cache.confirm(account.name, spec.label, now);
    return;
  }
  const backoff = backoffFor(account.intervalMs);
  for (let attempt = 0; ; attempt++) {
    const answer = await callOnce(context, target, bounds, cancelled);
    // A call cut short by shutdown or reload says nothing about Wolkvox: do not count it.
    if (!answer || cancelled()) return;
    if (answer.paused) {
      cache.recordFailure(account.name, spec.label);
      return;
    }
    if ('result' in answer) {
      const { result } = answer;
      onRequest(account.name, result.kind, answer.seconds);
      // spec: 404 or code 404 is "no data in the window": all zeros, a success.
      const counts = result.kind === 'success' ? result.counts : zeroCounts();
      cache.recordSuccess(account.name, spec.label, counts, bounds, clock.now());
      log.debug({ outcome: result.kind, date_ini: bounds.dateIni, date_end: bounds.dateEnd }, 'poll succeeded');
      return;
    }
    const { failure } = answer;
    onRequest(account.name, failure.kind, answer.seconds);
    if (failure.kind === 'quota_exceeded') {
      // callOnce() paused the token's accounts while it still held the slot.
      cache.recordFailure(account.name, spec.label);
      return;
    }
    if (isRetryable(failure.kind) && attempt < context.retries) {
      const delay = retryDelayMs(attempt, backoff, context.random);
      log.debug({ outcome: failure.kind, attempt: attempt + 1, retry_in_ms: delay, err: failure.message }, 'call failed, retrying');
      await sleep(delay, context.signal);
      if (cancelled()) return;
      continue;
    }
    cache.recordFailure(account.name, spec.label);
    log.warn({ outcome: failure.kind, attempts: attempt + 1, status: failure.status, err: failure.message }, 'poll failed');
    return;
  }
}
