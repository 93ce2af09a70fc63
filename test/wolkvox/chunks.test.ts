// Counter chunks: boundaries per zone (DST gaps and repeated hours included), and properties: contiguous, disjoint, exact sums.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countsBetween, formatWolkvoxDate as formatNaive, parseWolkvoxDate as naiveSeconds } from '../../src/simulator/data.js';
import { chunkContaining, chunksBetween, chunkStartingAt, firstChunkAfterStart, settlesAt, type Chunk } from '../../src/wolkvox/chunks.js';
import { formatWolkvoxDate, instantOf, parseWolkvoxDate, wallTimeAt } from '../../src/wolkvox/window.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const at = (iso: string) => Date.parse(iso);

/** The wall-clock seconds of a 14-digit date, read naively (as the simulator and Wolkvox read them). */
function wallSeconds(text: string): number {
  const seconds = naiveSeconds(text);
  if (seconds === undefined) throw new Error(`not a Wolkvox date: ${text}`);
  return seconds;
}

const brief = (chunk: Chunk) => [chunk.dateIni, chunk.dateEnd, new Date(chunk.startMs).toISOString(), new Date(chunk.nextStartMs).toISOString()];

describe('chunk boundaries', () => {
  it.each<[string, number, string, string, [string, string, string, string]]>([
    ['Bogotá 1h', HOUR, '2024-06-15T15:20:00Z', 'America/Bogota', ['20240615100000', '20240615105959', '2024-06-15T15:00:00.000Z', '2024-06-15T16:00:00.000Z']],
    ['Bogotá 15m', 15 * MINUTE, '2024-06-15T15:20:00Z', 'America/Bogota', ['20240615101500', '20240615102959', '2024-06-15T15:15:00.000Z', '2024-06-15T15:30:00.000Z']],
    ['Bogotá 1d', DAY, '2024-06-15T15:20:00Z', 'America/Bogota', ['20240615000000', '20240615235959', '2024-06-15T05:00:00.000Z', '2024-06-16T05:00:00.000Z']],
    // A step that does not divide the day: the last chunk is cut at midnight.
    ['Bogotá 7h, last of the day', 7 * HOUR, '2024-06-16T03:00:00Z', 'America/Bogota', ['20240615210000', '20240615235959', '2024-06-16T02:00:00.000Z', '2024-06-16T05:00:00.000Z']],
    // Madrid springs forward 02:00 → 03:00 on 2024-03-31: the 01:00 chunk ends when the clock jumps.
    ['Madrid 1h before the gap', HOUR, '2024-03-31T00:30:00Z', 'Europe/Madrid', ['20240331010000', '20240331015959', '2024-03-31T00:00:00.000Z', '2024-03-31T01:00:00.000Z']],
    ['Madrid 1h after the gap', HOUR, '2024-03-31T01:30:00Z', 'Europe/Madrid', ['20240331030000', '20240331035959', '2024-03-31T01:00:00.000Z', '2024-03-31T02:00:00.000Z']],
    // Mexico City fell back 02:00 → 01:00 on 2021-10-31: the 01:00 chunk waits for both passes of that hour.
    ['Mexico City 1h, first pass of the repeated hour', HOUR, '2021-10-31T06:30:00Z', 'America/Mexico_City', ['20211031010000', '20211031015959', '2021-10-31T06:00:00.000Z', '2021-10-31T08:00:00.000Z']],
    ['Mexico City 1h, second pass of the repeated hour', HOUR, '2021-10-31T07:30:00Z', 'America/Mexico_City', ['20211031010000', '20211031015959', '2021-10-31T06:00:00.000Z', '2021-10-31T08:00:00.000Z']],
    // Santiago jumps 00:00 → 01:00 on 2024-09-08: that day's chunks start at 01:00.
    ['Santiago 1d on a day that starts at 01:00', DAY, '2024-09-08T15:00:00Z', 'America/Santiago', ['20240908010000', '20240908235959', '2024-09-08T04:00:00.000Z', '2024-09-09T03:00:00.000Z']],
    // Santiago falls back 24:00 → 23:00 on 2024-04-06: the day's last hour happens twice.
    ['Santiago 1h over the repeated 23:00', HOUR, '2024-04-07T03:30:00Z', 'America/Santiago', ['20240406230000', '20240406235959', '2024-04-07T02:00:00.000Z', '2024-04-07T04:00:00.000Z']],
  ])('%s', (_name, step, ms, zone, expected) => {
    expect(brief(chunkContaining(at(ms), step, zone))).toEqual(expected);
  });

  it('follows a chunk with the next one: no gap and no overlap in instants or in wall-clock dates', () => {
    const first = chunkContaining(at('2024-06-15T15:20:00Z'), HOUR, 'America/Bogota');
    const next = chunkStartingAt(first.nextStartMs, HOUR, 'America/Bogota');
    expect(brief(next)).toEqual(['20240615110000', '20240615115959', '2024-06-15T16:00:00.000Z', '2024-06-15T17:00:00.000Z']);
    expect(first.endMs).toBe(next.startMs - SECOND);
  });

  it('bridges a start off the grid (a reload that changed the step) to the next boundary', () => {
    const bridge = chunkStartingAt(at('2024-06-15T15:20:00Z'), HOUR, 'America/Bogota');
    expect(brief(bridge)).toEqual(['20240615102000', '20240615105959', '2024-06-15T15:20:00.000Z', '2024-06-15T16:00:00.000Z']);
  });

  it('cuts the last chunk where the range ends off the grid, so chunks cover exactly the range', () => {
    const chunks = chunksBetween(at('2024-06-15T15:00:00Z'), at('2024-06-15T17:30:00Z'), HOUR, 'America/Bogota');
    expect(chunks.map((c) => [c.dateIni, c.dateEnd])).toEqual([
      ['20240615100000', '20240615105959'],
      ['20240615110000', '20240615115959'],
      ['20240615120000', '20240615122959'],
    ]);
    expect(chunks.at(-1)?.nextStartMs).toBe(at('2024-06-15T17:30:00Z'));
  });

  it('starts a process with the first chunk that settles after its start', () => {
    // 10:10 in Bogotá with a 15m delay: the 09:00 chunk settles at 10:15, after the start, so it counts.
    const early = firstChunkAfterStart(at('2024-06-15T15:10:00Z'), HOUR, 15 * MINUTE, 'America/Bogota');
    expect(early.dateIni).toBe('20240615090000');
    expect(settlesAt(early, 15 * MINUTE)).toBe(at('2024-06-15T15:15:00Z'));
    // 10:20: the 09:00 chunk settled at 10:15, before the start; the 10:00 chunk is the first.
    const late = firstChunkAfterStart(at('2024-06-15T15:20:00Z'), HOUR, 15 * MINUTE, 'America/Bogota');
    expect(late.dateIni).toBe('20240615100000');
  });
});

