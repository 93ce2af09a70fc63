// One bcrypt compare at a time behind a short queue: past it, callers are refused instead of piling up.

/** Compares allowed to wait behind the running one (at cost 10, about half a second of work in all). */
export const BCRYPT_QUEUE_SIZE = 4;

export type SerialQueue = {
  /**
   * Runs `task` once every task before it has settled. Returns undefined, without calling `task`,
   * when `maxQueued` tasks are already waiting: the caller answers "busy" rather than wait.
   */
  run<T>(task: () => Promise<T>): Promise<T> | undefined;
};

/**
 * A FIFO that runs one task at a time. exporter-toolkit serialises bcrypt with a mutex for the same
 * reason (it is CPU-bound; two at once only make both slower), but its queue is unbounded, so a
 * flood of guesses delays every new login without limit; this one is bounded.
 */
export function createSerialQueue(maxQueued: number = BCRYPT_QUEUE_SIZE): SerialQueue {
  let running = false;
  const waiting: Array<() => void> = [];

  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running = false;
  };

  const runNow = <T>(task: () => Promise<T>): Promise<T> => {
    let result: Promise<T>;
    try {
      result = task();
    } catch (error) {
      result = Promise.reject(error as Error);
    }
    return result.finally(release);
  };

  return {
    run(task) {
      if (!running) {
        running = true;
        return runNow(task);
      }
      if (waiting.length >= maxQueued) return undefined;
      return new Promise<void>((resolve) => waiting.push(resolve)).then(() => runNow(task));
    },
  };
}
