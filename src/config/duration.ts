// Prometheus-style durations ("90s", "1h30m", "7d") and window names ("today", "last_week", ...); pure.

const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
} as const;

// Same grammar as Prometheus' model.ParseDuration: units largest first, each at most once.
const DURATION_PATTERN = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNITS_IN_ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'] as const;

/** Parses a Prometheus duration into milliseconds, or returns undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const match = DURATION_PATTERN.exec(text);
  if (!match || text === '') return undefined;
  let total = 0;
  UNITS_IN_ORDER.forEach((unit, index) => {
    const amount = match[index + 1];
    if (amount !== undefined) total += Number(amount) * UNIT_MS[unit];
  });
  return Number.isSafeInteger(total) ? total : undefined;
}

/** Formats milliseconds the way Prometheus prints durations: `1h30m`, `5m`, `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const unit of UNITS_IN_ORDER) {
    // Prometheus prints whole days rather than years or weeks; keep "7d", not "1w".
    if (unit === 'y' || unit === 'w') continue;
    const size = UNIT_MS[unit];
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      text += `${amount}${unit}`;
      rest -= amount * size;
    }
  }
  return text;
}

/** The longest span one chat_15 query may cover (wolkvox-api-facts: Limits). */
export const MAX_WINDOW_MS = 31 * UNIT_MS.d;
const MIN_WINDOW_MS = UNIT_MS.m;

/** The calendar windows, by name (spec: Windows and the API call). */
export const CALENDAR_WINDOWS = ['today', 'yesterday', 'week', 'month', 'last_week', 'last_month'] as const;
export type CalendarWindow = (typeof CALENDAR_WINDOWS)[number];

/**
 * What a window polls: a rolling duration ending now, or a local calendar period: `today`,
 * `week` (from Monday) and `month` run up to now; `yesterday`, `last_week` and `last_month` are
 * closed, whole periods before the current one.
 */
export type WindowSpec = { kind: 'duration'; label: string; durationMs: number } | { kind: CalendarWindow; label: CalendarWindow };

/** True for windows whose bounds stay put until the next period: polled once, again only after failures. */
export function isClosedWindow(spec: WindowSpec): boolean {
  return spec.kind === 'yesterday' || spec.kind === 'last_week' || spec.kind === 'last_month';
}

/**
 * Parses one entry of `--collector.windows` / `windows:`. Returns an error message (without the
 * key, which the caller knows) when the text is not a window.
 */
export function parseWindow(text: string): WindowSpec | string {
  const trimmed = text.trim();
  const calendar = CALENDAR_WINDOWS.find((name) => name === trimmed);
  if (calendar !== undefined) return { kind: calendar, label: calendar };
  const durationMs = parseDuration(trimmed);
  if (durationMs === undefined) {
    return `"${trimmed}" is not a window: use a duration such as 1h or 7d, or one of ${CALENDAR_WINDOWS.join(', ')}`;
  }
  if (durationMs < MIN_WINDOW_MS) return `window "${trimmed}" is shorter than 1m`;
  if (durationMs > MAX_WINDOW_MS) return `window "${trimmed}" is longer than 31d, the most one Wolkvox query may span`;
  // The label is the operator's own spelling, so dashboards see "24h" and not "1d".
  return { kind: 'duration', label: trimmed, durationMs };
}
