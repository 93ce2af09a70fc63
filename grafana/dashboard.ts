// Generates the Grafana dashboard JSON for the exporter's metrics; run it to rewrite grafana/dashboards/wolkvox-whatsapp.json.
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PanelBuilder as BarGaugePanelBuilder } from '@grafana/grafana-foundation-sdk/bargauge';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  BarAlignment,
  BarGaugeDisplayMode,
  BigValueColorMode,
  BigValueGraphMode,
  GraphDrawStyle,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizOrientation,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import {
  AnnotationQueryBuilder,
  CustomVariableBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  SpecialValueMatch,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Threshold, ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

export const DASHBOARD_UID = 'wolkvox-whatsapp';
export const DASHBOARD_TITLE = 'Wolkvox WhatsApp clicks';
/** Where `npx tsx grafana/dashboard.ts` writes the dashboard; compose mounts this folder into Grafana. */
export const DASHBOARD_PATH = fileURLToPath(new URL('./dashboards/wolkvox-whatsapp.json', import.meta.url));

/** Grafana 12: the SDK writes schemaVersion 42 and the panel options of that generation. */
const GRAFANA_MIN_VERSION = '12.0.0';

// Every panel and target queries through the `datasource` variable (dashboard-linter panel-datasource-rule).
const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

// Every selector carries job and instance (target-job-rule, target-instance-rule) and the account filter.
const EXPORTER = 'job=~"$job", instance=~"$instance"';
const ACCOUNT = `${EXPORTER}, account=~"$account"`;
const WINDOW = `${ACCOUNT}, window=~"$window"`;

// The exporter's own assumption when no --wolkvox.daily-quota is set (spec: --collector.interval).
const ASSUMED_DAILY_QUOTA = 1000;
// spec: --collector.max-staleness defaults to 3 × the 5m interval; the WolkvoxDataStale alert uses the same 900 s.
const STALE_AFTER_SECONDS = 900;
// The default counter step (1h) and delay (15m): a chunk settles by then; WolkvoxCountersNotSettling adds 30 minutes.
const COUNTERS_SETTLE_SECONDS = 3600 + 900;

/**
 * Bars of local days. Grafana steps a 1d interval at UTC midnights and labels a bar with the date of
 * that instant in the dashboard's time zone; the offset moves each bar's 24 hours onto the local day
 * it is labelled with, plus 30 minutes so the day's last hourly chunk (settled at 00:15) is in it and
 * the next day's first (settled at 01:15) is not. West of UTC a UTC midnight is the evening of the
 * day before, so the bar's day ends at the next local midnight: offset −(|UTC offset| + 30m). East of
 * UTC, or at UTC, it ends a day later: offset −(24h − UTC offset + 30m).
 */
const DAY_OFFSETS: ReadonlyArray<[label: string, offset: string]> = [
  ['UTC−3 (São Paulo, Buenos Aires)', '-3h30m'],
  ['UTC−4 (Santiago in winter, Caracas, La Paz)', '-4h30m'],
  ['UTC−5 (Bogotá, Lima, Quito, Panamá)', '-5h30m'],
  ['UTC−6 (Mexico City, Central America)', '-6h30m'],
  ['UTC', '-1d30m'],
  ['UTC+1 (Madrid in winter)', '-23h30m'],
];
const DEFAULT_DAY_OFFSET = 2;

type Step = [value: number | null, color: string];

function thresholds(...steps: Step[]): ThresholdsConfigBuilder {
  const built: Threshold[] = steps.map(([value, color]) => ({ value, color }));
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(built);
}

// Counts have no good or bad value: one neutral step, so colours carry no false alarm.
const NEUTRAL = (): ThresholdsConfigBuilder => thresholds([null, 'blue']);
// A bot containment ratio: higher is better.
const CONTAINMENT = (): ThresholdsConfigBuilder => thresholds([null, 'red'], [0.4, 'orange'], [0.6, 'green']);
// An agent handoff ratio: the complement of containment, lower is cheaper.
const HANDOFF = (): ThresholdsConfigBuilder => thresholds([null, 'green'], [0.4, 'orange'], [0.6, 'red']);

// A ratio over zero chats is NaN (0/0); show that as words rather than "NaN".
const NO_CHATS: ValueMapping = {
  type: MappingType.SpecialValue,
  options: { match: SpecialValueMatch.NotANumber, result: { text: 'no chats', color: 'text' } },
};

/** Text and colour for the values 0 and 1 of a status gauge. */
function states(zero: [text: string, color: string], one: [text: string, color: string]): ValueMapping {
  return {
    type: MappingType.ValueToText,
    options: {
      '0': { text: zero[0], color: zero[1], index: 0 },
      '1': { text: one[0], color: one[1], index: 1 },
    },
  };
}

type Query = { expr: string; legend: string };

function targets(queries: Query[], instant: boolean): cog.Builder<cog.Dataquery>[] {
  return queries.map(({ expr, legend }, i) => {
    const target = new DataqueryBuilder()
      .datasource(DATASOURCE)
      .refId(String.fromCharCode(65 + i))
      .expr(expr)
      .legendFormat(legend);
    return instant ? target.instant() : target.range();
  });
}

type Common = {
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  thresholds: ThresholdsConfigBuilder;
  width: number;
  height?: number;
  decimals?: number;
  min?: number;
  max?: number;
  mappings?: ValueMapping[];
};

function stat(p: Common & { sparkline?: boolean }): StatPanelBuilder {
  const panel = new StatPanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(DATASOURCE)
    .targets(targets(p.queries, p.sparkline === false))
    .unit(p.unit)
    .thresholds(p.thresholds)
    .colorMode(BigValueColorMode.Value)
    .graphMode(p.sparkline === false ? BigValueGraphMode.None : BigValueGraphMode.Area)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .span(p.width)
    .height(p.height ?? 5);
  if (p.decimals !== undefined) panel.decimals(p.decimals);
  if (p.min !== undefined) panel.min(p.min);
  if (p.max !== undefined) panel.max(p.max);
  if (p.mappings) panel.mappings(p.mappings);
  return panel;
}

function timeseries(p: Common & { thresholdLines?: boolean }): TimeseriesPanelBuilder {
  const panel = new TimeseriesPanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(DATASOURCE)
    .targets(targets(p.queries, false))
    .unit(p.unit)
    .thresholds(p.thresholds)
    .thresholdsStyle(
      new GraphThresholdsStyleConfigBuilder().mode(p.thresholdLines ? GraphThresholdsStyleMode.Dashed : GraphThresholdsStyleMode.Off),
    )
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Bottom)
        .calcs(['lastNotNull', 'max']),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
    .fillOpacity(10)
    .span(p.width)
    .height(p.height ?? 8);
  if (p.decimals !== undefined) panel.decimals(p.decimals);
  if (p.min !== undefined) panel.min(p.min);
  if (p.max !== undefined) panel.max(p.max);
  if (p.mappings) panel.mappings(p.mappings);
  return panel;
}