describe('chunk properties', () => {
  const zones = fc.constantFrom('America/Bogota', 'America/Santiago', 'America/Mexico_City', 'America/Sao_Paulo', 'Europe/Madrid', 'UTC', 'Asia/Kolkata');
  const steps = fc.constantFrom(MINUTE * 30, HOUR, 2 * HOUR, 7 * HOUR, 12 * HOUR, DAY, 45 * MINUTE);
  // Around the years with DST changes in the zones above.
  const instant = fc.integer({ min: Date.UTC(2015, 0, 1), max: Date.UTC(2030, 0, 1) });

  it('are contiguous and disjoint, in instants and in wall-clock dates, and never longer than the step on the wall clock', () => {
    fc.assert(
      fc.property(instant, zones, steps, fc.integer({ min: 1, max: 4 }), (start, zone, step, days) => {
        const first = chunkContaining(start, step, zone);
        const chunks = chunksBetween(first.startMs, first.startMs + days * DAY, step, zone);
        expect(chunks.length).toBeGreaterThan(0);
        chunks.forEach((chunk, index) => {
          expect(chunk.nextStartMs).toBeGreaterThan(chunk.startMs);
          expect(chunk.endMs).toBe(chunk.nextStartMs - SECOND);
          expect(wallSeconds(chunk.dateEnd)).toBeGreaterThanOrEqual(wallSeconds(chunk.dateIni));
          expect((wallSeconds(chunk.dateEnd) + 1 - wallSeconds(chunk.dateIni)) * SECOND).toBeLessThanOrEqual(step);
          // A chunk never crosses a local midnight.
          expect(chunk.dateIni.slice(0, 8)).toBe(chunk.dateEnd.slice(0, 8));
          const previous = chunks[index - 1];
          if (!previous) return;
          expect(chunk.startMs).toBe(previous.nextStartMs);
          const gapSeconds = wallSeconds(chunk.dateIni) - (wallSeconds(previous.dateEnd) + 1);
          // Wall-clock dates follow on, except across wall-clock time that DST skips (nothing happens there).
          if (gapSeconds !== 0) {
            expect(gapSeconds).toBeGreaterThan(0);
            expect(gapSeconds * SECOND).toBeLessThanOrEqual(HOUR);
            const skipped = parseWolkvoxDate(formatNaive(wallSeconds(previous.dateEnd) + 1))!;
            expect(formatWolkvoxDate(wallTimeAt(instantOf(skipped, zone), zone))).not.toBe(formatWolkvoxDate(skipped));
          }
        });
      }),
      {
        numRuns: 400,
        // Days that DST makes 23 or 25 hours long, found by earlier runs.
        examples: [
          [1518832800000, 'America/Sao_Paulo', DAY, 1],
          [1775271600000, 'America/Santiago', DAY, 1],
          [1712372400000, 'America/Santiago', DAY, 1],
        ],
      },
    );
  });

  it('add up to exactly the count of the whole range, per second, as the simulator counts it', () => {
    fc.assert(
      fc.property(instant, zones, steps, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 99 }), (start, zone, step, days, seed) => {
        const first = chunkContaining(start, step, zone);
        const chunks = chunksBetween(first.startMs, first.startMs + days * DAY, step, zone);
        const last = chunks.at(-1)!;
        // Both ends inclusive, to the second, as Wolkvox reads date_ini and date_end.
        const count = (ini: string, end: string) => countsBetween(wallSeconds(ini), wallSeconds(end) + 1, seed);
        const whole = count(first.dateIni, last.dateEnd);
        const sum = { ad_chatbot: 0, ad_agents: 0, post_chatbot: 0, post_agents: 0, total_chatbot: 0, total_agents: 0 };
        const add = (part: typeof sum) => {
          for (const field of Object.keys(sum) as Array<keyof typeof sum>) sum[field] += part[field];
        };
        chunks.forEach((chunk, index) => {
          add(count(chunk.dateIni, chunk.dateEnd));
          // The simulator counts wall-clock seconds that DST skips too; the chunks rightly skip them.
          const previous = chunks[index - 1];
          if (previous && wallSeconds(chunk.dateIni) > wallSeconds(previous.dateEnd) + 1) {
            add(countsBetween(wallSeconds(previous.dateEnd) + 1, wallSeconds(chunk.dateIni), seed));
          }
        });
        expect(sum).toEqual(whole);
      }),
      { numRuns: 200, examples: [[1775271600000, 'America/Santiago', DAY, 1, 1], [1712372400000, 'America/Santiago', DAY, 1, 1]] },
    );
  });

  it('round-trip: every date is 14 digits and names a real wall-clock time', () => {
    fc.assert(
      fc.property(instant, zones, steps, (start, zone, step) => {
        const chunk = chunkContaining(start, step, zone);
        expect(parseWolkvoxDate(chunk.dateIni)).toBeDefined();
        expect(parseWolkvoxDate(chunk.dateEnd)).toBeDefined();
        expect(chunk.startMs).toBeLessThanOrEqual(start);
        expect(chunk.nextStartMs).toBeGreaterThan(start);
      }),
    );
  });
});
