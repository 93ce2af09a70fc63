// Every metric of the spec, rendered from one view of the cache, counters and request stats; never calls Wolkvox.
import type { Clock } from '../clock.js';
import { plannedDailyCalls } from '../config/plan.js';
import { SINGLE_SHARD, type Shard } from '../config/shard.js';
import type { AccountConfig } from '../config/schema.js';
import type { SnapshotCache } from '../poller/cache.js';
import type { CounterStore } from '../poller/counters.js';
import { OUTCOMES, type Outcome } from '../wolkvox/outcome.js';
import { createRequestStats, DURATION_BUCKETS } from './requests.js';
import { FamilyText, labelPairs, type FamilySpec } from './text.js';
import { HANDLED, PER_SOURCE } from './field-labels.js';

export const WHATSAPP_CHATS = 'wolkvox_whatsapp_chats';
export const WHATSAPP_HANDLED_CHATS = 'wolkvox_whatsapp_handled_chats';
export const WHATSAPP_CHATS_TOTAL = 'wolkvox_whatsapp_chats_total';
export const WHATSAPP_HANDLED_CHATS_TOTAL = 'wolkvox_whatsapp_handled_chats_total';
export const COUNTERS_SETTLED_UNTIL = 'wolkvox_counters_settled_until_timestamp_seconds';
export const COUNTERS_STEP = 'wolkvox_counters_step_seconds';
export const COUNTERS_DELAY = 'wolkvox_counters_delay_seconds';
export const UP = 'wolkvox_up';
export const LAST_SUCCESS_TIMESTAMP = 'wolkvox_last_success_timestamp_seconds';
export const WINDOW_START_TIMESTAMP = 'wolkvox_window_start_timestamp_seconds';
export const WINDOW_END_TIMESTAMP = 'wolkvox_window_end_timestamp_seconds';
export const QUOTA_PAUSED = 'wolkvox_quota_paused';
export const REQUESTS_TOTAL = 'wolkvox_exporter_requests_total';
export const REQUEST_DURATION = 'wolkvox_exporter_request_duration_seconds';
export const PLANNED_DAILY_CALLS = 'wolkvox_exporter_planned_daily_calls';
export const DAILY_QUOTA_CALLS = 'wolkvox_exporter_daily_quota_calls';
export const BUILD_INFO = 'wolkvox_exporter_build_info';
export const SHARD_INFO = 'wolkvox_exporter_shard_info';
export const SHARDS = 'wolkvox_exporter_shards';
export const CONFIG_RELOAD_SUCCESSFUL = 'wolkvox_exporter_config_last_reload_successful';
export const CONFIG_RELOAD_SUCCESS_TIMESTAMP = 'wolkvox_exporter_config_last_reload_success_timestamp_seconds';

const CACHED = 'Cached from the last chat_15 poll; polled in the background, not at scrape time.';

