// Every metric of the spec on one registry; the gauges read the cache at scrape time and never call Wolkvox.
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import { plannedDailyCalls } from '../config/plan.js';
import type { AccountConfig } from '../config/schema.js';
import type { SnapshotCache } from '../poller/cache.js';
import type { CounterStore } from '../poller/counters.js';
import { OUTCOMES, type Outcome } from '../wolkvox/outcome.js';
import type { Chat15Field } from '../wolkvox/response.js';

export const WHATSAPP_CHATS = 'wolkvox_whatsapp_chats';
export const WHATSAPP_HANDLED_CHATS = 'wolkvox_whatsapp_handled_chats';
export const WHATSAPP_CHATS_TOTAL = 'wolkvox_whatsapp_chats_total';
export const WHATSAPP_HANDLED_CHATS_TOTAL = 'wolkvox_whatsapp_handled_chats_total';
export const COUNTER_SETTLED_UNTIL = 'wolkvox_counters_settled_until_timestamp_seconds';
export const COUNTER_STEP = 'wolkvox_counters_step_seconds';
export const COUNTER_DELAY = 'wolkvox_counters_delay_seconds';
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
export const CONFIG_RELOAD_SUCCESSFUL = 'wolkvox_exporter_config_last_reload_successful';
export const CONFIG_RELOAD_SUCCESS_TIMESTAMP = 'wolkvox_exporter_config_last_reload_success_timestamp_seconds';

export const LABEL_ACCOUNT = 'account';
export const LABEL_WINDOW = 'window';
export const LABEL_SOURCE = 'source';
export const LABEL_HANDLER = 'handler';
export const LABEL_OUTCOME = 'outcome';

/** Where each chat_15 field goes; totals are their own metric, never a `source` value (api-facts). */
const PER_SOURCE: ReadonlyArray<{ field: Chat15Field; source: 'ad' | 'post'; handler: 'bot' | 'agent' }> = [
  { field: 'ad_chatbot', source: 'ad', handler: 'bot' },
  { field: 'ad_agents', source: 'ad', handler: 'agent' },
  { field: 'post_chatbot', source: 'post', handler: 'bot' },
  { field: 'post_agents', source: 'post', handler: 'agent' },
];
const HANDLED: ReadonlyArray<{ field: Chat15Field; handler: 'bot' | 'agent' }> = [
  { field: 'total_chatbot', handler: 'bot' },
  { field: 'total_agents', handler: 'agent' },
];

/** API calls take up to ~60 s (wolkvox-api-facts: Limits). */
const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];

// prom-client names these gauges *_total, which promtool rejects; the un-suffixed twins stay.
const NON_CONFORMING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export type BuildInfo = { version: string; revision: string };

export type MetricsDeps = {
  registry: Registry;
  cache: SnapshotCache;
  counters: CounterStore;
  clock: Clock;
  /** The accounts of the config in force; read at scrape time so a reload shows at once. */
  accounts: () => readonly AccountConfig[];
  build: BuildInfo;
};

export type Metrics = {
  recordRequest(account: string, outcome: Outcome, durationSeconds: number): void;
  /** Creates zeroed request counters for new accounts and drops those of removed ones. */
  syncAccounts(accounts: readonly AccountConfig[]): void;
  /** Records a config (re)load, as Prometheus' own prometheus_config_last_reload_* do. */
  recordReload(successful: boolean, atMs: number): void;
  /**
   * The text for /metrics. The exporter's own series are re-rendered only when the cache, a
   * counter or the config changed, or when cached values pass max-staleness; the process and
   * Node.js series are rendered on every scrape.
   */
  exposition: Exposition;
};

/** What the HTTP layer needs to serve a scrape; a prom-client Registry is one. */
export type Exposition = {
  readonly contentType: string;
  metrics(): Promise<string>;
  /** The same text as encoded chunks, the large one reused between scrapes to spare the GC. */
  metricsChunks?(): Promise<Buffer[]>;
};

const CACHED = 'Cached from the last chat_15 poll; polled in the background, not at scrape time.';

