// Seeded, plausible chat_15 counts that grow through the day, taken from one cumulative curve so windows add up.

export type Chat15Counts = {
  ad_chatbot: number;
  ad_agents: number;
  post_chatbot: number;
  post_agents: number;
  total_chatbot: number;
  total_agents: number;
};

// Everything below is integer arithmetic on purpose: with exact integers the cumulative
// curve is exactly non-decreasing, so counts are additive and monotone with no float
// rounding surprises at day or minute boundaries.

const SECONDS_PER_DAY = 86_400;
const MINUTES_PER_DAY = 1_440;

/** First simulated day; before it there are no chats. Naive wall-clock seconds. */
const ORIGIN_SECONDS = Date.UTC(2000, 0, 1) / 1000;
/** Days 2000-01-01 .. 2100-01-01; after it nothing more happens, which bounds the cache. */
const HORIZON_DAYS = 36_525;

/** The per-second rate is stored in units of 1/RATE_UNIT chats. */
const RATE_UNIT = 10_000;
/** Day factors are integers in units of 1/FACTOR_UNIT. */
const FACTOR_UNIT = 64;
/** 0.05 chats/s = 3 chats/minute at the busiest minute of an average weekday, before the seed scale. */
const PEAK_RATE = 500;

// Field shares of all chats, in percent. `other_*` are chats from neither an ad nor a post:
// Wolkvox does not say whether total_* include other origins, so the simulator makes them
// do, which keeps totals >= ad + post without being equal (an exporter must not derive one
// from the other).
const WEIGHTS = {
  ad_chatbot: 38,
  ad_agents: 17,
  post_chatbot: 22,
  post_agents: 11,
  other_chatbot: 8,
  other_agents: 4,
} as const;
const WEIGHT_DIVISOR = 100 * RATE_UNIT * FACTOR_UNIT;

/** Sunday first, as Date#getUTCDay counts: weekends are quieter. */
const WEEKDAY_FACTOR = [0.55, 1.0, 1.05, 1.0, 1.0, 0.95, 0.7] as const;

/** Chats per second per minute of the day, in 1/RATE_UNIT chats: quiet night, late-morning and evening peaks. */
const PROFILE: Int32Array = buildProfile();
/** PROFILE_PREFIX[m] = rate integrated over seconds [0, 60 m) of a day with factor 1. */
const PROFILE_PREFIX: Float64Array = buildPrefix(PROFILE);
const DAY_INTEGRAL = PROFILE_PREFIX[MINUTES_PER_DAY] ?? 0;

function buildProfile(): Int32Array {
  const bump = (h: number, centre: number, width: number, height: number): number =>
    height * Math.exp(-0.5 * ((h - centre) / width) ** 2);
  const raw = new Float64Array(MINUTES_PER_DAY);
  let max = 0;
  for (let m = 0; m < MINUTES_PER_DAY; m++) {
    const h = (m + 0.5) / 60;
    const v =
      0.02 +
      bump(h, 11, 1.8, 1.0) + // late morning
      bump(h, 15.5, 1.6, 0.6) + // afternoon
      bump(h, 20, 1.5, 0.85) + // evening
      bump(h + 24, 20, 1.5, 0.85); // the evening tail past midnight
    raw[m] = v;
    if (v > max) max = v;
  }
  const profile = new Int32Array(MINUTES_PER_DAY);
  for (let m = 0; m < MINUTES_PER_DAY; m++) profile[m] = Math.round((PEAK_RATE * (raw[m] ?? 0)) / max);
  return profile;
}

function buildPrefix(profile: Int32Array): Float64Array {
  const prefix = new Float64Array(MINUTES_PER_DAY + 1);
  for (let m = 0; m < MINUTES_PER_DAY; m++) prefix[m + 1] = (prefix[m] ?? 0) + 60 * (profile[m] ?? 0);
  return prefix;
}

/** A 32-bit mix of two integers (murmur3 finaliser), mapped to [0, 1). */
function hash01(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b ^ 0xc2b2ae35, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4_294_967_296;
}

/** Integer multiplier (1/FACTOR_UNIT) for one day: seed scale × weekday shape × ±15 % seeded jitter. */
function dayFactor(seed: number, day: number): number {
  // Seed 1 (the default) is the reference account; other seeds are 0.5x-1.5x as busy.
  const seedScale = seed === 1 ? 1 : 0.5 + hash01(seed, 0x5eed);
  const weekday = WEEKDAY_FACTOR[(day + 6) % 7] ?? 1; // 2000-01-01 was a Saturday
  const jitter = 0.85 + 0.3 * hash01(seed, day + 1);
  return Math.max(1, Math.round(FACTOR_UNIT * seedScale * weekday * jitter));
}

type SeedCurve = { dayStart: Float64Array; filled: number };

// A few seeds at most are in use at once (one per simulator); bounded so property tests
// over many seeds cannot grow memory without limit.
const MAX_CACHED_SEEDS = 16;
const curves = new Map<number, SeedCurve>();

