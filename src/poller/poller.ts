// Background polling: one schedule per account × window, retries, per-token concurrency, quota pauses.
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import type { WindowSpec } from '../config/duration.js';
import type { AccountConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { WolkvoxClient } from '../wolkvox/client.js';
import { isRetryable, WolkvoxError, type Outcome } from '../wolkvox/outcome.js';
import { zeroCounts } from '../wolkvox/response.js';
import { computeWindow, isClosedWindow, nextLocalMidnight, type WindowBounds } from '../wolkvox/window.js';
import { backoffFor, retryDelayMs } from './backoff.js';
import type { SnapshotCache } from './cache.js';
import { createLimiter, type Limiter } from './limiter.js';

/** Retries after the first call of a poll, so at most 3 calls a poll (spec: Reading the response). */
export const DEFAULT_RETRIES = 2;
/** First polls start at once, spread over at most this much so they do not all fire together. */
const FIRST_POLL_SPREAD_MS = 900;
const MAX_FIRST_POLL_STEP_MS = 50;

export type PollerDeps = {
  accounts: readonly AccountConfig[];
  clientFor(account: AccountConfig): WolkvoxClient;
  cache: SnapshotCache;
  clock: Clock;
  logger: Logger;
  /** Called once per API call, retries included (main passes metrics.recordRequest). */
  onRequest(account: string, outcome: Outcome, durationSeconds: number): void;
  /** [0, 1), for backoff jitter; tests make it deterministic. */
  random?: () => number;
  retries?: number;
};

export type Poller = {
  /** Starts every window's schedule; the first polls begin at once. */
  start(): void;
  /** Stops scheduling, aborts calls in flight and waits for running polls to end. */
  stop(): Promise<void>;
  /** True once every window has finished its first poll (for /readyz); stays true. */
  ready(): boolean;
  /** Polls every window now, once, outside the schedule (tests, and a fresh start after reload). */
  pollAll(): Promise<void>;
  /** Applies a new account list: added windows start, removed ones stop and leave the cache. */
  update(accounts: readonly AccountConfig[]): void;
  /** Calls in flight for an account's token, for tests and diagnostics. */
  inFlight(account: string): number;
};

type Job = {
  key: string;
  account: AccountConfig;
  client: WolkvoxClient;
  spec: WindowSpec;
  /** Offset of this window's polls inside the interval, so an account's windows keep apart. */
  phaseMs: number;
  anchorMs: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  firstDone: boolean;
  retired: boolean;
  /** The poll of the job this one replaced on reload, still finishing: the first poll waits for it. */
  predecessor?: Promise<void>;
};

const jobKey = (account: string, window: string) => `${account}\u0000${window}`;

/** Two account configs poll the same way (the token compared without revealing it). */
function samePolling(a: AccountConfig, b: AccountConfig): boolean {
  const { token: tokenA, windows: _wa, ...restA } = a;
  const { token: tokenB, windows: _wb, ...restB } = b;
  return tokenA.equals(tokenB) && JSON.stringify(restA) === JSON.stringify(restB);
}

export function createPoller(deps: PollerDeps): Poller {
  const { cache, clock, logger, onRequest } = deps;
  const random = deps.random ?? Math.random;
  const retries = deps.retries ?? DEFAULT_RETRIES;
  const jobs = new Map<string, Job>();
  const limiters = new Map<string, Limiter>();
  /** Local midnight when a paused account may call again, per account name. */
  const pausedUntil = new Map<string, number>();
  const abort = new AbortController();
  // Every window in a retry backoff listens here at once; hundreds of listeners are expected.
  setMaxListeners(0, abort.signal);
  let accounts: readonly AccountConfig[] = [];
  let started = false;
  let stopped = false;
  let wasReady = false;

  // Keyed by the token itself, in memory only: accounts sharing a token share its slots.
  const limiterFor = (account: AccountConfig): Limiter => {
    const key = account.token.reveal();
    const capacity = Math.min(
      ...accounts.filter((other) => other.token.equals(account.token)).map((other) => other.maxConcurrency),
      account.maxConcurrency,
    );
    let limiter = limiters.get(key);
    if (!limiter) {
      limiter = createLimiter(capacity);
      limiters.set(key, limiter);
    } else if (limiter.capacity !== capacity) {
      // A reload changed the token's limit: keep the limiter, so calls in flight stay counted.
      limiter.setCapacity(capacity);
    }
    return limiter;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopped) return resolve();
      const timer = setTimeout(() => {
        abort.signal.removeEventListener('abort', wake);
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      abort.signal.addEventListener('abort', wake, { once: true });
    });

  /** Whether the account is paused by quota now; clears the pause once local midnight passed. */
  const checkPause = (account: AccountConfig): boolean => {
    const until = pausedUntil.get(account.name);
    if (until === undefined) return false;
    if (clock.now() < until) return true;
    pausedUntil.delete(account.name);
    cache.setQuotaPaused(account.name, false);
    logger.info({ account: account.name }, 'local midnight passed: resuming polling after the daily quota pause');
    return false;
  };

  /** The quota belongs to the token: every account that shares it pauses, each to its own midnight. */
  const pauseForQuota = (exhausted: AccountConfig) => {
    for (const account of accounts.filter((other) => other.token.equals(exhausted.token))) {
      if (pausedUntil.has(account.name)) continue;
      const until = nextLocalMidnight(clock.now(), account.timeZone);
      pausedUntil.set(account.name, until);
      cache.setQuotaPaused(account.name, true);
      logger.warn(
        { account: account.name, outcome: 'quota_exceeded', resume_at: new Date(until).toISOString() },
        'Wolkvox daily API quota exhausted: polling of this account paused until local midnight',
      );
    }
  };

  /** One API call with a slot of the token held. Undefined when shutdown or reload cancelled it. */
  const callOnce = async (job: Job, bounds: WindowBounds) => {
    const release = await limiterFor(job.account).acquire();
    const startedAt = performance.now();
    try {
      if (stopped || job.retired) return undefined;
      // A poll that waited for the token while another window hit the quota must not spend a call.
      if (checkPause(job.account)) return { paused: true as const };
      const result = await job.client.fetchChat15(bounds, abort.signal);
      return { result, seconds: (performance.now() - startedAt) / 1000 };
    } catch (error) {
      const failure =
        error instanceof WolkvoxError ? error : new WolkvoxError('invalid_response', 'unexpected client error', { cause: error });
      // Pause while the slot is still held, so a poll queued for this token sees the pause.
      if (failure.kind === 'quota_exceeded' && !stopped && !job.retired) pauseForQuota(job.account);
      return { failure, seconds: (performance.now() - startedAt) / 1000 };
    } finally {
      release();
    }
  };

  const poll = async (job: Job): Promise<void> => {
    const { account, spec } = job;
    const log = logger.child({ account: account.name, window: spec.label });
    if (checkPause(account)) {
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
      const answer = await callOnce(job, bounds);
      // A call cut short by shutdown or reload says nothing about Wolkvox: do not count it.
      if (!answer || stopped || job.retired) return;
      if (answer.paused) {
        cache.recordFailure(account.name, spec.label);
        return;
      }
      if (answer.result) {
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
      if (isRetryable(failure.kind) && attempt < retries) {
        const delay = retryDelayMs(attempt, backoff, random);
        log.debug({ outcome: failure.kind, attempt: attempt + 1, retry_in_ms: delay, err: failure.message }, 'call failed, retrying');
        await sleep(delay);
        if (stopped || job.retired) return;
        continue;
      }
      cache.recordFailure(account.name, spec.label);
      log.warn(
        { outcome: failure.kind, attempts: attempt + 1, status: failure.status, err: failure.message },
        'poll failed',
      );
      return;
    }
  };

  /** Runs one poll of a job unless one is running already (a window never overlaps itself). */
  const runJob = (job: Job): Promise<void> => {
    if (job.running) return job.running;
    const predecessor = job.predecessor ?? Promise.resolve();
    job.predecessor = undefined;
    // A window never has two polls in flight, not even across a reload that replaced its job.
    const run = predecessor
      .then(() => poll(job))
      .catch((error: unknown) => {
        // poll() records every Wolkvox failure itself; anything here is a bug worth a loud line.
        cache.recordFailure(job.account.name, job.spec.label);
        logger.error({ account: job.account.name, window: job.spec.label, err: String(error) }, 'poll crashed');
      })
      .finally(() => {
        job.running = undefined;
        job.firstDone = true;
      });
    job.running = run;
    return run;
  };

  const schedule = (job: Job, delayMs: number) => {
    if (stopped || job.retired) return;
    job.timer = setTimeout(() => {
      job.timer = undefined;
      void runJob(job).then(() => scheduleNext(job));
    }, Math.max(0, delayMs));
    job.timer.unref();
  };

  /** The next slot of this window's own phase that is still ahead; missed slots are skipped, not bunched. */
  const scheduleNext = (job: Job) => {
    const interval = job.account.intervalMs;
    const now = clock.now();
    const base = job.anchorMs + job.phaseMs;
    // From the second poll on, the window's own phase. Slot 0 is skipped on purpose: polling it
    // would spend an extra call per window at start-up; the price is one gap of up to 2 intervals.
    const periods = Math.max(1, Math.floor((now - base) / interval) + 1);
    schedule(job, base + periods * interval - now);
  };

  const createJobs = (
    account: AccountConfig,
    firstPollOffset: { index: number; step: number },
    draining: ReadonlyMap<string, Promise<void>>,
  ) => {
    const client = deps.clientFor(account);
    account.windows.forEach((spec, i) => {
      const key = jobKey(account.name, spec.label);
      if (jobs.has(key)) return;
      cache.track(account.name, spec.label, account.maxStalenessMs);
      const job: Job = {
        key,
        account,
        client,
        spec,
        phaseMs: (i * account.intervalMs) / account.windows.length,
        anchorMs: clock.now(),
        firstDone: false,
        retired: false,
      };
      const predecessor = draining.get(key);
      if (predecessor) job.predecessor = predecessor;
      jobs.set(key, job);
      if (started) schedule(job, firstPollOffset.index++ * firstPollOffset.step);
    });
  };

  const retire = (job: Job) => {
    job.retired = true;
    if (job.timer) clearTimeout(job.timer);
    jobs.delete(job.key);
  };

  const apply = (next: readonly AccountConfig[]) => {
    const previous = accounts;
    accounts = next;
    const nextByName = new Map(next.map((account) => [account.name, account]));
    const draining = new Map<string, Promise<void>>();
    for (const job of [...jobs.values()]) {
      const replacement = nextByName.get(job.account.name);
      const keepsWindow = replacement?.windows.some((w) => w.label === job.spec.label) ?? false;
      if (!replacement || !keepsWindow) {
        retire(job);
        cache.untrack(job.account.name, job.spec.label);
      } else if (!samePolling(job.account, replacement)) {
        // Same window, new settings: restart its schedule but keep the values already cached.
        if (job.running) draining.set(job.key, job.running);
        retire(job);
      }
    }
    for (const name of previous.map((a) => a.name)) {
      if (!nextByName.has(name)) pausedUntil.delete(name);
    }
    const newJobs = next.flatMap((account) => account.windows.filter((w) => !jobs.has(jobKey(account.name, w.label))));
    const step = Math.min(MAX_FIRST_POLL_STEP_MS, FIRST_POLL_SPREAD_MS / Math.max(1, newJobs.length));
    const offset = { index: 0, step };
    for (const account of next) createJobs(account, offset, draining);
  };

  apply(deps.accounts);

  return {
    start() {
      if (started || stopped) return;
      started = true;
      const step = Math.min(MAX_FIRST_POLL_STEP_MS, FIRST_POLL_SPREAD_MS / Math.max(1, jobs.size));
      let index = 0;
      const now = clock.now();
      for (const job of jobs.values()) {
        job.anchorMs = now;
        schedule(job, index++ * step);
      }
    },

    async stop() {
      stopped = true;
      for (const job of jobs.values()) if (job.timer) clearTimeout(job.timer);
      abort.abort();
      await Promise.all([...jobs.values()].map((job) => job.running));
    },

    ready() {
      if (!wasReady) wasReady = [...jobs.values()].every((job) => job.firstDone);
      return wasReady;
    },

    async pollAll() {
      await Promise.all([...jobs.values()].map((job) => runJob(job)));
    },

    update(next) {
      if (stopped) return;
      apply(next);
    },

    inFlight(account) {
      const config = accounts.find((a) => a.name === account);
      return config ? limiterFor(config).inFlight() : 0;
    },
  };
}
