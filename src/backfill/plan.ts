// The backfill's options and plan: which chunks each account needs, what that costs, and when to refuse; pure.
import { ConfigError } from '../config/error.js';
import type { RawSettings, RawValue } from '../config/flags.js';
import { DEFAULT_DAILY_QUOTA } from '../config/plan.js';
import { durationSchema } from '../config/schema.js';
import type { AccountConfig } from '../config/schema.js';
import { groupByToken } from '../config/tokens.js';
import { chunksBetween, type Chunk } from '../wolkvox/chunks.js';
import { addDays, startOfDate, type LocalDate } from '../wolkvox/window.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Labels the exporter's counters carry already: --label may not set them. */
const RESERVED_LABELS = ['account', 'source', 'handler'];

/** Where the backfill ends: after a whole local day, or at an instant (where a running exporter's counters began). */
export type BackfillEnd = { kind: 'date'; date: LocalDate } | { kind: 'instant'; ms: number };

export type BackfillOptions = {
  from: LocalDate;
  to: BackfillEnd;
  stepMs: number;
  /** A file to write; undefined means stdout. */
  output?: string;
  /** Extra labels for every series, in the order given. */
  labels: Array<[name: string, value: string]>;
  maxCalls?: number;
};

export type AccountPlan = { account: AccountConfig; chunks: Chunk[] };

function parseDate(raw: RawValue): LocalDate {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw.value);
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [NaN, NaN, NaN];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (!match || check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    throw new ConfigError(raw.key, `"${raw.value}" is not a date such as 2026-11-01`);
  }
  return { year, month, day };
}

function parseEnd(raw: RawValue): BackfillEnd {
  // An instant must say its zone (Z or ±hh:mm): a bare time would depend on the machine's zone.
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw.value)) {
    const ms = Date.parse(raw.value);
    if (Number.isFinite(ms)) return { kind: 'instant', ms };
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(raw.value)) {
    return { kind: 'date', date: parseDate(raw) };
  }
  throw new ConfigError(raw.key, `"${raw.value}" is neither a date such as 2026-11-07 nor an instant with its zone such as 2026-11-08T10:00:00-05:00`);
}

function parseLabel(raw: RawValue): [string, string] {
  const equals = raw.value.indexOf('=');
  const name = equals < 0 ? '' : raw.value.slice(0, equals);
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || name.startsWith('__')) {
    throw new ConfigError(raw.key, `"${raw.value}" is not NAME=VALUE with a Prometheus label name such as job=wolkvox`);
  }
  if (RESERVED_LABELS.includes(name)) throw new ConfigError(raw.key, `label ${name} is set by the exporter itself`);
  return [name, raw.value.slice(equals + 1)];
}

/** Reads the backfill's own flags. Throws ConfigError naming the flag. */
export function parseBackfillOptions(settings: RawSettings): BackfillOptions {
  const fromRaw = settings.values.from;
  const toRaw = settings.values.to;
  if (!fromRaw) throw new ConfigError('--from', 'is required: the first local day to backfill, such as 2026-11-01');
  if (!toRaw) throw new ConfigError('--to', 'is required: the last local day to backfill, such as 2026-11-07');
  const from = parseDate(fromRaw);
  const to = parseEnd(toRaw);
  if (to.kind === 'date' && Date.UTC(to.date.year, to.date.month - 1, to.date.day) < Date.UTC(from.year, from.month - 1, from.day)) {
    throw new ConfigError(toRaw.key, `${toRaw.value} is before --from ${fromRaw.value}`);
  }
  const stepRaw = settings.values.step ?? { value: '1d', key: '--step' };
  const step = durationSchema.safeParse(stepRaw.value);
  if (!step.success) throw new ConfigError(stepRaw.key, `"${stepRaw.value}" is not a duration such as 1h or 1d`);
  if (step.data < HOUR_MS || step.data > DAY_MS) throw new ConfigError(stepRaw.key, 'must be between 1h and 1d (one API call per chunk)');

  const labels = (settings.lists?.label ?? []).map(parseLabel);
  const seen = new Set<string>();
  for (const [index, [name]] of labels.entries()) {
    if (seen.has(name)) throw new ConfigError(settings.lists?.label?.[index]?.key ?? '--label', `label ${name} is given twice`);
    seen.add(name);
  }
  const maxCallsRaw = settings.values['max-calls'];
  let maxCalls: number | undefined;
  if (maxCallsRaw) {
    maxCalls = Number(maxCallsRaw.value);
    if (!/^\d+$/.test(maxCallsRaw.value) || maxCalls < 1) throw new ConfigError(maxCallsRaw.key, `"${maxCallsRaw.value}" is not a positive number of calls`);
  }
  const output = settings.values.output?.value;
  return { from, to, stepMs: step.data, labels, ...(output !== undefined ? { output } : {}), ...(maxCalls !== undefined ? { maxCalls } : {}) };
}

/** The chunks of each account, in its own time zone: from local 00:00 of `from` up to the end. */
export function planBackfill(accounts: readonly AccountConfig[], options: BackfillOptions): AccountPlan[] {
  return accounts.map((account) => {
    const fromMs = startOfDate(options.from, account.timeZone);
    const toMs = options.to.kind === 'date' ? startOfDate(addDays(options.to.date, 1), account.timeZone) : options.to.ms;
    return { account, chunks: chunksBetween(fromMs, toMs, options.stepMs, account.timeZone) };
  });
}

/** The calls a plan makes in all, and per token (their fingerprints), which share a daily quota. */
export function plannedCalls(plans: readonly AccountPlan[]): { total: number; perToken: Array<{ accounts: string[]; calls: number; quota: number; quotaStated: boolean }> } {
  const total = plans.reduce((sum, plan) => sum + plan.chunks.length, 0);
  const perToken = [...groupByToken(plans.map((plan) => plan.account)).values()].map((members) => {
    const calls = plans.filter((plan) => members.includes(plan.account)).reduce((sum, plan) => sum + plan.chunks.length, 0);
    const stated = members.flatMap((account) => (account.dailyQuota !== undefined ? [account.dailyQuota] : []));
    return {
      accounts: members.map((account) => account.name),
      calls,
      quota: stated.length > 0 ? Math.min(...stated) : DEFAULT_DAILY_QUOTA,
      quotaStated: stated.length > 0,
    };
  });
  return { total, perToken };
}

/** Why the plan must not run (spec: refuse beyond --max-calls or the daily quota), or undefined. */
export function refusal(plans: readonly AccountPlan[], options: BackfillOptions): string | undefined {
  const { total, perToken } = plannedCalls(plans);
  if (total === 0) return 'nothing to backfill: the range holds no whole chunk';
  if (options.maxCalls !== undefined && total > options.maxCalls) {
    return `${total} calls planned, more than --max-calls ${options.maxCalls}: shorten the range or raise --step`;
  }
  for (const token of perToken) {
    if (token.calls > token.quota) {
      const quota = token.quotaStated ? `its daily quota of ${token.quota}` : `${token.quota}, the daily quota of one license (set daily_quota or --wolkvox.daily-quota if it has more)`;
      return `${token.calls} calls planned on the token of ${token.accounts.join(', ')}, more than ${quota}: split the range over several days or raise --step`;
    }
  }
  return undefined;
}