export function createMetrics({ registry, cache, counters, clock, accounts, build }: MetricsDeps): Metrics {
  collectDefaultMetrics({ register: registry });
  for (const name of NON_CONFORMING_DEFAULTS) registry.removeSingleMetric(name);
  const defaultNames = new Set(registry.getMetricsAsArray().map((metric) => metric.name));
  /** Bumped by every write that is not in the cache: counters, histogram, reloads, accounts. */
  let version = 0;

  // Each collect() reads one consistent view of the cache at scrape time.
  const view = () => cache.view(clock.now());

  new Gauge({
    name: WHATSAPP_CHATS,
    help: `WhatsApp chats that began from a click-to-WhatsApp ad or post in the window, by who handled them (bot only or agent). ${CACHED}`,
    labelNames: [LABEL_ACCOUNT, LABEL_WINDOW, LABEL_SOURCE, LABEL_HANDLER],
    registers: [registry],
    collect() {
      this.reset();
      for (const snapshot of view()) {
        if (!snapshot.fresh) continue;
        for (const { field, source, handler } of PER_SOURCE) {
          this.set({ account: snapshot.account, window: snapshot.window, source, handler }, snapshot.fresh.counts[field]);
        }
      }
    },
  });

  new Gauge({
    name: WHATSAPP_HANDLED_CHATS,
    help: `All WhatsApp chats in the window handled by bots only or that needed an agent (total_chatbot, total_agents; may include origins other than ads and posts). ${CACHED}`,
    labelNames: [LABEL_ACCOUNT, LABEL_WINDOW, LABEL_HANDLER],
    registers: [registry],
    collect() {
      this.reset();
      for (const snapshot of view()) {
        if (!snapshot.fresh) continue;
        for (const { field, handler } of HANDLED) {
          this.set({ account: snapshot.account, window: snapshot.window, handler }, snapshot.fresh.counts[field]);
        }
      }
    },
  });

  new Gauge({
    name: UP,
    help: '1 if the last background poll of this window succeeded, 0 if it failed or the account is paused by its daily quota.',
    labelNames: [LABEL_ACCOUNT, LABEL_WINDOW],
    registers: [registry],
    collect() {
      this.reset();
      for (const snapshot of view()) this.set({ account: snapshot.account, window: snapshot.window }, snapshot.up ? 1 : 0);
    },
  });

  new Gauge({
    name: LAST_SUCCESS_TIMESTAMP,
    help: 'Unix time of the last successful poll of this window.',
    labelNames: [LABEL_ACCOUNT, LABEL_WINDOW],
    registers: [registry],
    collect() {
      this.reset();
      for (const snapshot of view()) {
        if (snapshot.lastSuccessMs === undefined) continue;
        this.set({ account: snapshot.account, window: snapshot.window }, snapshot.lastSuccessMs / 1000);
      }
    },
  });

  for (const [name, bound, help] of [
    [WINDOW_START_TIMESTAMP, 'startMs', 'Unix time of the start of the window the cached values cover (date_ini).'],
    [WINDOW_END_TIMESTAMP, 'endMs', 'Unix time of the end of the window the cached values cover (date_end).'],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: [LABEL_ACCOUNT, LABEL_WINDOW],
      registers: [registry],
      collect() {
        this.reset();
        for (const snapshot of view()) {
          if (!snapshot.fresh) continue;
          this.set({ account: snapshot.account, window: snapshot.window }, snapshot.fresh.bounds[bound] / 1000);
        }
      },
    });
  }

  new Gauge({
    name: QUOTA_PAUSED,
    help: "1 while this account's polling is paused until local midnight because Wolkvox answered TOKEN LIMIT EXCEEDED.",
    labelNames: [LABEL_ACCOUNT],
    registers: [registry],
    collect() {
      this.reset();
      for (const { account, quotaPaused } of cache.accounts()) this.set({ account }, quotaPaused ? 1 : 0);
    },
  });

  // spec: History. Counters, so that increase() over any range the user picks works; each series
  // exists at 0 from the start, so increase() also sees the first chunk.
  new Counter({
    name: WHATSAPP_CHATS_TOTAL,
    help: 'WhatsApp chats that began from a click-to-WhatsApp ad or post, by who handled them, summed over settled chunks of counter_step (queried counter_delay after each ends).',
    labelNames: [LABEL_ACCOUNT, LABEL_SOURCE, LABEL_HANDLER],
    registers: [registry],
    collect() {
      this.reset();
      for (const { account, totals } of counters.view()) {
        for (const { field, source, handler } of PER_SOURCE) this.inc({ account, source, handler }, totals[field]);
      }
    },
  });

  new Counter({
    name: WHATSAPP_HANDLED_CHATS_TOTAL,
    help: 'All WhatsApp chats handled by bots only or that needed an agent (total_chatbot, total_agents), summed over settled chunks like wolkvox_whatsapp_chats_total.',
    labelNames: [LABEL_ACCOUNT, LABEL_HANDLER],
    registers: [registry],
    collect() {
      this.reset();
      for (const { account, totals } of counters.view()) {
        for (const { field, handler } of HANDLED) this.inc({ account, handler }, totals[field]);
      }
    },
  });

  new Gauge({
    name: COUNTER_SETTLED_UNTIL,
    help: 'Unix time of the end of the last chunk added to the _total counters (their start, before the first chunk settles).',
    labelNames: [LABEL_ACCOUNT],
    registers: [registry],
    collect() {
      this.reset();
      for (const { account, settledUntilMs } of counters.view()) this.set({ account }, settledUntilMs / 1000);
    },
  });

  for (const [name, key, help] of [
    [COUNTER_STEP, 'counterStepMs', 'Length of the chunks summed into the _total counters (counter_step), for alerts on how far they lag.'],
    [COUNTER_DELAY, 'counterDelayMs', 'How long after a chunk ends it is queried (counter_delay), for alerts on how far the counters lag.'],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: [LABEL_ACCOUNT],
      registers: [registry],
      collect() {
        this.reset();
        for (const account of accounts()) if (account.counterStepMs > 0) this.set({ account: account.name }, account[key] / 1000);
      },
    });
  }

  const requests = new Counter({
    name: REQUESTS_TOTAL,
    help: 'Wolkvox chat_15 API calls made, retries included, by outcome.',
    labelNames: [LABEL_ACCOUNT, LABEL_OUTCOME],
    registers: [registry],
  });

  const duration = new Histogram({
    name: REQUEST_DURATION,
    help: 'Latency of Wolkvox chat_15 API calls, retries included.',
    labelNames: [LABEL_ACCOUNT],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });

  new Gauge({
    name: PLANNED_DAILY_CALLS,
    help: 'API calls a day the current config makes (windows x 86400 / interval, a closed window counting 1, plus 86400 / counter_step), to compare with the token quota.',
    labelNames: [LABEL_ACCOUNT],
    registers: [registry],
    collect() {
      this.reset();
      for (const account of accounts()) this.set({ account: account.name }, plannedDailyCalls(account));
    },
  });

  new Gauge({
    name: DAILY_QUOTA_CALLS,
    help: "The token's daily API call quota as configured (licenses x 1000); absent where none is set.",
    labelNames: [LABEL_ACCOUNT],
    registers: [registry],
    collect() {
      this.reset();
      for (const account of accounts()) {
        if (account.dailyQuota !== undefined) this.set({ account: account.name }, account.dailyQuota);
      }
    },
  });

  new Gauge({
    name: BUILD_INFO,
    help: 'A metric with a constant 1 value labelled by the version, revision and Node.js version the exporter runs with.',
    labelNames: ['version', 'revision', 'nodejs'],
    registers: [registry],
  }).set({ version: build.version, revision: build.revision, nodejs: process.version }, 1);

  const reloadSuccessful = new Gauge({
    name: CONFIG_RELOAD_SUCCESSFUL,
    help: 'Whether the last configuration reload attempt was successful.',
    registers: [registry],
  });
  const reloadSuccessTimestamp = new Gauge({
    name: CONFIG_RELOAD_SUCCESS_TIMESTAMP,
    help: 'Unix time of the last successful configuration load or reload.',
    registers: [registry],
  });
  reloadSuccessful.set(1);
  reloadSuccessTimestamp.set(clock.now() / 1000);

  let known = new Set<string>();
  const syncAccounts = (current: readonly AccountConfig[]) => {
    const names = new Set(current.map((account) => account.name));
    for (const name of known) {
      if (names.has(name)) continue;
      for (const outcome of OUTCOMES) requests.remove({ account: name, outcome });
      duration.remove({ account: name });
    }
    // Zeroed series from the start, so increase() sees the first failure of each kind.
    for (const name of names) {
      if (known.has(name)) continue;
      for (const outcome of OUTCOMES) requests.inc({ account: name, outcome }, 0);
      duration.zero({ account: name });
    }
    known = names;
  };
  syncAccounts(accounts());

  return {
    recordRequest(account, outcome, durationSeconds) {
      version++;
      requests.inc({ account, outcome });
      duration.observe({ account }, durationSeconds);
    },
    syncAccounts(current) {
      version++;
      syncAccounts(current);
    },
    recordReload(successful, atMs) {
      version++;
      reloadSuccessful.set(successful ? 1 : 0);
      if (successful) reloadSuccessTimestamp.set(atMs / 1000);
    },
    exposition: createExposition(),
  };

  function createExposition(): Exposition {
    const ownNames = registry
      .getMetricsAsArray()
      .map((metric) => metric.name)
      .filter((name) => !defaultNames.has(name));
    let memo: { key: string; validUntilMs: number; text: Buffer } | undefined;
    const render = (names: readonly string[]) => Promise.all(names.map((name) => registry.getSingleMetricAsString(name)));
    const chunks = async (): Promise<Buffer[]> => {
      const now = clock.now();
      const key = `${cache.version()}/${counters.version()}/${version}`;
      if (!memo || memo.key !== key || now > memo.validUntilMs) {
        const validUntilMs = cache.nextExpiryMs(now);
        memo = { key, validUntilMs, text: Buffer.from(`${(await render(ownNames)).join('\n')}\n`) };
      }
      // Anything registered besides our own metrics (the defaults) is rendered every time.
      const others = registry
        .getMetricsAsArray()
        .map((metric) => metric.name)
        .filter((name) => !ownNames.includes(name));
      return [memo.text, Buffer.from(`${(await render(others)).join('\n')}\n`)];
    };
    return {
      contentType: registry.contentType,
      metricsChunks: chunks,
      async metrics() {
        return Buffer.concat(await chunks()).toString('utf8');
      },
    };
  }
}