/** Every family, in the order /metrics lists them. */
const FAMILIES = {
  chats: {
    name: WHATSAPP_CHATS,
    type: 'gauge',
    help: `WhatsApp chats that began from a click-to-WhatsApp ad or post in the window, by who handled them (bot only or agent). ${CACHED}`,
  },
  handled: {
    name: WHATSAPP_HANDLED_CHATS,
    type: 'gauge',
    help: `All WhatsApp chats in the window handled by bots only or that needed an agent (total_chatbot, total_agents; may include origins other than ads and posts). ${CACHED}`,
  },
  up: {
    name: UP,
    type: 'gauge',
    help: '1 if the last background poll of this window succeeded, 0 if it failed or the account is paused by its daily quota.',
  },
  lastSuccess: { name: LAST_SUCCESS_TIMESTAMP, type: 'gauge', help: 'Unix time of the last successful poll of this window.' },
  windowStart: { name: WINDOW_START_TIMESTAMP, type: 'gauge', help: 'Unix time of the start of the window the cached values cover (date_ini).' },
  windowEnd: { name: WINDOW_END_TIMESTAMP, type: 'gauge', help: 'Unix time of the end of the window the cached values cover (date_end).' },
  quotaPaused: {
    name: QUOTA_PAUSED,
    type: 'gauge',
    help: "1 while this account's polling is paused until local midnight because Wolkvox answered TOKEN LIMIT EXCEEDED.",
  },
  chatsTotal: {
    name: WHATSAPP_CHATS_TOTAL,
    type: 'counter',
    help: 'WhatsApp chats that began from a click-to-WhatsApp ad or post, by who handled them, summed over settled chunks of counter_step (queried counter_delay after each ends).',
  },
  handledTotal: {
    name: WHATSAPP_HANDLED_CHATS_TOTAL,
    type: 'counter',
    help: 'All WhatsApp chats handled by bots only or that needed an agent (total_chatbot, total_agents), summed over settled chunks like wolkvox_whatsapp_chats_total.',
  },
  settledUntil: {
    name: COUNTERS_SETTLED_UNTIL,
    type: 'gauge',
    help: 'Unix time of the end of the last chunk added to the _total counters (their start, before the first chunk settles).',
  },
  counterStep: {
    name: COUNTERS_STEP,
    type: 'gauge',
    help: 'Length of the chunks summed into the _total counters (counter_step), for alerts on how far they lag.',
  },
  counterDelay: {
    name: COUNTERS_DELAY,
    type: 'gauge',
    help: 'How long after a chunk ends it is queried (counter_delay), for alerts on how far the counters lag.',
  },
  requests: { name: REQUESTS_TOTAL, type: 'counter', help: 'Wolkvox chat_15 API calls made, retries included, by outcome.' },
  duration: { name: REQUEST_DURATION, type: 'histogram', help: 'Latency of Wolkvox chat_15 API calls, retries included.' },
  planned: {
    name: PLANNED_DAILY_CALLS,
    type: 'gauge',
    help: 'API calls a day the current config makes (windows x 86400 / interval, a closed window counting 1, plus 86400 / counter_step), to compare with the token quota.',
  },
  quota: { name: DAILY_QUOTA_CALLS, type: 'gauge', help: "The token's daily API call quota as configured (licenses x 1000); absent where none is set." },
  build: {
    name: BUILD_INFO,
    type: 'gauge',
    help: 'A metric with a constant 1 value labelled by the version, revision and Node.js version the exporter runs with.',
  },
  shardInfo: {
    name: SHARD_INFO,
    type: 'gauge',
    help: 'A metric with a constant 1 value labelled by the shard this process is (index) and how many split the accounts (total).',
  },
  // The total again as a value: PromQL cannot turn a label into a number, and the missing-shard alert compares a count with it.
  shards: { name: SHARDS, type: 'gauge', help: 'How many processes split the accounts (--shard.total), as a number.' },
  reloadOk: { name: CONFIG_RELOAD_SUCCESSFUL, type: 'gauge', help: 'Whether the last configuration reload attempt was successful.' },
  reloadAt: { name: CONFIG_RELOAD_SUCCESS_TIMESTAMP, type: 'gauge', help: 'Unix time of the last successful configuration load or reload.' },
} as const satisfies Record<string, FamilySpec>;

/** Families listed for the tests that check every spec metric has HELP and TYPE. */
export const EXPORTER_FAMILIES: readonly FamilySpec[] = Object.values(FAMILIES);

/** How many windows (or accounts) are written between two yields to the event loop: a few milliseconds' work. */
const SLICE = 100;

export type BuildInfo = { version: string; revision: string };

export type MetricsDeps = {
  cache: SnapshotCache;
  counters: CounterStore;
  clock: Clock;
  /** The accounts of the config in force; read at render time so a reload shows at once. */
  accounts: () => readonly AccountConfig[];
  build: BuildInfo;
  /** This process's shard; read at render time, as a reload may reshard. SINGLE_SHARD when left out. */
  shard?: () => Shard;
};

