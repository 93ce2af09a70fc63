// zod schemas for the YAML config file, the flag/env settings and the resolved Config; the one source of their types.
import { z } from 'zod';
import { Secret } from './secret.js';
import { parseDuration, parseWindow, type WindowSpec } from './duration.js';
import { MAX_SHARDS, parseShardIndex, type Shard } from './shard.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const LOG_FORMATS = ['json', 'logfmt'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

/** True when `Intl` knows the IANA zone name. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** A Prometheus duration string such as `5m`, turned into milliseconds. */
export const durationSchema = z.string().transform((text, ctx) => {
  const ms = parseDuration(text.trim());
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration such as 30s, 5m or 1h` });
    return z.NEVER;
  }
  return ms;
});

export const positiveDurationSchema = durationSchema.refine((ms) => ms >= 1_000, {
  message: 'must be at least 1s',
});

/** The chunk length of the _total counters: 0 turns them off; else 1m to 1d, since a chunk never crosses a local midnight. */
export const counterStepSchema = z
  // YAML reads a bare 0 as a number: the one duration that needs no unit.
  .preprocess((value) => (value === 0 ? '0' : value), durationSchema)
  .refine((ms) => ms === 0 || (ms >= 60_000 && ms <= 86_400_000), { message: 'must be 0 (counters off) or between 1m and 1d' });

/** How long after its end a chunk is queried; up to a day. */
export const counterDelaySchema = z
  .preprocess((value) => (value === 0 ? '0' : value), durationSchema)
  .refine((ms) => ms <= 86_400_000, { message: 'must be at most 1d' });

export const timeZoneSchema = z.string().refine(isTimeZone, {
  error: (issue) => `unknown time zone "${String(issue.input)}": use an IANA name such as America/Bogota`,
});

/** `0032` may reach us as the YAML integer 32; both mean server 0032. */
export const serverSchema = z
  .union([z.string(), z.number()])
  .transform((value) => (typeof value === 'number' ? String(value).padStart(4, '0') : value.trim()))
  .refine((value) => /^\d{4}$/.test(value), {
    error: (issue) => `"${String(issue.input)}" is not a 4-digit Wolkvox server id such as "0032"`,
  });

export const baseUrlSchema = z.string().refine(
  (text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  },
  { error: (issue) => `"${String(issue.input)}" is not an http(s) origin such as https://wv0032.wolkvox.com` },
);

export const maxConcurrencySchema = z.coerce
  .number({ error: 'must be 1 or 2' })
  .refine((n): n is 1 | 2 => n === 1 || n === 2, { message: 'must be 1 or 2: Wolkvox rejects a third simultaneous request' })
  .transform((n) => n as 1 | 2);

export const dailyQuotaSchema = z.coerce
  .number()
  .int({ message: 'must be a whole number of calls per day' })
  .positive({ message: 'must be a positive number of calls per day' });

/**
 * --wolkvox.max-in-flight and the file's top-level max_in_flight: a positive whole number of
 * calls. Numbers and digit strings only, so YAML's `true` or `1.5` is refused, not coerced.
 */
export const maxInFlightSchema = z.unknown().transform((value, ctx) => {
  const calls = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (Number.isSafeInteger(calls) && calls >= 1) return calls;
  ctx.addIssue({ code: 'custom', message: 'must be a positive whole number of calls in flight to one origin, such as 16' });
  return z.NEVER;
});

/** --shard.total and the file's top-level shard_total: a whole number of processes, 1..MAX_SHARDS. */
export const shardTotalSchema = z.unknown().transform((value, ctx) => {
  const total = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (Number.isSafeInteger(total) && total >= 1 && total <= MAX_SHARDS) return total;
  ctx.addIssue({ code: 'custom', message: `must be a whole number of processes from 1 to ${MAX_SHARDS}, such as 3` });
  return z.NEVER;
});

/** --shard.index: a number, or a StatefulSet pod name ending in its ordinal. */
export const shardIndexSchema = z.string().transform((text, ctx) => {
  const index = parseShardIndex(text);
  if (typeof index === 'number') return index;
  ctx.addIssue({ code: 'custom', message: index });
  return z.NEVER;
});

/**
 * The cap is the process's, per origin, across every account calling it: an account's own value
 * would be ambiguous when accounts on one origin disagree, and the per-token limit is max_concurrency.
 */
const perAccountMaxInFlightSchema = z.never({
  error:
    'is not an account setting: it caps the calls this process has in flight to one origin, over all accounts; set max_in_flight at the top level of the file or --wolkvox.max-in-flight (max_concurrency is the per-token limit)',
});

function windowListSchema() {
  return z.array(z.string()).transform((entries, ctx) => {
    const windows: WindowSpec[] = [];
    if (entries.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs at least one window' });
      return z.NEVER;
    }
    entries.forEach((entry, index) => {
      const parsed = parseWindow(entry);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: parsed, path: [index] });
      } else if (windows.some((w) => w.label === parsed.label)) {
        ctx.addIssue({ code: 'custom', message: `window "${parsed.label}" is listed twice`, path: [index] });
      } else {
        windows.push(parsed);
      }
    });
    return windows;
  });
}