function barGauge(p: Common): BarGaugePanelBuilder {
  const panel = new BarGaugePanelBuilder()
    .title(p.title)
    .description(p.description)
    .datasource(DATASOURCE)
    .targets(targets(p.queries, true))
    .unit(p.unit)
    .thresholds(p.thresholds)
    .displayMode(BarGaugeDisplayMode.Gradient)
    .orientation(VizOrientation.Horizontal)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .span(p.width)
    .height(p.height ?? 8);
  if (p.min !== undefined) panel.min(p.min);
  if (p.max !== undefined) panel.max(p.max);
  if (p.mappings) panel.mappings(p.mappings);
  return panel;
}

/** `sum by (labels)` of the chats matching `part` over all chats of the same selector: NaN where there were none. */
function share(metric: string, selector: string, part: string, by = 'account, window'): string {
  return (
    `sum by (${by}) (${metric}{${selector}, ${part}})\n` +
    `/\n` +
    `sum by (${by}) (${metric}{${selector}})`
  );
}

function botShare(metric: string, selector: string, by: string): string {
  return share(metric, selector, 'handler="bot"', by);
}

/** A share between 0 and 1, shown as a percentage with one decimal. */
const RATIO = { unit: 'percentunit', decimals: 1, min: 0, max: 1 } as const;

const chatsBySource = (source: 'ad' | 'post'): string =>
  `sum by (account, window) (wolkvox_whatsapp_chats{${WINDOW}, source="${source}"})`;

const PER_WINDOW_NOTE =
  'One value per account and window: a window (`1h`, `today`, `yesterday`, …) is a report the exporter polls, ' +
  'so values of different windows overlap and are never added together.';

const sourcesRow = (): RowBuilder => new RowBuilder('Where chats come from: ads vs posts');

