// The schedule's pure timing rules (first-run spread, phase slots) and its no-overlap guarantee, on fake timers.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSchedule, FIRST_POLL_SPREAD_MS, firstRunStepMs, nextSlotMs, type Task } from '../../src/poller/schedule.js';

describe('firstRunStepMs', () => {
  it.each([
    [1, 50],
    [18, 50],
    [100, 9],
    [3000, 0.3],
  ])('spreads %i first runs %f ms apart', (count, step) => {
    expect(firstRunStepMs(count)).toBeCloseTo(step, 5);
  });

  it('starts any number of first runs within the spread', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100_000 }), (count) => (count - 1) * firstRunStepMs(count) < FIRST_POLL_SPREAD_MS));
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
