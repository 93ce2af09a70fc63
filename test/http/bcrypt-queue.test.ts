// Tests the one-at-a-time queue in front of bcrypt: order, the bound, and that a failed task frees its place.
import { describe, expect, it, vi } from 'vitest';
import { createSerialQueue } from '../../src/http/bcrypt-queue.js';

/** A task the test finishes by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('createSerialQueue', () => {
  it('runs tasks one after another, in the order they came', async () => {
    const queue = createSerialQueue(2);
    const started: number[] = [];
    const tasks = [deferred<number>(), deferred<number>(), deferred<number>()];
    const results = tasks.map((task, i) =>
      queue.run(() => {
        started.push(i);
        return task.promise;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0]);
    tasks[0]?.resolve(0);
    await results[0];
    await new Promise((resolve) => setImmediate(resolve)); // let the queue's promise chain run
    expect(started).toEqual([0, 1]);
    tasks[1]?.resolve(1);
    tasks[2]?.resolve(2);
    expect(await Promise.all(results)).toEqual([0, 1, 2]);
    expect(started).toEqual([0, 1, 2]);
  });

  it('refuses a task, without calling it, when maxQueued tasks already wait', async () => {
    const queue = createSerialQueue(1);
    const running = deferred<string>();
    const first = queue.run(() => running.promise);
    const second = queue.run(async () => 'second');
    const refused = vi.fn(async () => 'third');
    expect(queue.run(refused)).toBeUndefined();
    expect(refused).not.toHaveBeenCalled();
    running.resolve('first');
    expect([await first, await second]).toEqual(['first', 'second']);
    // Drained: there is room again.
    expect(await queue.run(async () => 'fourth')).toBe('fourth');
  });

  it('with maxQueued 0 runs one task and refuses everything while it runs', async () => {
    const queue = createSerialQueue(0);
    const running = deferred<void>();
    const first = queue.run(() => running.promise);
    expect(queue.run(async () => undefined)).toBeUndefined();
    running.resolve();
    await first;
    expect(queue.run(async () => 'next')).toBeDefined();
  });

  it('frees the place of a task that throws or rejects', async () => {
    const queue = createSerialQueue(0);
    await expect(queue.run(() => Promise.reject(new Error('rejected')))).rejects.toThrow('rejected');
    await expect(
      queue.run(() => {
        throw new Error('thrown');
      }),
    ).rejects.toThrow('thrown');
    expect(await queue.run(async () => 'after')).toBe('after');
  });
});
