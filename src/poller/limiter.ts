// A counting semaphore that caps calls in flight per Wolkvox token (the API rejects a third), and one per token.
import type { AccountConfig } from '../config/schema.js';
import { accountsSharingToken } from '../config/tokens.js';

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

export function createTokenLimiters(): TokenLimiters {
  const limiters = new Map<string, Limiter>();
  return {
    limiterFor(account, accounts) {
      const key = account.token.fingerprint();
      const capacity = Math.min(...accountsSharingToken(accounts, account).map((other) => other.maxConcurrency), account.maxConcurrency);
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
