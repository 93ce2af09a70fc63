// The schedule's pure timing rules (first-run spread, phase slots), its start-up spread and no-overlap guarantee, on fake timers.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createSchedule,
  FIRST_POLL_SPREAD_MS,
  FIRST_POLLS_PER_SECOND,
  firstRunStepMs,
  MAX_START_UP_SPREAD_MS,
  nextSlotMs,
  SMALL_START_COUNT,
  type Task,
} from '../../src/poller/schedule.js';

describe('firstRunStepMs', () => {
  const M = 60_000;
  it.each([
    // count, interval → step (ms)
    [1, Infinity, 50],
    [18, Infinity, 50],
    [50, 5 * M, 18],
    // Past a small start: 50 a second...
    [51, 5 * M, 20],
    [100, 5 * M, 20],
    [100, Infinity, 20],
    [3_000, 5 * M, 20],
    // ...squeezed into 60 s...
    [6_000, 5 * M, 10],
    [12_000, Infinity, 5],
    // ...and into a quarter of a shorter interval.
    [3_000, M, 5],
    [100, 1_000, 2.5],
    // A small start keeps its sub-second spread whatever the interval (as before).
    [10, 1_000, 50],
  ])('spreads %i first runs (interval %f ms) %f ms apart', (count, interval, step) => {
    expect(firstRunStepMs(count, interval)).toBeCloseTo(step, 9);
  });

  const count = fc.integer({ min: 1, max: 200_000 });
  const interval = fc.oneof(fc.integer({ min: 1_000, max: 31 * 86_400_000 }), fc.constant(Infinity));

  it('starts a small config within the sub-second spread, and any config within min(60 s, interval / 4)', () => {
    fc.assert(
      fc.property(count, interval, (n, i) => {
        const last = (n - 1) * firstRunStepMs(n, i);
        return n <= SMALL_START_COUNT ? last < FIRST_POLL_SPREAD_MS : last < Math.min(MAX_START_UP_SPREAD_MS, i / 4);
      }),
    );
  });

  it('never sends a large start faster than it must: 50 a second unless that would overrun the bound', () => {
    fc.assert(
      fc.property(count, interval, (n, i) => {
        const step = firstRunStepMs(n, i);
        if (n <= SMALL_START_COUNT) return step > 0 && step <= 50;
        const bound = Math.min(MAX_START_UP_SPREAD_MS, i / 4);
        return step <= 1_000 / FIRST_POLLS_PER_SECOND && (n * (1_000 / FIRST_POLLS_PER_SECOND) > bound || step === 1_000 / FIRST_POLLS_PER_SECOND);
      }),
    );
  });

  it('never ends a bigger start sooner than a smaller one (intervals of 4 × the small spread or more)', () => {
    fc.assert(
      fc.property(count, fc.integer({ min: 4 * FIRST_POLL_SPREAD_MS, max: 86_400_000 }), (n, i) => {
        const last = (k: number) => (k - 1) * firstRunStepMs(k, i);
        return last(n + 1) >= last(n) - 1e-9;
      }),
    );
  });
});

describe('nextSlotMs', () => {
  it.each([
    // anchor, phase, interval, now → next
    [0, 0, 100, 0, 100],
    [0, 0, 100, 99, 100],
    [0, 0, 100, 100, 200],
    [0, 0, 100, 350, 400],
    [0, 30, 100, 0, 130],
    [0, 30, 100, 131, 230],
  ])('anchor %i phase %i interval %i at %i → %i', (anchor, phase, interval, now, next) => {
    expect(nextSlotMs(anchor, phase, interval, now)).toBe(next);
  });

  it('is always ahead of now, on the phase grid, and skips slot 0', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e9 }),
        fc.integer({ min: 1, max: 1e6 }),
        fc.nat(),
        fc.integer({ min: 0, max: 1e8 }),
        (anchor, interval, phaseSeed, elapsed) => {
          const phase = phaseSeed % interval;
          const next = nextSlotMs(anchor, phase, interval, anchor + elapsed);
          return next > anchor + elapsed && (next - anchor - phase) % interval === 0 && next >= anchor + phase + interval;
        },
      ),
    );
  });
});

