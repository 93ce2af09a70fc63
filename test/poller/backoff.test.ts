// Retry delays: exponential, jittered into [½, 1) of the step, capped; and the per-account options.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffFor, retryDelayMs } from '../../src/poller/backoff.js';

const fixed = (value: number) => () => value;

describe('retryDelayMs', () => {
  const options = { baseMs: 1_000, maxMs: 100_000 };

  it.each<[number, number, number]>([
    [0, 0, 500],
    [0, 0.5, 750],
    [0, 0.999_999, 1_000],
    [1, 0, 1_000],
    [1, 0.5, 1_500],
    [2, 0, 2_000],
    [2, 0.25, 2_500],
    [3, 0.5, 6_000],
    [6, 0, 32_000],
    [7, 0.999, 100_000], // 127,936 capped
    [20, 0, 100_000],
  ])('attempt %d with random %d waits %d ms', (attempt, random, delay) => {
    expect(retryDelayMs(attempt, options, fixed(random))).toBe(delay);
  });

  it('rounds to whole milliseconds', () => {
    expect(retryDelayMs(0, { baseMs: 333, maxMs: 10_000 }, fixed(0))).toBe(167); // 166.5
    expect(retryDelayMs(0, { baseMs: 100, maxMs: 10_000 }, fixed(0.123))).toBe(56); // 56.15
  });

  it('never waits more than maxMs', () => {
    expect(retryDelayMs(0, { baseMs: 1_000, maxMs: 300 }, fixed(0))).toBe(300);
    expect(retryDelayMs(5, { baseMs: 1_000, maxMs: 1 }, fixed(0.7))).toBe(1);
  });

  it('calls random once per delay', () => {
    let calls = 0;
    retryDelayMs(2, options, () => {
      calls++;
      return 0.3;
    });
    expect(calls).toBe(1);
  });

  it('stays within [½, 1] of base × 2^attempt, capped, and grows with attempt and random', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 12 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (baseMs, maxMs, attempt, r1, r2) => {
          const opts = { baseMs, maxMs };
          const step = baseMs * 2 ** attempt;
          const delay = retryDelayMs(attempt, opts, fixed(r1));
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeLessThanOrEqual(Math.min(maxMs, step));
          expect(delay).toBeGreaterThanOrEqual(Math.round(Math.min(maxMs, step / 2)));
          const [lo, hi] = r1 <= r2 ? [r1, r2] : [r2, r1];
          expect(retryDelayMs(attempt, opts, fixed(lo))).toBeLessThanOrEqual(retryDelayMs(attempt, opts, fixed(hi)));
          expect(delay).toBeLessThanOrEqual(retryDelayMs(attempt + 1, opts, fixed(r1)));
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('backoffFor', () => {
  it.each<[number, { baseMs: number; maxMs: number }]>([
    [300_000, { baseMs: 1_000, maxMs: 100_000 }],
    [60_000, { baseMs: 1_000, maxMs: 20_000 }],
    [10_000, { baseMs: 1_000, maxMs: 3_333 }],
    [3_000, { baseMs: 300, maxMs: 1_000 }],
    [1_000, { baseMs: 100, maxMs: 333 }],
  ])('an interval of %d ms backs off with %j', (intervalMs, expected) => {
    expect(backoffFor(intervalMs)).toEqual(expected);
  });

  it('lets the default 2 retries finish well within the interval', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 86_400_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (intervalMs, r) => {
          const opts = backoffFor(intervalMs);
          const total = retryDelayMs(0, opts, fixed(r)) + retryDelayMs(1, opts, fixed(r));
          expect(total).toBeLessThanOrEqual(Math.ceil((2 * intervalMs) / 3));
          expect(opts.maxMs).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 500 },
    );
  });
});