const sourcesPanels = (): cog.Builder<unknown>[] => [
  stat({
    title: 'Chats from ads',
    description:
      'WhatsApp chats that began from a click-to-WhatsApp ad (`ad_chatbot` + `ad_agents`), in each selected report window. ' +
      PER_WINDOW_NOTE,
    unit: 'short',
    decimals: 0,
    thresholds: NEUTRAL(),
    queries: [{ expr: chatsBySource('ad'), legend: '{{account}} · {{window}}' }],
    width: 6,
  }),
  stat({
    title: 'Chats from posts',
    description:
      'WhatsApp chats that began from a post (`post_chatbot` + `post_agents`), in each selected report window. ' +
      PER_WINDOW_NOTE,
    unit: 'short',
    decimals: 0,
    thresholds: NEUTRAL(),
    queries: [{ expr: chatsBySource('post'), legend: '{{account}} · {{window}}' }],
    width: 6,
  }),
  stat({
    title: 'Share of chats from ads',
    description:
      'Chats from ads divided by chats from ads and posts, per account and window. "no chats" when the window has none. ' +
      'Informational: no colour means good or bad.',
    ...RATIO,
    thresholds: NEUTRAL(),
    mappings: [NO_CHATS],
    queries: [
      {
        expr: share('wolkvox_whatsapp_chats', WINDOW, 'source="ad"'),
        legend: '{{account}} · {{window}}',
      },
    ],
    width: 12,
  }),
  timeseries({
    title: 'Chats from ads vs posts over time',
    description:
      'The cumulative count of each report window as the exporter last polled it: `today` grows through the day and ' +
      'restarts at local midnight, a rolling window such as `1h` rises and falls. ' +
      PER_WINDOW_NOTE,
    unit: 'short',
    decimals: 0,
    min: 0,
    thresholds: NEUTRAL(),
    queries: [
      {
        expr: `sum by (account, window, source) (wolkvox_whatsapp_chats{${WINDOW}})`,
        legend: '{{source}} · {{account}} · {{window}}',
      },
    ],
    width: 24,
  }),
];

const historyRow = (): RowBuilder => new RowBuilder('History: the range in the time picker, from the _total counters');

const RANGE_NOTE =
  'From the `_total` counters, which add each settled chunk (counter_step, default 1h) counter_delay after it ends ' +
  '(default 15m), so the range is shifted by that delay. Exact over ranges the counters cover; a restart of the ' +
  'exporter starts them at 0, which increase() handles.';

const chatsInRange = (source: 'ad' | 'post'): string =>
  `sum by (account) (increase(wolkvox_whatsapp_chats_total{${ACCOUNT}, source="${source}"}[$__range]))`;

/** Days, then weeks and months from the calendar windows, when the exporter polls them. */
const CALENDAR_NOTE = 'From the `week` and `month` windows, which the exporter polls only when --collector.windows lists them.';

const historyPanels = (): cog.Builder<unknown>[] => [
  stat({
    title: 'Chats from ads in the range',
    description: 'WhatsApp chats that began from a click-to-WhatsApp ad over the range picked in the time picker, per account. ' + RANGE_NOTE,
    unit: 'short',
    decimals: 0,
    sparkline: false,
    thresholds: NEUTRAL(),
    queries: [{ expr: chatsInRange('ad'), legend: '{{account}}' }],
    width: 6,
  }),
  stat({
    title: 'Chats from posts in the range',
    description: 'WhatsApp chats that began from a post over the range picked in the time picker, per account. ' + RANGE_NOTE,
    unit: 'short',
    decimals: 0,
    sparkline: false,
    thresholds: NEUTRAL(),
    queries: [{ expr: chatsInRange('post'), legend: '{{account}}' }],
    width: 6,
  }),
  stat({
    title: 'Share of chats from ads in the range',
    description: 'Chats from ads over chats from ads and posts in the picked range, per account. "no chats" when there were none. ' + RANGE_NOTE,
    ...RATIO,
    sparkline: false,
    thresholds: NEUTRAL(),
    mappings: [NO_CHATS],
    queries: [
      {
        expr:
          `sum by (account) (increase(wolkvox_whatsapp_chats_total{${ACCOUNT}, source="ad"}[$__range]))\n` +
          `/\n` +
          `sum by (account) (increase(wolkvox_whatsapp_chats_total{${ACCOUNT}}[$__range]))`,
        legend: '{{account}}',
      },
    ],
    width: 6,
  }),
  stat({
    title: 'Bot containment in the range',
    description:
      'All chats a bot handled alone over all chats (`total_chatbot` / (`total_chatbot` + `total_agents`)) in the picked range, ' +
      'per account. Red below 40 %, green from 60 %. ' +
      RANGE_NOTE,
    ...RATIO,
    sparkline: false,
    thresholds: CONTAINMENT(),
    mappings: [NO_CHATS],
    queries: [
      {
        expr:
          `sum by (account) (increase(wolkvox_whatsapp_handled_chats_total{${ACCOUNT}, handler="bot"}[$__range]))\n` +
          `/\n` +
          `sum by (account) (increase(wolkvox_whatsapp_handled_chats_total{${ACCOUNT}}[$__range]))`,
        legend: '{{account}}',
      },
    ],
    width: 6,
  }),
  dailyBars(),
  stat({
    title: 'Chats this week (from Monday)',
    description: 'Chats from ads and from posts since Monday 00:00 local time, per account. ' + CALENDAR_NOTE,
    unit: 'short',
    decimals: 0,
    sparkline: false,
    thresholds: NEUTRAL(),
    queries: [{ expr: `sum by (account, source) (wolkvox_whatsapp_chats{${ACCOUNT}, window="week"})`, legend: '{{source}} · {{account}}' }],
    width: 8,
  }),
  stat({
    title: 'Chats this month (from the 1st)',
    description: 'Chats from ads and from posts since the 1st at 00:00 local time, per account. ' + CALENDAR_NOTE,
    unit: 'short',
    decimals: 0,
    sparkline: false,
    thresholds: NEUTRAL(),
    queries: [{ expr: `sum by (account, source) (wolkvox_whatsapp_chats{${ACCOUNT}, window="month"})`, legend: '{{source}} · {{account}}' }],
    width: 8,
  }),
  stat({
    title: 'Bot containment this month',
    description: 'All chats a bot handled alone over all chats since the 1st, per account. Red below 40 %, green from 60 %. ' + CALENDAR_NOTE,
    ...RATIO,
    sparkline: false,
    thresholds: CONTAINMENT(),
    mappings: [NO_CHATS],
    queries: [{ expr: botShare('wolkvox_whatsapp_handled_chats', `${ACCOUNT}, window="month"`, 'account'), legend: '{{account}}' }],
    width: 8,
  }),
];