describe('createSchedule', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => vi.useRealTimers());

  const clock = { now: () => Date.now() };

  it('never runs a task while its previous run, or the run of the task it replaced, is in progress', async () => {
    const schedule = createSchedule({ clock });
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    const task = (key: string): Task => ({
      key,
      async run() {
        runs++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 250));
        inFlight--;
      },
      nextRunAt: (now) => now + 100,
    });
    schedule.add([task('a')]);
    schedule.start();
    await vi.advanceTimersByTimeAsync(120);
    // Replace the task while its run is in progress: the replacement waits for it.
    const running = schedule.remove('a');
    expect(running).toBeDefined();
    schedule.add([task('a')], new Map([['a', running!]]));
    void schedule.runAll();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(maxInFlight).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(3);
    const stopped = schedule.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopped;
    // No timer is left behind once stopped.
    expect(vi.getTimerCount()).toBe(0);
  });

  /** Tasks that record when they run and recur every `intervalMs` from their anchor. */
  const recorded = (prefix: string, count: number, intervalMs: number, runs: Map<string, number[]>): Task[] =>
    Array.from({ length: count }, (_, i) => ({
      key: `${prefix}${i}`,
      intervalMs,
      run: async () => void runs.set(`${prefix}${i}`, [...(runs.get(`${prefix}${i}`) ?? []), Date.now()]),
      nextRunAt: (now, anchor) => nextSlotMs(anchor, 0, intervalMs, now),
    }));

  it('starts a small batch within a second, and a large one by the rule, each task keeping its first run as its phase', async () => {
    const runs = new Map<string, number[]>();
    const schedule = createSchedule({ clock });
    schedule.add(recorded('small-', 10, 60_000, runs));
    schedule.start();
    await vi.advanceTimersByTimeAsync(FIRST_POLL_SPREAD_MS);
    expect(runs.size).toBe(10);

    // A reload adding 200 tasks at an 8 s interval: spread over 2 s (a quarter of it), not one tick.
    const at = Date.now();
    schedule.add(recorded('big-', 200, 8_000, runs));
    const started = () => [...runs.keys()].filter((key) => key.startsWith('big-')).length;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started()).toBeGreaterThan(90);
    expect(started()).toBeLessThan(110);
    await vi.advanceTimersByTimeAsync(1_000);
    const firsts = Array.from({ length: 200 }, (_, i) => runs.get(`big-${i}`)![0]! - at);
    expect(firsts.every((ms) => ms >= 0 && ms < 2_000)).toBe(true);
    expect(firsts[199]! - firsts[0]!).toBeGreaterThan(1_900);

    // One interval on, the second runs keep the same spread.
    await vi.advanceTimersByTimeAsync(8_000);
    for (let i = 0; i < 200; i++) expect(runs.get(`big-${i}`)![1]! - runs.get(`big-${i}`)![0]!).toBe(8_000);
    await schedule.stop();
  });

  it('is ready once every task finished its first run, and stays ready', async () => {
    const schedule = createSchedule({ clock });
    schedule.add([
      { key: 'a', run: () => new Promise((resolve) => setTimeout(resolve, 10)), nextRunAt: (now) => now + 1_000 },
      { key: 'b', run: () => new Promise((resolve) => setTimeout(resolve, 500)), nextRunAt: (now) => now + 1_000 },
    ]);
    expect(schedule.ready()).toBe(false);
    schedule.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(schedule.ready()).toBe(false);
    await vi.advanceTimersByTimeAsync(500);
    expect(schedule.ready()).toBe(true);
    schedule.add([{ key: 'c', run: () => new Promise(() => undefined), nextRunAt: (now) => now + 1_000 }]);
    expect(schedule.ready()).toBe(true);
  });
});