/** `--collector.windows=1h,today`: a comma list. */
export const windowCsvSchema = z
  .string()
  .transform((text) => text.split(',').map((s) => s.trim()).filter((s) => s !== ''))
  .pipe(windowListSchema());

/** Keys that may be set at the top of the config file and overridden per account. */
const sharedFileKeys = {
  interval: positiveDurationSchema.optional(),
  max_staleness: positiveDurationSchema.optional(),
  timeout: positiveDurationSchema.optional(),
  windows: windowListSchema().optional(),
  timezone: timeZoneSchema.optional(),
  max_concurrency: maxConcurrencySchema.optional(),
  counter_step: counterStepSchema.optional(),
  counter_delay: counterDelaySchema.optional(),
};

export const fileAccountSchema = z.strictObject({
  name: z.string().regex(/^\S(.*\S)?$/, { message: 'must be a non-empty name without surrounding spaces' }),
  server: serverSchema.optional(),
  base_url: baseUrlSchema.optional(),
  token_file: z.string().min(1).optional(),
  token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be the name of an environment variable' }).optional(),
  daily_quota: dailyQuotaSchema.optional(),
  max_in_flight: perAccountMaxInFlightSchema.optional(),
  shard_total: z
    .never({ error: 'is not an account setting: accounts go to shards by their token; set shard_total at the top level of the file or --shard.total' })
    .optional(),
  ...sharedFileKeys,
});

export const configFileSchema = z.strictObject({
  ...sharedFileKeys,
  /** Top level only: see perAccountMaxInFlightSchema. */
  max_in_flight: maxInFlightSchema.optional(),
  /** Top level only: every shard reads the same file, and a reload may change it to reshard. */
  shard_total: shardTotalSchema.optional(),
  accounts: z.array(fileAccountSchema).min(1, { message: 'needs at least one account' }),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
export type FileAccount = z.infer<typeof fileAccountSchema>;

const windowSpecSchema = z.custom<WindowSpec>();

/** One Wolkvox account as the poller sees it, after merging file, flags, env and defaults. */
export const accountConfigSchema = z.object({
  name: z.string(),
  server: z.string().optional(),
  baseUrl: z.string(),
  token: z.instanceof(Secret),
  timeZone: z.string(),
  windows: z.array(windowSpecSchema),
  intervalMs: z.number(),
  maxStalenessMs: z.number(),
  timeoutMs: z.number(),
  maxConcurrency: z.union([z.literal(1), z.literal(2)]),
  dailyQuota: z.number().optional(),
  /** Length of the chunks summed into the _total counters; 0 means no counters (spec: History). */
  counterStepMs: z.number(),
  /** How long after a chunk ends it is queried. */
  counterDelayMs: z.number(),
});
export type AccountConfig = z.infer<typeof accountConfigSchema>;

export const listenAddressSchema = z.string().transform((text, ctx) => {
  // ":9867" listens on every interface, as in Go exporters; "[::1]:9867" for IPv6.
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65_535) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a host:port address such as :9867 or 127.0.0.1:9867` });
    return z.NEVER;
  }
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? undefined : host, port };
});
export type ListenAddress = z.infer<typeof listenAddressSchema>;

export const telemetryPathSchema = z
  .string()
  .regex(/^\/[A-Za-z0-9._~\-/]*$/, { message: 'must be a URL path starting with /' })
  // `//host/metrics` would be read by a browser as another host: the status page links this path.
  .refine((path) => !path.startsWith('//'), { message: 'must start with a single /, or a link to it would name a host' })
  .refine((path) => !['/', '/healthz', '/readyz', '/-/reload', '/api/v1/status'].includes(path) && !path.startsWith('/static/'), {
    message: 'must not be one of the paths the exporter already serves',
  });

export type Config = {
  accounts: AccountConfig[];
  /**
   * Cap of API calls in flight to one origin, over all accounts and tokens (--wolkvox.max-in-flight).
   * loadConfig always sets it; a Config built by hand may leave it out for DEFAULT_MAX_IN_FLIGHT.
   */
  maxInFlightPerOrigin?: number;
  /** Which share of the accounts this process polls; loadConfig always sets it, SINGLE_SHARD when left out. */
  shard?: Shard;
  /** Run against the built-in simulator; main fills in the demo account once it listens. */
  demo: boolean;
  configFile?: string;
  web: {
    listenAddress: ListenAddress;
    telemetryPath: string;
    configFile?: string;
    enableLifecycle: boolean;
  };
  log: { level: LogLevel; format: LogFormat };
};
