// Properties of the simulator's count curve: non-negative, additive, monotone, growing through the day.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  countsBetween,
  countsForWindow,
  formatWolkvoxDate,
  isZero,
  parseWolkvoxDate,
  type Chat15Counts,
} from '../../src/simulator/data.js';

const FIELDS = ['ad_chatbot', 'ad_agents', 'post_chatbot', 'post_agents', 'total_chatbot', 'total_agents'] as const;
const DAY = 86_400;
const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number => Date.UTC(y, mo - 1, d, h, mi, s) / 1000;

const sum = (a: Chat15Counts, b: Chat15Counts): Chat15Counts =>
  Object.fromEntries(FIELDS.map((f) => [f, a[f] + b[f]])) as Chat15Counts;

// Instants from 2019 (before nothing changes) into 2031, whole seconds, naive wall clock.
const instant = fc.integer({ min: at(2019, 6, 1), max: at(2031, 1, 1) });
const seed = fc.integer({ min: -1000, max: 100_000 });

describe('countsForWindow', () => {
  it('counts both ends, to the second, as Wolkvox reads date_ini and date_end', () => {
    expect(countsForWindow('20250310000000', '20250310095959', 1)).toEqual(countsBetween(at(2025, 3, 10), at(2025, 3, 10, 10), 1));
    expect(countsForWindow('20250310000000', '20250310100000', 1)).toEqual(countsBetween(at(2025, 3, 10), at(2025, 3, 10, 10) + 1, 1));
  });

  it('is deterministic and gives a plausible weekday for seed 1', () => {
    const day = countsForWindow('20250311000000', '20250312000000', 1); // a Tuesday
    expect(countsForWindow('20250311000000', '20250312000000', 1)).toEqual(day);
    const all = day.total_chatbot + day.total_agents;
    expect(all).toBeGreaterThan(800);
    expect(all).toBeLessThan(4000);
    expect(day.total_chatbot).toBeGreaterThan(day.ad_chatbot + day.post_chatbot);
    expect(day.total_agents).toBeGreaterThan(day.ad_agents + day.post_agents);
  });

  it('peaks at about 3 chats a minute for seed 1 and is nearly idle at night', () => {
    const peakHour = countsBetween(at(2025, 3, 11, 10, 30), at(2025, 3, 11, 11, 30), 1);
    const perMinute = (peakHour.total_chatbot + peakHour.total_agents) / 60;
    expect(perMinute).toBeGreaterThan(2);
    expect(perMinute).toBeLessThan(4.5);
    const night = countsBetween(at(2025, 3, 11, 3), at(2025, 3, 11, 4), 1);
    expect(night.total_chatbot + night.total_agents).toBeLessThan(perMinute * 60 * 0.1);
  });

  it('grows through the day', () => {
    const morning = countsForWindow('20250311000000', '20250311100000', 1);
    const evening = countsForWindow('20250311000000', '20250311200000', 1);
    for (const f of FIELDS) expect(evening[f]).toBeGreaterThan(morning[f]);
  });

  it('is quieter on Sunday than on Monday', () => {
    const sunday = countsForWindow('20250316000000', '20250317000000', 1);
    const monday = countsForWindow('20250317000000', '20250318000000', 1);
    expect(sunday.total_chatbot).toBeLessThan(monday.total_chatbot);
  });

  it('differs between seeds', () => {
    const a = countsForWindow('20250311000000', '20250312000000', 1);
    const b = countsForWindow('20250311000000', '20250312000000', 2);
    expect(b).not.toEqual(a);
  });

  it('is zero for a 0-second window and for dates before 2000', () => {
    expect(isZero(countsForWindow('20250311120000', '20250311120000', 1))).toBe(true);
    expect(isZero(countsForWindow('19990101000000', '19990131000000', 1))).toBe(true);
  });

  it.each([
    ['20250311', '20250312000000'],
    ['20250230000000', '20250301000000'],
    ['20250311000000', '2025031124000x'],
  ])('rejects ill-formed dates %s..%s', (ini, end) => {
    expect(() => countsForWindow(ini, end, 1)).toThrow(RangeError);
  });

  it('rejects an end before the start and a fractional seed', () => {
    expect(() => countsForWindow('20250311100000', '20250311000000', 1)).toThrow(RangeError);
    expect(() => countsForWindow('20250311000000', '20250311100000', 1.5)).toThrow(RangeError);
  });

  // How fast is for the bench (bench/simulator.ts): a time limit here fails on a busy machine and says nothing of the answers.
  it('answers 1,000 31-day windows from the warm per-seed cache exactly as after it was dropped', () => {
    const starts = Array.from({ length: 1000 }, (_, i) => at(2025, 1, 1) + i * 3_607);
    const warm = starts.map((start) => countsBetween(start, start + 31 * DAY, 7));
    expect(warm).toHaveLength(1000);
    expect(new Set(warm.map((c) => JSON.stringify(c))).size).toBeGreaterThan(900);
    for (const i of [0, 1, 333, 998, 999]) {
      // The cache keeps 16 seeds: 16 others push seed 7 out, so it is filled again from the origin.
      for (let other = 0; other < 16; other++) countsBetween(at(2025, 1, 1), at(2025, 1, 2), 50_000 + other);
      expect(countsBetween(starts[i]!, starts[i]! + 31 * DAY, 7), `window ${i}`).toEqual(warm[i]);
    }
  });
});