/** One stacked bar per local day, ads and posts, from the counters (the `$day_offset` variable picks the zone). */
function dailyBars(): TimeseriesPanelBuilder {
  return timeseries({
    title: 'Chats per local day: ads vs posts',
    description:
      'One bar per local day: chats from ads and from posts added to the counters that day. Pick your accounts\' UTC offset in ' +
      'the "Local day" variable and set the dashboard time zone to the same zone, so each bar is labelled with its own date. ' +
      'A bar covers local midnight + 30 minutes to the next, so that the last hourly chunk of the day (settled at 00:15 with ' +
      'the default counter_delay) is in it; with another counter_step or counter_delay, edit the offsets. Zones with DST shift by ' +
      'an hour half the year. The bar of today grows until midnight.',
    unit: 'short',
    decimals: 0,
    min: 0,
    thresholds: NEUTRAL(),
    queries: [
      {
        expr: `sum by (source) (increase(wolkvox_whatsapp_chats_total{${ACCOUNT}}[1d] offset $day_offset))`,
        legend: '{{source}}',
      },
    ],
    width: 24,
  })
    .interval('1d')
    .drawStyle(GraphDrawStyle.Bars)
    .barAlignment(BarAlignment.After)
    .fillOpacity(80)
    .stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
}

const containmentRow = (): RowBuilder => new RowBuilder('Bot containment: chats the bot closed without an agent');

const containmentPanels = (): cog.Builder<unknown>[] => [
  stat({
    title: 'Bot containment rate: ads',
    description:
      'Chats from ads that a bot handled alone, divided by all chats from ads (`ad_chatbot` / (`ad_chatbot` + `ad_agents`)), ' +
      'per account and window. Red below 40 %, green from 60 %; "no chats" when the window has none.',
    ...RATIO,
    thresholds: CONTAINMENT(),
    mappings: [NO_CHATS],
    queries: [
      { expr: botShare('wolkvox_whatsapp_chats', `${WINDOW}, source="ad"`, 'account, window'), legend: '{{account}} · {{window}}' },
    ],
    width: 8,
  }),
  stat({
    title: 'Bot containment rate: posts',
    description:
      'Chats from posts that a bot handled alone, divided by all chats from posts (`post_chatbot` / (`post_chatbot` + `post_agents`)), ' +
      'per account and window. Red below 40 %, green from 60 %; "no chats" when the window has none.',
    ...RATIO,
    thresholds: CONTAINMENT(),
    mappings: [NO_CHATS],
    queries: [
      { expr: botShare('wolkvox_whatsapp_chats', `${WINDOW}, source="post"`, 'account, window'), legend: '{{account}} · {{window}}' },
    ],
    width: 8,
  }),
  stat({
    title: 'Bot containment rate: all chats',
    description:
      'All chats a bot handled alone, divided by all chats (`total_chatbot` / (`total_chatbot` + `total_agents`)), per account ' +
      'and window. Wolkvox does not say whether the totals count origins other than ads and posts, so this may differ from the two panels beside it.',
    ...RATIO,
    thresholds: CONTAINMENT(),
    mappings: [NO_CHATS],
    queries: [
      { expr: botShare('wolkvox_whatsapp_handled_chats', WINDOW, 'account, window'), legend: '{{account}} · {{window}}' },
    ],
    width: 8,
  }),
  timeseries({
    title: 'Bot containment rate over time, by source',
    description:
      'Bot containment rate (bot-only chats / all chats) for ads and for posts, per account and window, as polled. ' +
      'Gaps mean the window had no chats. Dashed lines at 40 % and 60 % match the colours of the stat panels.',
    ...RATIO,
    thresholds: CONTAINMENT(),
    thresholdLines: true,
    queries: [
      {
        expr: botShare('wolkvox_whatsapp_chats', WINDOW, 'account, window, source'),
        legend: '{{source}} · {{account}} · {{window}}',
      },
    ],
    width: 24,
  }),
];

