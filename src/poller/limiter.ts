// A counting semaphore: caps calls in flight per Wolkvox token (the API rejects a third).

export type Limiter = {
  /** Waits for a free slot; resolves with the function that frees it. */
  acquire(): Promise<() => void>;
  inFlight(): number;
  readonly capacity: number;
};

export function createLimiter(capacity: number): Limiter {
  let active = 0;
  const waiting: Array<() => void> = [];

  const release = () => {
    const next = waiting.shift();
    // Hand the slot straight to the next waiter, so a newcomer cannot overtake it.
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
    capacity,
  };
}