function curveFor(seed: number): SeedCurve {
  let curve = curves.get(seed);
  if (curve === undefined) {
    if (curves.size >= MAX_CACHED_SEEDS) {
      const oldest = curves.keys().next().value;
      if (oldest !== undefined) curves.delete(oldest);
    }
    curve = { dayStart: new Float64Array(HORIZON_DAYS + 1), filled: 0 };
    curves.set(seed, curve);
  }
  return curve;
}

/** Cumulative integral from the origin to the start of `day`, filling the per-seed cache lazily. */
function cumulativeAtDay(seed: number, day: number): number {
  const curve = curveFor(seed);
  const { dayStart } = curve;
  for (let d = curve.filled; d < day; d++) {
    dayStart[d + 1] = (dayStart[d] ?? 0) + dayFactor(seed, d) * DAY_INTEGRAL;
  }
  if (day > curve.filled) curve.filled = day;
  return dayStart[day] ?? 0;
}

/** Exact integer cumulative chat curve at naive wall-clock second `t` (units 1/(RATE_UNIT × FACTOR_UNIT) chats). */
function cumulative(seed: number, t: number): number {
  const offset = t - ORIGIN_SECONDS;
  if (offset <= 0) return 0;
  const day = Math.floor(offset / SECONDS_PER_DAY);
  if (day >= HORIZON_DAYS) return cumulativeAtDay(seed, HORIZON_DAYS);
  const secondOfDay = offset - day * SECONDS_PER_DAY;
  const minute = Math.floor(secondOfDay / 60);
  const second = secondOfDay - minute * 60;
  const withinDay = (PROFILE_PREFIX[minute] ?? 0) + (PROFILE[minute] ?? 0) * second;
  return cumulativeAtDay(seed, day) + dayFactor(seed, day) * withinDay;
}

/** floor(weight × c / divisor) computed exactly: both products stay below 2^53. */
function share(c: number, weight: number): number {
  const scaled = weight * c;
  return (scaled - (scaled % WEIGHT_DIVISOR)) / WEIGHT_DIVISOR;
}

function assertSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
}

/**
 * Counts for [startSeconds, endSeconds), both naive wall-clock seconds (Date.UTC of the
 * 14 digits). Differences of one cumulative curve: adjacent windows add up exactly.
 * @throws RangeError when the bounds are not integers, end < start, or the seed is not an integer.
 */
export function countsBetween(startSeconds: number, endSeconds: number, seed: number): Chat15Counts {
  assertSeed(seed);
  if (!Number.isSafeInteger(startSeconds) || !Number.isSafeInteger(endSeconds)) {
    throw new RangeError('window bounds must be whole seconds');
  }
  if (endSeconds < startSeconds) throw new RangeError('window end is before its start');
  const c0 = cumulative(seed, startSeconds);
  const c1 = cumulative(seed, endSeconds);
  const field = (weight: number): number => share(c1, weight) - share(c0, weight);
  const adChatbot = field(WEIGHTS.ad_chatbot);
  const adAgents = field(WEIGHTS.ad_agents);
  const postChatbot = field(WEIGHTS.post_chatbot);
  const postAgents = field(WEIGHTS.post_agents);
  return {
    ad_chatbot: adChatbot,
    ad_agents: adAgents,
    post_chatbot: postChatbot,
    post_agents: postAgents,
    total_chatbot: adChatbot + postChatbot + field(WEIGHTS.other_chatbot),
    total_agents: adAgents + postAgents + field(WEIGHTS.other_agents),
  };
}

/**
 * Counts for the wall-clock window [dateIni, dateEnd], both seconds included as Wolkvox reads
 * them (a day is 00:00:00 to 23:59:59), from 14-digit YYYYmmddHHiiss strings read as naive
 * wall-clock time: the simulator needs no time-zone maths.
 * @throws RangeError on an ill-formed date, end before start, or a non-integer seed.
 */
export function countsForWindow(dateIni: string, dateEnd: string, seed: number): Chat15Counts {
  const start = parseWolkvoxDate(dateIni);
  const end = parseWolkvoxDate(dateEnd);
  if (start === undefined) throw new RangeError(`not a YYYYmmddHHiiss date: ${dateIni}`);
  if (end === undefined) throw new RangeError(`not a YYYYmmddHHiiss date: ${dateEnd}`);
  if (end < start) throw new RangeError('window end is before its start');
  return countsBetween(start, end + 1, seed);
}

/** True when every field is 0: the real API answers such a window with 404 NO DATA FOUND. */
export function isZero(counts: Chat15Counts): boolean {
  return (
    counts.ad_chatbot === 0 &&
    counts.ad_agents === 0 &&
    counts.post_chatbot === 0 &&
    counts.post_agents === 0 &&
    counts.total_chatbot === 0 &&
    counts.total_agents === 0
  );
}

const DATE_PATTERN = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

/** 14 digits naming a real calendar date and time → naive seconds since 1970 (Date.UTC of the digits); else undefined. */
export function parseWolkvoxDate(text: string): number | undefined {
  const match = DATE_PATTERN.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const roundTrips =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return roundTrips ? date.getTime() / 1000 : undefined;
}

/** Naive seconds since 1970 → YYYYmmddHHiiss (inverse of parseWolkvoxDate for years 0-9999). */
export function formatWolkvoxDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return (
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds())
  );
}
