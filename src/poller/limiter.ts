// Counting semaphores for API calls: one per Wolkvox token (the API rejects a third call in flight), and one per origin (--wolkvox.max-in-flight).
import type { AccountConfig } from '../config/schema.js';
import { groupByToken } from '../config/tokens.js';

export type Limiter = {
  /** Waits for a free slot; resolves with the function that frees it. */
  acquire(): Promise<() => void>;
  inFlight(): number;
  readonly capacity: number;
  /**
   * Changes the capacity in place (a reload): calls in flight stay counted, so after a cut
   * no one gets in until enough of them have ended; a raise lets waiters in at once.
   */
  setCapacity(capacity: number): void;
};

export function createLimiter(initialCapacity: number): Limiter {
  let capacity = initialCapacity;
  let active = 0;
  const waiting: Array<() => void> = [];

  const release = () => {
    // Hand the slot straight to the next waiter, so a newcomer cannot overtake it; unless a cut left too many in flight.
    const next = active <= capacity ? waiting.shift() : undefined;
    if (next) next();
    else active--;
  };

  return {
    acquire() {
      return new Promise((resolve) => {
        let released = false;
        const releaseOnce = () => {
          if (released) return;
          released = true;
          release();
        };
        if (active < capacity) {
          active++;
          resolve(releaseOnce);
        } else {
          waiting.push(() => resolve(releaseOnce));
        }
      });
    },
    inFlight: () => active,
    get capacity() {
      return capacity;
    },
    setCapacity(next) {
      capacity = next;
      while (active < capacity && waiting.length > 0) {
        active++;
        waiting.shift()?.();
      }
    },
  };
}

/** One limiter per token, keyed by its fingerprint (the token itself is never a key). */
export type TokenLimiters = {
  /** The limiter of the account's token; its capacity is the smallest max_concurrency of the accounts sharing it. */
  limiterFor(account: AccountConfig, accounts: readonly AccountConfig[]): Limiter;
  /** After a reload: drops the limiters of tokens no account uses, unless calls are still in flight on them. */
  sync(accounts: readonly AccountConfig[]): void;
  /** How many tokens have a limiter (diagnostics and tests). */
  size(): number;
};

/** Each token's capacity, by fingerprint: the smallest max_concurrency of the accounts using it. */
function tokenCapacities(accounts: readonly AccountConfig[]): Map<string, number> {
  const capacities = new Map<string, number>();
  for (const [key, members] of groupByToken(accounts)) capacities.set(key, Math.min(...members.map((member) => member.maxConcurrency)));
  return capacities;
}

export function createTokenLimiters(): TokenLimiters {
  const limiters = new Map<string, Limiter>();
  // Every call asks for its limiter: the capacities are worked out once per list of accounts (a reload brings a new
  // one), not per call, which at 1,000 accounts cost a scan of all of them for each of thousands of calls.
  let capacitiesOf: readonly AccountConfig[] | undefined;
  let capacities = new Map<string, number>();
  return {
    limiterFor(account, accounts) {
      const key = account.token.fingerprint();
      if (accounts !== capacitiesOf) {
        capacities = tokenCapacities(accounts);
        capacitiesOf = accounts;
      }
      const capacity = Math.min(capacities.get(key) ?? Infinity, account.maxConcurrency);
      let limiter = limiters.get(key);
      if (!limiter) {
        limiter = createLimiter(capacity);
        limiters.set(key, limiter);
      } else if (limiter.capacity !== capacity) {
        // A reload changed the token's limit: keep the limiter, so calls in flight stay counted.
        limiter.setCapacity(capacity);
      }
      return limiter;
    },
    sync(accounts) {
      const used = new Set(accounts.map((account) => account.token.fingerprint()));
      // A limiter with calls in flight stays: if its token comes back, those calls must still count.
      for (const [key, limiter] of limiters) if (!used.has(key) && limiter.inFlight() === 0) limiters.delete(key);
    },
    size: () => limiters.size,
  };
}

/**
 * The origin calls to `baseUrl` go to: scheme, host and port, any path dropped, a default port
 * left out (so `https://x` and `https://x:443/api` are one server). Base URLs are validated
 * http(s) URLs by the time they get here (config/schema.ts).
 */
export function originOf(baseUrl: string): string {
  return new URL(baseUrl).origin;
}

/**
 * One limiter per origin, all with the same capacity (--wolkvox.max-in-flight): a cap on what
 * this process sends to one server or proxy, whatever token or account a call is for.
 */
export type OriginLimiters = {
  /** The limiter of the account's origin, shared by every account and token that calls it. */
  limiterFor(account: Pick<AccountConfig, 'baseUrl'>): Limiter;
  /** Changes the cap of every origin (a reload); calls in flight stay counted, as in Limiter.setCapacity. */
  setCapacity(capacity: number): void;
  readonly capacity: number;
  /** After a reload: drops the limiters of origins no account uses, unless calls are still in flight to them. */
  sync(accounts: readonly AccountConfig[]): void;
  /** Calls in flight to an origin (or to the origin of a base URL), for diagnostics and tests. */
  inFlight(origin: string): number;
  /** How many origins have a limiter (diagnostics and tests). */
  size(): number;
};

export function createOriginLimiters(initialCapacity: number): OriginLimiters {
  let capacity = initialCapacity;
  const limiters = new Map<string, Limiter>();
  return {
    limiterFor(account) {
      const key = originOf(account.baseUrl);
      let limiter = limiters.get(key);
      if (!limiter) {
        limiter = createLimiter(capacity);
        limiters.set(key, limiter);
      }
      return limiter;
    },
    setCapacity(next) {
      capacity = next;
      for (const limiter of limiters.values()) if (limiter.capacity !== next) limiter.setCapacity(next);
    },
    get capacity() {
      return capacity;
    },
    sync(accounts) {
      const used = new Set(accounts.map((account) => originOf(account.baseUrl)));
      // Calls still in flight keep their limiter: if the origin comes back, they must still count.
      for (const [key, limiter] of limiters) if (!used.has(key) && limiter.inFlight() === 0) limiters.delete(key);
    },
    inFlight: (origin) => limiters.get(originOf(origin))?.inFlight() ?? 0,
    size: () => limiters.size,
  };
}
