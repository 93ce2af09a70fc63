// A fake clock for tests that run real loopback I/O: timers (and optionally Date) move only when the test says.
import { vi } from 'vitest';

type OnFinished = (fn: () => Promise<void> | void) => void;

/**
 * Fakes setTimeout and clearTimeout, and Date with `date`, until the test ends. setInterval, setImmediate,
 * performance.now() and node:timers stay real, so servers can trickle, I/O completes, and waitFor() still has a
 * real deadline. Returns the fake time at the start.
 */
export function useFakeClock(onFinished: OnFinished, options: { date?: boolean } = {}): number {
  vi.useFakeTimers({ toFake: options.date ? ['setTimeout', 'clearTimeout', 'Date'] : ['setTimeout', 'clearTimeout'] });
  onFinished(() => void vi.useRealTimers());
  return Date.now();
}

/** Lets everything happen that needs no timer: pending I/O callbacks, then a (real) setImmediate. */
export function settleIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise and whether it has settled yet, to check that a call is still waiting. */
export function track<T>(promise: Promise<T>): { promise: Promise<T>; settled(): boolean } {
  let done = false;
  promise.then(
    () => void (done = true),
    () => void (done = true),
  );
  return { promise, settled: () => done };
}
