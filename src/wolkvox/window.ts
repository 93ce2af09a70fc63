// Window maths: (window, now, IANA zone) → the instants and the 14-digit wall-clock strings Wolkvox wants; pure.
import type { WindowSpec } from '../config/duration.js';

export { isClosedWindow } from '../config/duration.js';

/** Calendar date and wall-clock time in some zone; month is 1-12. */
export type WallTime = { year: number; month: number; day: number; hour: number; minute: number; second: number };

/** The bounds one chat_15 call queries. Both ends are inclusive, to the second. */
export type WindowBounds = {
  startMs: number;
  endMs: number;
  /** `date_ini`: startMs as YYYYmmddHHiiss wall-clock time in the account's zone. */
  dateIni: string;
  /** `date_end`: endMs the same way. */
  dateEnd: string;
};

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * Wall times already computed, by whole second and zone. Every account in a zone asks for the same instants (now,
 * the start of today, each chunk's ends), and formatToParts is slow and allocates: with 1,000 accounts it was most of
 * the start-up. Bounded: cleared when full, as the instants asked for move on with the clock.
 */
const knownWallTimes = new Map<string, WallTime>();
const KNOWN_WALL_TIMES_MAX = 4_096;

/** The wall-clock time at instant `ms` in `timeZone` (to the second: the fraction is dropped). Frozen: it may be shared. */
export function wallTimeAt(ms: number, timeZone: string): WallTime {
  const key = `${Math.floor(ms / 1000)} ${timeZone}`;
  const known = knownWallTimes.get(key);
  if (known) return known;
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const wall = Object.freeze({
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  });
  if (knownWallTimes.size >= KNOWN_WALL_TIMES_MAX) knownWallTimes.clear();
  knownWallTimes.set(key, wall);
  return wall;
}

/** A wall time read as if it were UTC: handy for arithmetic on calendar fields. */
function wallAsUtc(wall: WallTime): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
}

/** Offset of the zone from UTC at instant `ms`, in milliseconds (Bogotá: −5 h). */
export function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAsUtc(wallTimeAt(whole, timeZone)) - whole;
}

/**
 * The instant a wall-clock time names in a zone. Where DST makes it ambiguous, the earlier
 * instant (or the later one when asked: a chunk that ends there must wait for both passes);
 * where DST skips it (a gap), the instant the clock jumps to, which is the first moment of that
 * wall-clock hour that exists. By default the same rule as Temporal's "compatible".
 */
export function instantOf(wall: WallTime, timeZone: string, ambiguous: 'earlier' | 'later' = 'earlier'): number {
  const local = wallAsUtc(wall);
  // Offsets a day either side bracket any single DST change near this wall time.
  const before = offsetAt(local - DAY_MS, timeZone);
  const after = offsetAt(local + DAY_MS, timeZone);
  const candidates = [local - before, local - after].filter(
    (instant) => wallAsUtc(wallTimeAt(instant, timeZone)) === local,
  );
  if (candidates.length > 0) return ambiguous === 'earlier' ? Math.min(...candidates) : Math.max(...candidates);
  return local - before;
}

