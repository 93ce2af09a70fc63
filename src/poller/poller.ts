// Background polling, wired together: a schedule of window and counter polls, per-token and per-origin limiters, quota pauses, and the reload diff.
import { setMaxListeners } from 'node:events';
import type { Clock } from '../clock.js';
import { DEFAULT_MAX_IN_FLIGHT } from '../config/flags.js';
import type { AccountConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { WolkvoxClient } from '../wolkvox/client.js';
import type { Outcome } from '../wolkvox/outcome.js';
import { firstChunkAfterStart } from '../wolkvox/chunks.js';
import { windowKey, type SnapshotCache } from './cache.js';
import type { CounterStore } from './counters.js';
import { createOriginLimiters, createTokenLimiters } from './limiter.js';
import { DEFAULT_RETRIES, pollCounters, pollWindow, type CounterTarget, type PollContext, type WindowTarget } from './poll.js';
import { createQuotaPauses } from './quota.js';
import { createSchedule, nextSlotMs, type Task } from './schedule.js';

export { DEFAULT_RETRIES };

export type PollerDeps = {
  accounts: readonly AccountConfig[];
  clientFor(account: AccountConfig): WolkvoxClient;
  cache: SnapshotCache;
  /** The _total counters; accounts with a counter step add their settled chunks here. */
  counters: CounterStore;
  clock: Clock;
  logger: Logger;
  /** Called once per API call, retries included (main passes metrics.recordRequest). */
  onRequest(account: string, outcome: Outcome, durationSeconds: number): void;
  /** [0, 1), for backoff jitter; tests make it deterministic. */
  random?: () => number;
  retries?: number;
  /** Cap of calls in flight to one origin, over all tokens and accounts (Config.maxInFlightPerOrigin); DEFAULT_MAX_IN_FLIGHT when left out. */
  maxInFlightPerOrigin?: number;
};

/** Settings of the whole process that a reload may change besides the accounts. */
export type PollerSettings = {
  /** A new cap per origin; left out, the cap in force stays. */
  maxInFlightPerOrigin?: number;
  /**
   * Accounts that another shard polled until now (a reshard): their first polls wait one interval,
   * so the shard that gave them up, reloading at about the same time, has finished its calls and
   * the token never has more than its limit in flight across the two processes.
   */
  handedOver?: ReadonlySet<string>;
};

export type Poller = {
  /** Starts every window's schedule; the first polls begin at once, spread as schedule.ts firstRunStepMs says. */
  start(): void;
  /** Stops scheduling, aborts calls in flight and waits for running polls to end. */
  stop(): Promise<void>;
  /** True once every window has finished its first poll (for /readyz); stays true. */
  ready(): boolean;
  /** Polls every window now, once, outside the schedule (tests, and a fresh start after reload). */
  pollAll(): Promise<void>;
  /**
   * Applies a new account list: added windows start, removed ones stop and leave the cache. A new
   * cap per origin applies at once; calls in flight stay counted against it.
   */
  update(accounts: readonly AccountConfig[], settings?: PollerSettings): void;
  /** When a window's next poll is due (clock ms); undefined while it runs or when nothing is scheduled. */
  nextPollAt(account: string, window: string): number | undefined;
  /** Local midnight when a quota-paused account may call again; undefined when it is not paused. */
  quotaPausedUntil(account: AccountConfig): number | undefined;
  /** Calls in flight for an account's token, for tests and diagnostics. */
  inFlight(account: string): number;
  /** Calls in flight to an origin (or to the origin of a base URL), over all its accounts; for tests and diagnostics. */
  originInFlight(origin: string): number;
  /** How many tokens hold per-token state (limiters), for tests and diagnostics. */
  trackedTokens(): number;
};

/** The schedule key of an account's counter polls; a NUL keeps it apart from every window key. */
const countersKey = (account: string): string => `${account}\u0000\u0000counters`;

/** Two account configs poll the same way (the token compared without revealing it). */
function samePolling(a: AccountConfig, b: AccountConfig): boolean {
  const { token: tokenA, windows: _wa, ...restA } = a;
  const { token: tokenB, windows: _wb, ...restB } = b;
  return tokenA.equals(tokenB) && JSON.stringify(restA) === JSON.stringify(restB);
}

export function createPoller(deps: PollerDeps): Poller {
  const { cache, counters, clock, logger } = deps;
  const abort = new AbortController();
  // Every window in a retry backoff listens here at once; hundreds of listeners are expected.
  setMaxListeners(0, abort.signal);
  let accounts: readonly AccountConfig[] = [];
  let stopped = false;

  const limiters = createTokenLimiters();
  const origins = createOriginLimiters(deps.maxInFlightPerOrigin ?? DEFAULT_MAX_IN_FLIGHT);
  const quota = createQuotaPauses({ clock, logger, onChange: (account, paused) => cache.setQuotaPaused(account, paused) });
  const schedule = createSchedule({ clock });
  /** What is being polled, by schedule key; a removed one is flagged so its poll in flight records nothing. */
  const targets = new Map<string, (WindowTarget | CounterTarget) & { retired: boolean }>();

  const context: PollContext = {
    cache,
    clock,
    logger,
    onRequest: deps.onRequest,
    random: deps.random ?? Math.random,
    retries: deps.retries ?? DEFAULT_RETRIES,
    limiterFor: (account) => limiters.limiterFor(account, accounts),
    originLimiterFor: (account) => origins.limiterFor(account),
    quota,
    accounts: () => accounts,
    signal: abort.signal,
    counters,
  };

  /** A window's recurring poll; each window of an account keeps its own phase, spread across the interval. */
  const windowTask = (target: WindowTarget & { retired: boolean }, phaseMs: number): Task => {
    const { account, spec } = target;
    return {
      key: windowKey(account.name, spec.label),
      run: () =>
        pollWindow(context, target, () => stopped || target.retired).catch((error: unknown) => {
          // pollWindow() records every Wolkvox failure itself; anything here is a bug worth a loud line.
          cache.recordFailure(account.name, spec.label);
          logger.error({ account: account.name, window: spec.label, err: String(error) }, 'poll crashed');
        }),
      nextRunAt: (nowMs, anchorMs) => nextSlotMs(anchorMs, phaseMs, account.intervalMs, nowMs),
      intervalMs: account.intervalMs,
    };
  };

  /** An account's counter polls: each run adds what has settled, then waits for the next chunk to settle. */
  const counterTask = (target: CounterTarget & { retired: boolean }): Task => {
    const { account } = target;
    let dueAtMs = 0;
    return {
      key: countersKey(account.name),
      run: () =>
        pollCounters(context, target, () => stopped || target.retired).then(
          (next) => {
            dueAtMs = next;
          },
          (error: unknown) => {
            // pollCounters() handles every Wolkvox failure itself; anything here is a bug worth a loud line.
            dueAtMs = clock.now() + account.intervalMs;
            logger.error({ account: account.name, err: String(error) }, 'counter poll crashed');
          },
        ),
      nextRunAt: (nowMs) => Math.max(nowMs, dueAtMs),
      intervalMs: account.intervalMs,
    };
  };

  const retire = (key: string): Promise<void> | undefined => {
    const target = targets.get(key);
    if (target) target.retired = true;
    targets.delete(key);
    return schedule.remove(key);
  };

  const apply = (next: readonly AccountConfig[], handedOver: ReadonlySet<string> = new Set()) => {
    accounts = next;
    const nextByName = new Map(next.map((account) => [account.name, account]));
    /** Polls still running for windows whose settings changed: their replacements wait for them. */
    const draining = new Map<string, Promise<void>>();
    for (const [key, target] of [...targets]) {
      const replacement = nextByName.get(target.account.name);
      const kept =
        'spec' in target
          ? (replacement?.windows.some((w) => w.label === target.spec.label) ?? false)
          : (replacement?.counterStepMs ?? 0) > 0;
      if (!replacement || !kept) {
        void retire(key);
        if ('spec' in target) cache.untrack(target.account.name, target.spec.label);
        else counters.untrack(target.account.name);
      } else if (!samePolling(target.account, replacement)) {
        // Same window, new settings: restart its schedule but keep the values already cached.
        const running = retire(key);
        if (running) draining.set(key, running);
      }
    }
    quota.sync(next);
    limiters.sync(next);
    origins.sync(next);

    const tasks: Task[] = [];
    for (const account of next) {
      const client = deps.clientFor(account);
      const firstRunDelay = handedOver.has(account.name) ? { firstRunDelayMs: account.intervalMs } : {};
      account.windows.forEach((spec, index) => {
        const key = windowKey(account.name, spec.label);
        if (targets.has(key)) return;
        cache.track(account.name, spec.label, account.maxStalenessMs);
        const target = { account, spec, client, retired: false };
        targets.set(key, target);
        tasks.push({ ...windowTask(target, (index * account.intervalMs) / account.windows.length), ...firstRunDelay });
      });
      const key = countersKey(account.name);
      if (account.counterStepMs > 0 && !targets.has(key)) {
        // A new account starts with the first chunk that settles after now; a replaced one (new
        // settings) carries on from where its counters settled.
        if (counters.settledUntil(account.name) === undefined) {
          const first = firstChunkAfterStart(clock.now(), account.counterStepMs, account.counterDelayMs, account.timeZone);
          counters.track(account.name, first.startMs);
          logger.info({ account: account.name, counters_start: new Date(first.startMs).toISOString(), date_ini: first.dateIni }, 'counters start');
        }
        const target = { account, client, retired: false };
        targets.set(key, target);
        tasks.push({ ...counterTask(target), ...firstRunDelay });
      }
    }
    schedule.add(tasks, draining);
  };

  apply(deps.accounts);

  return {
    start() {
      if (!stopped) schedule.start();
    },

    async stop() {
      stopped = true;
      abort.abort();
      await schedule.stop();
    },

    ready: () => schedule.ready(),

    pollAll: () => schedule.runAll(),

    update(next, settings) {
      if (stopped) return;
      if (settings?.maxInFlightPerOrigin !== undefined) origins.setCapacity(settings.maxInFlightPerOrigin);
      apply(next, settings?.handedOver);
    },

    nextPollAt: (account, window) => schedule.dueAt(windowKey(account, window)),

    quotaPausedUntil: (account) => quota.resumesAt(account),

    inFlight(account) {
      const config = accounts.find((a) => a.name === account);
      return config ? limiters.limiterFor(config, accounts).inFlight() : 0;
    },

    originInFlight: (origin) => origins.inFlight(origin),

    trackedTokens: () => limiters.size(),
  };
}
