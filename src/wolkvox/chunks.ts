// Counter chunks: the local day cut into consecutive pieces of `step`, each queried once after it settles; pure.
import { addDays, instantOf, localDateAt, wallTimeAt, formatWolkvoxDate, type LocalDate, type WallTime, type WindowBounds } from './window.js';

const DAY_MS = 86_400_000;

/**
 * One piece of local time whose counts are added to the counters once (spec: History). Bounds are
 * in wall-clock time, as Wolkvox reads them: `dateEnd` is one second before the next chunk's
 * `dateIni`, so chunks never overlap and leave no gap as the server sees them.
 */
export type Chunk = WindowBounds & {
  /** The instant the next chunk starts: this one is complete then, and settles `delay` later. */
  nextStartMs: number;
};

/** A wall time read as if it were UTC, for arithmetic on the calendar fields. */
function wallMs(wall: WallTime): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
}

function wallOf(ms: number): WallTime {
  const date = new Date(ms);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
  };
}

function midnightOf(date: LocalDate): number {
  return Date.UTC(date.year, date.month - 1, date.day);
}

/**
 * The chunk that starts at instant `startMs` and runs to the next boundary of the day's grid:
 * local 00:00 + k × step, with the day's last chunk cut at the next local midnight. `startMs` is
 * normally a boundary itself (the previous chunk's `nextStartMs`); elsewhere (a reload that
 * changed the step or the zone) the chunk bridges to the next boundary, so nothing is lost.
 */
export function chunkStartingAt(startMs: number, stepMs: number, timeZone: string): Chunk {
  const start = Math.floor(startMs / 1000) * 1000;
  const wallStart = wallMs(wallTimeAt(start, timeZone));
  const date = localDateAt(start, timeZone);
  const dayStart = midnightOf(date);
  const nextMidnight = midnightOf(addDays(date, 1));
  const boundary = Math.min(dayStart + (Math.floor((wallStart - dayStart) / stepMs) + 1) * stepMs, nextMidnight);
  // The instant the next chunk starts. Where DST repeats wall-clock time the server cannot tell the
  // two passes apart, so a chunk ends after the later one; where DST skips it, nothing happens there.
  let nextStartMs = instantOf(wallOf(boundary), timeZone, 'later');
  if (nextStartMs <= start) nextStartMs = instantOf(wallOf(Math.min(boundary + stepMs, nextMidnight)), timeZone, 'later');
  return {
    startMs: start,
    endMs: nextStartMs - 1000,
    dateIni: formatWolkvoxDate(wallOf(wallStart)),
    dateEnd: formatWolkvoxDate(wallOf(boundary - 1000)),
    nextStartMs,
  };
}

/** The chunk of the grid that contains instant `ms`. */
export function chunkContaining(ms: number, stepMs: number, timeZone: string): Chunk {
  const date = localDateAt(ms, timeZone);
  const dayStart = midnightOf(date);
  const wall = wallMs(wallTimeAt(ms, timeZone));
  const gridStart = dayStart + Math.floor((wall - dayStart) / stepMs) * stepMs;
  // The earlier instant: in a repeated hour, ms may be in either pass, and both belong to this chunk.
  return chunkStartingAt(instantOf(wallOf(gridStart), timeZone), stepMs, timeZone);
}

/**
 * The first chunk a process started at `startedMs` adds to its counters: the first that settles
 * (ends, then waits `delayMs`) after the start (spec: a restarted process counts the chunks that
 * settle after its start).
 */
export function firstChunkAfterStart(startedMs: number, stepMs: number, delayMs: number, timeZone: string): Chunk {
  return chunkContaining(startedMs - delayMs, stepMs, timeZone);
}

/** When a chunk may be queried: `delayMs` after it ends, so late chats have settled. */
export function settlesAt(chunk: Chunk, delayMs: number): number {
  return chunk.nextStartMs + delayMs;
}

/**
 * The chunks from `fromMs` (a chunk start) up to `toMs`, consecutive: each starts where the last
 * one ended. Where `toMs` is not a boundary, the last chunk is cut there, so the chunks cover
 * exactly [fromMs, toMs): a backfill can end where a running exporter's counters began.
 */
export function chunksBetween(fromMs: number, toMs: number, stepMs: number, timeZone: string): Chunk[] {
  const chunks: Chunk[] = [];
  let at = fromMs;
  while (at < toMs) {
    const chunk = chunkStartingAt(at, stepMs, timeZone);
    if (chunk.nextStartMs > toMs) {
      const end = Math.floor(toMs / 1000) * 1000;
      if (end > chunk.startMs) {
        chunks.push({ ...chunk, endMs: end - 1000, dateEnd: formatWolkvoxDate(wallTimeAt(end - 1000, timeZone)), nextStartMs: end });
      }
      break;
    }
    chunks.push(chunk);
    at = chunk.nextStartMs;
  }
  return chunks;
}

/** The largest step: chunks never cross a local midnight. */
export const MAX_CHUNK_STEP_MS = DAY_MS;