const agentsRow = (): RowBuilder => new RowBuilder('Human agents: chats that needed a person');

const agentsPanels = (): cog.Builder<unknown>[] => [
  stat({
    title: 'Chats that needed an agent',
    description:
      'All chats that required a human agent (`total_agents`), per account and window. Informational: staffing decides what is too many.',
    unit: 'short',
    decimals: 0,
    thresholds: NEUTRAL(),
    queries: [
      {
        expr: `sum by (account, window) (wolkvox_whatsapp_handled_chats{${WINDOW}, handler="agent"})`,
        legend: '{{account}} · {{window}}',
      },
    ],
    width: 8,
  }),
  stat({
    title: 'Agent handoff rate',
    description:
      'Chats that needed an agent divided by all chats (`total_agents` / (`total_chatbot` + `total_agents`)), per account and window. ' +
      'Green below 40 %, red from 60 %; "no chats" when the window has none.',
    ...RATIO,
    thresholds: HANDOFF(),
    mappings: [NO_CHATS],
    queries: [
      {
        expr: share('wolkvox_whatsapp_handled_chats', WINDOW, 'handler="agent"'),
        legend: '{{account}} · {{window}}',
      },
    ],
    width: 8,
  }),
  stat({
    title: 'Chats from ads and posts that needed an agent',
    description: 'Chats from ads plus chats from posts that needed an agent (`ad_agents` + `post_agents`), per account and window.',
    unit: 'short',
    decimals: 0,
    thresholds: NEUTRAL(),
    queries: [
      {
        expr: `sum by (account, window) (wolkvox_whatsapp_chats{${WINDOW}, handler="agent"})`,
        legend: '{{account}} · {{window}}',
      },
    ],
    width: 8,
  }),
  timeseries({
    title: 'Chats that needed an agent, by source',
    description: 'Chats handled with a human agent, split into ads and posts, per account and window, as polled.',
    unit: 'short',
    decimals: 0,
    min: 0,
    thresholds: NEUTRAL(),
    queries: [
      {
        expr: `sum by (account, window, source) (wolkvox_whatsapp_chats{${WINDOW}, handler="agent"})`,
        legend: '{{source}} · {{account}} · {{window}}',
      },
    ],
    width: 24,
  }),
];

const accountsRow = (): RowBuilder => new RowBuilder('Accounts compared');

const accountsPanels = (): cog.Builder<unknown>[] => [
  barGauge({
    title: 'Chats per account',
    description: 'All chats from ads and posts, per account and window, longest bar first. ' + PER_WINDOW_NOTE,
    unit: 'short',
    min: 0,
    thresholds: NEUTRAL(),
    queries: [
      {
        expr: `sort_desc(sum by (account, window) (wolkvox_whatsapp_chats{${WINDOW}}))`,
        legend: '{{account}} · {{window}}',
      },
    ],
    width: 12,
  }),
  barGauge({
    title: 'Bot containment rate per account',
    description:
      'All chats a bot handled alone divided by all chats (`total_chatbot` / (`total_chatbot` + `total_agents`)), per account and window. ' +
      'Red below 40 %, green from 60 %.',
    unit: 'percentunit',
    min: 0,
    max: 1,
    thresholds: CONTAINMENT(),
    mappings: [NO_CHATS],
    queries: [
      { expr: botShare('wolkvox_whatsapp_handled_chats', WINDOW, 'account, window'), legend: '{{account}} · {{window}}' },
    ],
    width: 12,
  }),
  timeseries({
    title: 'Chats per account over time',
    description: 'All chats from ads and posts per account and window, as polled, to compare how accounts move through the day.',
    unit: 'short',
    decimals: 0,
    min: 0,
    thresholds: NEUTRAL(),
    queries: [
      { expr: `sum by (account, window) (wolkvox_whatsapp_chats{${WINDOW}})`, legend: '{{account}} · {{window}}' },
    ],
    width: 24,
  }),
];