/** YYYYmmddHHiiss, 24-hour, as Wolkvox reads `date_ini`/`date_end`. */
export function formatWolkvoxDate(wall: WallTime): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(wall.year, 4)}${pad(wall.month)}${pad(wall.day)}${pad(wall.hour)}${pad(wall.minute)}${pad(wall.second)}`;
}

/** Reads a 14-digit Wolkvox date back into a wall time, or undefined when it is not one. */
export function parseWolkvoxDate(text: string): WallTime | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const wall = { year, month, day, hour, minute, second };
  const roundTrip = new Date(wallAsUtc(wall));
  const valid =
    roundTrip.getUTCFullYear() === year &&
    roundTrip.getUTCMonth() + 1 === month &&
    roundTrip.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60;
  return valid ? wall : undefined;
}

/** A calendar date; month is 1-12. Day arithmetic on it is plain calendar arithmetic, free of zones. */
export type LocalDate = { year: number; month: number; day: number };

/** The date `days` after (or before) `date`; months and years roll over, leap days included. */
export function addDays(date: LocalDate, days: number): LocalDate {
  const moved = new Date(Date.UTC(date.year, date.month - 1, date.day) + days * DAY_MS);
  return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: moved.getUTCDate() };
}

/** The first day of the month `months` after (or before) the month of `date`. */
export function firstOfMonth(date: LocalDate, months = 0): LocalDate {
  const moved = new Date(Date.UTC(date.year, date.month - 1 + months, 1));
  return { year: moved.getUTCFullYear(), month: moved.getUTCMonth() + 1, day: 1 };
}

/** The Monday on or before `date`: weeks start on Monday (ISO 8601), as marketing teams report them. */
export function mondayOf(date: LocalDate): LocalDate {
  const weekday = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay(); // 0 = Sunday
  return addDays(date, -((weekday + 6) % 7));
}

/** The local date at instant `ms`. */
export function localDateAt(ms: number, timeZone: string): LocalDate {
  const { year, month, day } = wallTimeAt(ms, timeZone);
  return { year, month, day };
}

/** The first instant of a local date: 00:00:00, or the first second that exists where DST skips midnight. */
export function startOfDate(date: LocalDate, timeZone: string): number {
  return instantOf({ ...date, hour: 0, minute: 0, second: 0 }, timeZone);
}

/** The first instant of the local calendar day that contains `ms`. */
export function startOfLocalDay(ms: number, timeZone: string): number {
  return startOfDate(localDateAt(ms, timeZone), timeZone);
}

/** The next local midnight after `ms`: when a paused quota resets (spec: quota_exceeded). */
export function nextLocalMidnight(ms: number, timeZone: string): number {
  return startOfDate(addDays(localDateAt(ms, timeZone), 1), timeZone);
}

function bounds(startMs: number, endMs: number, timeZone: string): WindowBounds {
  return {
    startMs,
    endMs,
    dateIni: formatWolkvoxDate(wallTimeAt(startMs, timeZone)),
    dateEnd: formatWolkvoxDate(wallTimeAt(endMs, timeZone)),
  };
}

/** A closed period: from the start of `first` to one second before the start of `next`, both local dates. */
function period(first: LocalDate, next: LocalDate, timeZone: string): WindowBounds {
  return bounds(startOfDate(first, timeZone), startOfDate(next, timeZone) - 1000, timeZone);
}

/**
 * The bounds to query for `spec` at instant `nowMs` (spec: Windows and the API call). Wolkvox
 * dates have whole seconds, so `now` is truncated to the second first. All periods are local.
 * - duration D: [now − D, now]
 * - today, week (from Monday), month (from the 1st): [local 00:00:00 of the first day, now]
 * - yesterday, last_week (Monday–Sunday), last_month: [00:00:00 of the first day, 23:59:59 of the last]
 */
export function computeWindow(spec: WindowSpec, nowMs: number, timeZone: string): WindowBounds {
  const now = Math.floor(nowMs / 1000) * 1000;
  const today = localDateAt(now, timeZone);
  switch (spec.kind) {
    case 'duration':
      return bounds(now - spec.durationMs, now, timeZone);
    case 'today':
      return bounds(startOfDate(today, timeZone), now, timeZone);
    case 'week':
      return bounds(startOfDate(mondayOf(today), timeZone), now, timeZone);
    case 'month':
      return bounds(startOfDate(firstOfMonth(today), timeZone), now, timeZone);
    case 'yesterday':
      return period(addDays(today, -1), today, timeZone);
    case 'last_week': {
      const monday = mondayOf(today);
      return period(addDays(monday, -7), monday, timeZone);
    }
    case 'last_month':
      return period(firstOfMonth(today, -1), firstOfMonth(today), timeZone);
  }
}