describe('countsBetween properties', () => {
  it('gives non-negative integers with totals >= ad + post', () => {
    fc.assert(
      fc.property(seed, instant, fc.integer({ min: 0, max: 31 * DAY }), (s, start, span) => {
        const c = countsBetween(start, start + span, s);
        for (const f of FIELDS) {
          expect(Number.isSafeInteger(c[f])).toBe(true);
          expect(c[f]).toBeGreaterThanOrEqual(0);
        }
        expect(c.total_chatbot).toBeGreaterThanOrEqual(c.ad_chatbot + c.post_chatbot);
        expect(c.total_agents).toBeGreaterThanOrEqual(c.ad_agents + c.post_agents);
      }),
    );
  });

  it('adds up exactly over adjacent windows', () => {
    fc.assert(
      fc.property(seed, fc.array(instant, { minLength: 3, maxLength: 3 }), (s, points) => {
        const [a, b, c] = [...points].sort((x, y) => x - y) as [number, number, number];
        expect(sum(countsBetween(a, b, s), countsBetween(b, c, s))).toEqual(countsBetween(a, c, s));
      }),
    );
  });

  it('never shrinks when the window grows', () => {
    fc.assert(
      fc.property(seed, instant, fc.nat(40 * DAY), fc.nat(40 * DAY), (s, start, x, y) => {
        const shorter = countsBetween(start, start + Math.min(x, y), s);
        const longer = countsBetween(start, start + Math.max(x, y), s);
        for (const f of FIELDS) expect(longer[f]).toBeGreaterThanOrEqual(shorter[f]);
      }),
    );
  });

  it('stays exact and bounded out to the 2100 horizon', () => {
    fc.assert(
      fc.property(fc.integer({ min: at(2000, 1, 1), max: at(2120, 1, 1) }), fc.nat(31 * DAY), (start, span) => {
        const c = countsBetween(start, start + span, 3);
        for (const f of FIELDS) expect(c[f]).toBeGreaterThanOrEqual(0);
        // 31 days can never hold more than 31 × 1440 minutes × 10 chats.
        expect(c.total_chatbot + c.total_agents).toBeLessThan(31 * 1440 * 10);
      }),
      { numRuns: 50 },
    );
  });
});

describe('parseWolkvoxDate / formatWolkvoxDate', () => {
  it('round-trips every whole second of 1000..9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: at(1000, 1, 1), max: at(9999, 12, 31, 23, 59, 59) }), (t) => {
        const text = formatWolkvoxDate(t);
        expect(text).toMatch(/^\d{14}$/);
        expect(parseWolkvoxDate(text)).toBe(t);
      }),
    );
  });

  it.each(['', '2025031100000', '202503110000000', '20251311000000', '20250229000000', '20250311240000', '20250311006000', '2025-03-11T00', '２０２５０３１１００００００'])(
    'rejects %j',
    (text) => {
      expect(parseWolkvoxDate(text)).toBeUndefined();
    },
  );

  it('reads years below 100 literally', () => {
    expect(parseWolkvoxDate('00500101000000')).toBe(new Date('0050-01-01T00:00:00Z').getTime() / 1000);
    expect(formatWolkvoxDate(parseWolkvoxDate('00500101000000') ?? 0)).toBe('00500101000000');
  });
});