// Collapsed: the audience of the rows above is marketing; the alerts watch these all the time.
const healthRow = (): RowBuilder =>
  new RowBuilder('Exporter health')
    .collapsed(true)
    .withPanel(
      stat({
        title: 'Exporter scraped',
        description: 'Prometheus `up` for the exporter: 1 when the last scrape of /metrics succeeded. Red when Prometheus cannot reach it.',
        unit: 'none',
        sparkline: false,
        thresholds: thresholds([null, 'red'], [1, 'green']),
        mappings: [states(['DOWN', 'red'], ['UP', 'green'])],
        queries: [{ expr: `min by (job, instance) (up{${EXPORTER}})`, legend: '{{instance}}' }],
        width: 5,
        height: 4,
      }),
    )
    .withPanel(
      stat({
        title: 'Wolkvox API up',
        description:
          '`wolkvox_up` per account and window: 1 when the last poll of the chat_15 report succeeded, 0 when it failed ' +
          '(the last good counts are still served until max-staleness). See the outcomes panel for why.',
        unit: 'none',
        sparkline: false,
        thresholds: thresholds([null, 'red'], [1, 'green']),
        mappings: [states(['FAILING', 'red'], ['OK', 'green'])],
        queries: [{ expr: `min by (account, window) (wolkvox_up{${WINDOW}})`, legend: '{{account}} · {{window}}' }],
        width: 5,
        height: 4,
      }),
    )
    .withPanel(
      stat({
        title: 'Age of last successful poll',
        description:
          'Seconds since the last successful poll, per account and window. Orange from 10 min, red from 15 min (3 × the default ' +
          '5m interval, as the WolkvoxDataStale alert). The closed `yesterday` window is polled once a day, so it is left out.',
        unit: 's',
        decimals: 0,
        sparkline: false,
        thresholds: thresholds([null, 'green'], [600, 'orange'], [STALE_AFTER_SECONDS, 'red']),
        queries: [
          {
            expr: `time() - max by (account, window) (wolkvox_last_success_timestamp_seconds{${WINDOW}, window!="yesterday"})`,
            legend: '{{account}} · {{window}}',
          },
        ],
        width: 5,
        height: 4,
      }),
    )
    .withPanel(
      stat({
        title: 'Polling paused by quota',
        description:
          '`wolkvox_quota_paused`: PAUSED when Wolkvox answered TOKEN LIMIT EXCEEDED and the exporter stopped polling the account ' +
          'until the next local midnight.',
        unit: 'none',
        sparkline: false,
        thresholds: thresholds([null, 'green'], [1, 'red']),
        mappings: [states(['polling', 'green'], ['PAUSED', 'red'])],
        queries: [{ expr: `max by (account) (wolkvox_quota_paused{${ACCOUNT}})`, legend: '{{account}}' }],
        width: 5,
        height: 4,
      }),
    )
    .withPanel(
      stat({
        title: 'Shards missing',
        description:
          'Shards configured (`wolkvox_exporter_shards`) minus shards scraped (distinct `index` of `wolkvox_exporter_shard_info`), ' +
          'per job, over the instances picked (All by default): 0 when every shard of a split config runs, as with one process. Red when a shard ' +
          'is missing and its accounts go unpolled (WolkvoxShardMissing).',
        unit: 'none',
        decimals: 0,
        sparkline: false,
        thresholds: thresholds([null, 'green'], [1, 'red']),
        queries: [
          {
            expr:
              `max by (job) (wolkvox_exporter_shards{${EXPORTER}}) - count by (job) (count by (job, index) (wolkvox_exporter_shard_info{${EXPORTER}}))`,
            legend: '{{job}}',
          },
        ],
        width: 4,
        height: 4,
      }),
    )
    .withPanel(
      timeseries({
        title: 'API request outcomes per second',
        description:
          'Calls to the Wolkvox API per second, retries included, by outcome (`success`, `no_data` or a failure kind such as ' +
          '`unauthorized`, `quota_exceeded` or `timeout`). Anything but success and no_data deserves a look.',
        unit: 'reqps',
        min: 0,
        thresholds: NEUTRAL(),
        queries: [
          {
            expr: `sum by (account, outcome) (rate(wolkvox_exporter_requests_total{${ACCOUNT}}[$__rate_interval]))`,
            legend: '{{outcome}} · {{account}}',
          },
        ],
        width: 12,
      }),
    )
    .withPanel(
      timeseries({
        title: 'API latency p50 / p95',
        description:
          'Median and 95th percentile of Wolkvox API call duration, from `wolkvox_exporter_request_duration_seconds`. ' +
          'Polls are minutes apart, so short rate intervals show gaps. Dashed lines at 10 s and 30 s; the default timeout is 60 s.',
        unit: 's',
        min: 0,
        thresholds: thresholds([null, 'green'], [10, 'orange'], [30, 'red']),
        thresholdLines: true,
        queries: [
          {
            expr:
              `histogram_quantile(0.5, sum by (account, le) ` +
              `(rate(wolkvox_exporter_request_duration_seconds_bucket{${ACCOUNT}}[$__rate_interval])))`,
            legend: 'p50 · {{account}}',
          },
          {
            expr:
              `histogram_quantile(0.95, sum by (account, le) ` +
              `(rate(wolkvox_exporter_request_duration_seconds_bucket{${ACCOUNT}}[$__rate_interval])))`,
            legend: 'p95 · {{account}}',
          },
        ],
        width: 12,
      }),
    )
    .withPanel(
      timeseries({
        title: 'Planned daily calls vs quota',
        description:
          'Calls per day the current configuration makes (windows × 86400 / interval; `yesterday` counts once) and the token\'s daily quota ' +
          `(--wolkvox.daily-quota; where none is set, the ${ASSUMED_DAILY_QUOTA} calls of one licence that the exporter assumes).`,
        unit: 'short',
        decimals: 0,
        min: 0,
        thresholds: NEUTRAL(),
        queries: [
          {
            expr: `sum by (account) (wolkvox_exporter_planned_daily_calls{${ACCOUNT}})`,
            legend: 'planned · {{account}}',
          },
          {
            expr:
              `max by (account) (wolkvox_exporter_daily_quota_calls{${ACCOUNT}})\n` +
              `or\n` +
              `0 * sum by (account) (wolkvox_exporter_planned_daily_calls{${ACCOUNT}}) + ${ASSUMED_DAILY_QUOTA}`,
            legend: 'quota · {{account}}',
          },
        ],
        width: 12,
      }),
    )
    .withPanel(
      stat({
        title: 'Planned calls as share of quota',
        description:
          'Planned daily calls divided by the daily quota (or the assumed 1,000 when none is set). Orange from 80 % ' +
          '(the WolkvoxPlannedCallsNearQuota alert), red from 100 %: the token would run out before midnight.',
        unit: 'percentunit',
        decimals: 0,
        min: 0,
        thresholds: thresholds([null, 'green'], [0.8, 'orange'], [1, 'red']),
        queries: [
          {
            expr:
              `sum by (account) (wolkvox_exporter_planned_daily_calls{${ACCOUNT}})\n` +
              `/\n` +
              `(\n` +
              `  max by (account) (wolkvox_exporter_daily_quota_calls{${ACCOUNT}})\n` +
              `  or\n` +
              `  0 * sum by (account) (wolkvox_exporter_planned_daily_calls{${ACCOUNT}}) + ${ASSUMED_DAILY_QUOTA}\n` +
              `)`,
            legend: '{{account}}',
          },
        ],
        width: 6,
        height: 8,
      }),
    )
    .withPanel(
      stat({
        title: 'Counters lag',
        description:
          'How far behind now the `_total` counters are: seconds since the end of the last chunk they hold. Up to a chunk and its ' +
          'delay is normal (75 min at the defaults); orange past that, red 30 minutes later, when WolkvoxCountersNotSettling fires.',
        unit: 's',
        decimals: 0,
        sparkline: false,
        thresholds: thresholds([null, 'green'], [COUNTERS_SETTLE_SECONDS, 'orange'], [COUNTERS_SETTLE_SECONDS + 1800, 'red']),
        queries: [
          {
            expr: `time() - max by (account) (wolkvox_counters_settled_until_timestamp_seconds{${ACCOUNT}})`,
            legend: '{{account}}',
          },
        ],
        width: 6,
        height: 8,
      }),
    );