export type Metrics = {
  recordRequest(account: string, outcome: Outcome, durationSeconds: number): void;
  /** Creates zeroed request series for new accounts and drops those of removed ones. */
  syncAccounts(accounts: readonly AccountConfig[]): void;
  /** Records a config (re)load, as Prometheus' own prometheus_config_last_reload_* do. */
  recordReload(successful: boolean, atMs: number): void;
  /**
   * Changes whenever render() would write something else: a poll, a counter chunk, a call, a
   * reload, or cached values passing max-staleness. The serving side caches by it.
   */
  generation(nowMs: number): string;
  /**
   * The exporter's own families in the text format, as pieces of bytes in order. Large views are
   * written in slices with a yield to the event loop between them, so a scrape of 1,000 accounts
   * never holds the loop for long.
   */
  render(nowMs: number): Promise<Buffer[]>;
};

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createMetrics({ cache, counters, clock, accounts, build, shard = () => SINGLE_SHARD }: MetricsDeps): Metrics {
  const requests = createRequestStats();
  /** Bumped by config (re)loads: the account list and the reload gauges change. */
  let configVersion = 0;
  let reloadSuccessful = 1;
  let reloadAtMs = clock.now();
  requests.sync(accounts().map((account) => account.name));

  const generation = (nowMs: number): string => {
    // Cached values that pass max-staleness change the text without any write: the instant is part of the key.
    const expiry = cache.nextExpiryMs(nowMs);
    return `${cache.version()}/${counters.version()}/${requests.version()}/${configVersion}/${expiry}`;
  };

  const render = async (nowMs: number): Promise<Buffer[]> => {
    const f = Object.fromEntries(Object.entries(FAMILIES).map(([key, spec]) => [key, new FamilyText(spec)])) as {
      [K in keyof typeof FAMILIES]: FamilyText;
    };
    const families = Object.values(f);
    /** Between slices: turn what gathered into bytes, and let the event loop run. */
    const pause = async () => {
      for (const family of families) family.flush();
      await yieldToLoop();
    };
    // Account names are escaped once, not once per sample.
    const escaped = new Map<string, string>();
    const accountLabel = (account: string): string => {
      let label = escaped.get(account);
      if (label === undefined) {
        label = labelPairs([['account', account]]);
        escaped.set(account, label);
      }
      return label;
    };

    const views = cache.view(nowMs);
    for (let i = 0; i < views.length; i++) {
      if (i > 0 && i % SLICE === 0) await pause();
      const view = views[i]!;
      const labels = `${accountLabel(view.account)},${labelPairs([['window', view.window]])}`;
      if (view.fresh) {
        const { counts, bounds } = view.fresh;
        for (const { field, source, handler } of PER_SOURCE) f.chats.sample(`${labels},source="${source}",handler="${handler}"`, counts[field]);
        for (const { field, handler } of HANDLED) f.handled.sample(`${labels},handler="${handler}"`, counts[field]);
        f.windowStart.sample(labels, bounds.startMs / 1000);
        f.windowEnd.sample(labels, bounds.endMs / 1000);
      }
      f.up.sample(labels, view.up ? 1 : 0);
      if (view.lastSuccessMs !== undefined) f.lastSuccess.sample(labels, view.lastSuccessMs / 1000);
    }
    for (const { account, quotaPaused } of cache.accounts()) f.quotaPaused.sample(accountLabel(account), quotaPaused ? 1 : 0);

    const counterViews = counters.view();
    for (let i = 0; i < counterViews.length; i++) {
      if (i > 0 && i % SLICE === 0) await pause();
      const { account, totals, settledUntilMs } = counterViews[i]!;
      const labels = accountLabel(account);
      for (const { field, source, handler } of PER_SOURCE) f.chatsTotal.sample(`${labels},source="${source}",handler="${handler}"`, totals[field]);
      for (const { field, handler } of HANDLED) f.handledTotal.sample(`${labels},handler="${handler}"`, totals[field]);
      f.settledUntil.sample(labels, settledUntilMs / 1000);
    }

    const requestViews = requests.view();
    for (let i = 0; i < requestViews.length; i++) {
      if (i > 0 && i % SLICE === 0) await pause();
      const { account, outcomes, buckets, sumSeconds, count } = requestViews[i]!;
      const labels = accountLabel(account);
      for (const outcome of OUTCOMES) f.requests.sample(`${labels},outcome="${outcome}"`, outcomes[outcome]);
      let cumulative = 0;
      DURATION_BUCKETS.forEach((bound, index) => {
        cumulative += buckets[index] ?? 0;
        f.duration.sample(`${labels},le="${bound}"`, cumulative, '_bucket');
      });
      f.duration.sample(`${labels},le="+Inf"`, count, '_bucket');
      f.duration.sample(labels, sumSeconds, '_sum');
      f.duration.sample(labels, count, '_count');
    }

    const configured = accounts();
    for (let i = 0; i < configured.length; i++) {
      if (i > 0 && i % SLICE === 0) await pause();
      const account = configured[i]!;
      const labels = accountLabel(account.name);
      if (account.counterStepMs > 0) {
        f.counterStep.sample(labels, account.counterStepMs / 1000);
        f.counterDelay.sample(labels, account.counterDelayMs / 1000);
      }
      f.planned.sample(labels, plannedDailyCalls(account));
      if (account.dailyQuota !== undefined) f.quota.sample(labels, account.dailyQuota);
    }
    f.build.sample(labelPairs([['version', build.version], ['revision', build.revision], ['nodejs', process.version]]), 1);
    const { index, total } = shard();
    f.shardInfo.sample(labelPairs([['index', String(index)], ['total', String(total)]]), 1);
    f.shards.sample('', total);
    f.reloadOk.sample('', reloadSuccessful);
    f.reloadAt.sample('', reloadAtMs / 1000);
    return families.flatMap((family) => family.parts());
  };

  return {
    recordRequest(account, outcome, durationSeconds) {
      requests.record(account, outcome, durationSeconds);
    },
    syncAccounts(current) {
      configVersion++;
      requests.sync(current.map((account) => account.name));
    },
    recordReload(successful, atMs) {
      configVersion++;
      reloadSuccessful = successful ? 1 : 0;
      if (successful) reloadAtMs = atMs;
    },
    generation,
    render,
  };
}
