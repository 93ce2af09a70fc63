// bcrypt compares in a worker thread, so a ~100 ms compare never blocks scrapes or the poller on the event loop.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Resolves whether `password` matches the bcrypt `hash`; rejects only if the comparing itself broke. */
export type BcryptCompare = (password: string, hash: string) => Promise<boolean>;

export type BcryptWorker = {
  readonly compare: BcryptCompare;
  /** Ends the thread; compares still pending reject. The next compare would start a new thread. */
  close(): Promise<void>;
};

/**
 * The worker's source. It is plain JavaScript run with `eval: true` because the same code must work
 * from dist/*.js and from src/*.ts under vitest, where a worker file ending in .ts would not load.
 * bcryptjs is loaded from the URL the main thread resolved, since an eval worker has no module of
 * its own to resolve from; only import() is used, as eval code runs as CommonJS or, under
 * --input-type=module, as ESM. compareSync is right here: blocking this thread is the point.
 */
const WORKER_SOURCE = `
import('node:worker_threads').then(async ({ parentPort, workerData }) => {
  try {
    // Linux keeps a nice value per thread: lower this one's, so that where CPU is short the event
    // loop (scrapes, polls) runs first and guesses wait.
    const [{ readlinkSync }, { getPriority, setPriority }] = await Promise.all([import('node:fs'), import('node:os')]);
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, Math.max(getPriority(tid), workerData.nice)); // never raise it: that needs privileges
  } catch {
    // Not Linux, or not allowed: compares still run off the event loop, at the process's priority.
  }
  const loaded = await import(workerData.bcryptUrl);
  const bcrypt = loaded.default ?? loaded;
  parentPort.on('message', ({ id, password, hash }) => {
    let matches = false;
    try {
      matches = bcrypt.compareSync(password, hash);
    } catch {
      // bcryptjs throws only on malformed input, which is a failed login.
    }
    parentPort.postMessage({ id, matches });
  });
});
`;

/** The worker thread's nice value (Linux), unless the process is already nicer: well below the event loop, not starved outright. */
export const BCRYPT_NICE = 10;

type Pending = { resolve: (matches: boolean) => void; reject: (error: Error) => void };

/** One thread and the compares it holds; a thread that dies fails only its own compares. */
type Thread = { readonly worker: Worker; readonly pending: Map<number, Pending> };

/**
 * A lazily started worker thread running bcrypt compares one message at a time. The thread is
 * unref'd while idle, so it never keeps the process alive, and ref'd while a compare is pending, so
 * an awaited compare is not cut short by the process exiting under it.
 */
export function createBcryptWorker(): BcryptWorker {
  const bcryptUrl = pathToFileURL(createRequire(import.meta.url).resolve('bcryptjs')).href;
  let current: Thread | undefined;
  let nextId = 0;

  const start = (): Thread => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptUrl, nice: BCRYPT_NICE } });
    const thread: Thread = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', ({ id, matches }: { id: number; matches: boolean }) => {
      const job = thread.pending.get(id);
      thread.pending.delete(id);
      if (thread.pending.size === 0) worker.unref();
      job?.resolve(matches);
    });
    // A crashed thread fails what it held; the next compare starts a fresh one.
    const fail = (error: Error): void => {
      if (current === thread) current = undefined;
      for (const { reject } of thread.pending.values()) reject(error);
      thread.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`bcrypt worker exited with code ${code}`)));
    return thread;
  };

  return {
    compare(password, hash) {
      current ??= start();
      const { worker, pending } = current;
      const id = nextId++;
      return new Promise<boolean>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, password, hash });
      });
    },
    async close() {
      const thread = current;
      current = undefined;
      // terminate() fires 'exit', which rejects whatever the thread still held.
      if (thread) await thread.worker.terminate();
    },
  };
}