function labelValuesVariable(name: string, label: string, selector: string, description: string): QueryVariableBuilder {
  const query = `label_values(${selector}, ${name})`;
  return new QueryVariableBuilder(name)
    .label(label)
    .description(description)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.+')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

function variables(): cog.Builder<unknown>[] {
  return [
    new DatasourceVariableBuilder('datasource')
      .label('Data source')
      .description('The Prometheus that scrapes the exporter.')
      .type('prometheus')
      // Import replaces ${DS_PROMETHEUS} with the chosen uid. A provisioned copy keeps the placeholder, matches no
      // uid, and Grafana falls back to the option whose name is "Prometheus", then to the first Prometheus data source.
      .current({ selected: false, text: 'Prometheus', value: '${DS_PROMETHEUS}' }),
    labelValuesVariable('job', 'Job', 'wolkvox_up', 'Prometheus job(s) that scrape the exporter.'),
    labelValuesVariable('instance', 'Instance', `wolkvox_up{job=~"$job"}`, 'Exporter instance(s); pick one where several scrape the same accounts.'),
    labelValuesVariable('account', 'Account', `wolkvox_up{${EXPORTER}}`, 'Wolkvox account(s), the `account` label.'),
    labelValuesVariable(
      'window',
      'Window',
      `wolkvox_up{${ACCOUNT}}`,
      'Report window(s) the exporter polls, e.g. 1h, today, yesterday. Values of different windows overlap; panels never add them.',
    ),
    dayOffsetVariable(),
  ];
}

/** Which local days the daily bars show: a custom variable of UTC offsets (see DAY_OFFSETS). */
function dayOffsetVariable(): CustomVariableBuilder {
  const [label, value] = DAY_OFFSETS[DEFAULT_DAY_OFFSET]!;
  return new CustomVariableBuilder('day_offset')
    .label('Local day')
    .description("Your accounts' UTC offset, for the bars of local days; set the dashboard time zone to the same zone.")
    .values(DAY_OFFSETS.map(([text, offset]) => `${text} : ${offset}`).join(', '))
    .options(DAY_OFFSETS.map(([text, offset], index) => ({ selected: index === DEFAULT_DAY_OFFSET, text, value: offset })))
    .current({ selected: true, text: label, value });
}

type Json = Record<string, unknown>;
type PanelJson = Json & { type: string; panels?: PanelJson[] };

function panelTypes(panels: PanelJson[]): string[] {
  const types = new Set<string>();
  for (const panel of panels) {
    if (panel.type !== 'row') types.add(panel.type);
    for (const nested of panel.panels ?? []) types.add(nested.type);
  }
  return [...types].sort();
}

const PANEL_NAMES: Record<string, string> = { bargauge: 'Bar gauge', stat: 'Stat', timeseries: 'Time series' };

/**
 * The dashboard as Grafana's import UI expects it. The SDK builds the model; `__inputs` and `__requires`
 * (import-only keys the SDK has no builder for) are added here, and panel ids are numbered in layout order.
 */
export function buildDashboard(): Json {
  const builder = new DashboardBuilder(DASHBOARD_TITLE)
    .uid(DASHBOARD_UID)
    .description(
      'WhatsApp chats from click-to-WhatsApp ads and posts (Wolkvox chat_15 report), bot containment, agent handoff, ' +
        'and the health of wolkvox-exporter.',
    )
    .tags(['wolkvox', 'whatsapp', 'contact-center', 'prometheus-exporter'])
    .readonly()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-24h', to: 'now' })
    .refresh('1m')
    .timezone('browser')
    .annotation(
      new AnnotationQueryBuilder()
        .name('Annotations & Alerts')
        .datasource({ type: 'grafana', uid: '-- Grafana --' })
        .enable(true)
        .hide(true)
        .iconColor('rgba(0, 211, 255, 1)')
        .type('dashboard')
        .builtIn(1),
    );
  for (const variable of variables()) builder.withVariable(variable as cog.Builder<never>);
  const sections: [RowBuilder, cog.Builder<unknown>[]][] = [
    [sourcesRow(), sourcesPanels()],
    [historyRow(), historyPanels()],
    [containmentRow(), containmentPanels()],
    [agentsRow(), agentsPanels()],
    [accountsRow(), accountsPanels()],
  ];
  for (const [row, panels] of sections) {
    builder.withRow(row);
    for (const panel of panels) builder.withPanel(panel as cog.Builder<never>);
  }
  builder.withRow(healthRow());

  const model = JSON.parse(JSON.stringify(builder.build())) as Json & { panels: PanelJson[] };
  let id = 0;
  for (const panel of model.panels) {
    panel.id = ++id;
    for (const nested of panel.panels ?? []) nested.id = ++id;
  }

  return {
    __inputs: [
      {
        name: 'DS_PROMETHEUS',
        label: 'Prometheus',
        description: 'The Prometheus that scrapes wolkvox-exporter',
        type: 'datasource',
        pluginId: 'prometheus',
        pluginName: 'Prometheus',
      },
    ],
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: GRAFANA_MIN_VERSION },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      ...panelTypes(model.panels).map((type) => ({ type: 'panel', id: type, name: PANEL_NAMES[type] ?? type, version: '' })),
    ],
    id: null,
    ...model,
  };
}

/** The file's exact contents: two-space JSON and a trailing newline. */
export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(DASHBOARD_PATH, renderDashboard());
}
