// A counting semaphore: caps calls in flight per Wolkvox token (the API rejects a third).

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
