// The Grafana dashboard: generated from grafana/dashboard.ts, importable, passes dashboard-linter's static rules, and every
// panel query returns data from a real Prometheus scraping the demo exporter.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DASHBOARD_PATH, DASHBOARD_UID, buildDashboard, renderDashboard } from '../../grafana/dashboard.js';
import { exporterBinary, listeningAddress } from '../support/binary.js';
import { systemTools } from '../support/system-tools.js';
import { startOnFreePort, startProcess, stopProcess, waitFor } from '../support/processes.js';
import type { RunningProcess } from '../support/processes.js';

const ROOT = resolve(import.meta.dirname, '../..');

type Target = { expr?: string; refId?: string; datasource?: { type?: string; uid?: string } };
type Panel = {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  collapsed?: boolean;
  gridPos?: { x: number; y: number; w: number; h: number };
  options?: { reduceOptions?: { calcs?: string[] } };
  fieldConfig?: {
    defaults?: { unit?: string; mappings?: unknown[]; thresholds?: { mode?: string; steps?: { value: number | null; color: string }[] } };
    overrides?: unknown[];
  };
};
type Variable = {
  type: string;
  name: string;
  label?: string;
  query?: unknown;
  datasource?: { type?: string; uid?: string };
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  refresh?: number;
  current?: { text?: unknown; value?: unknown };
};
type Dashboard = {
  __inputs: { name: string; type: string; pluginId: string }[];
  __requires: { type: string; id: string }[];
  uid: string;
  title: string;
  tags: string[];
  schemaVersion: number;
  editable: boolean;
  templating: { list: Variable[] };
  panels: Panel[];
};

const committed = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;

/** Every panel, rows included, with the panels nested in collapsed rows. */
function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}
const queryPanels = allPanels(committed.panels).filter((panel) => panel.type !== 'row');
const targets = queryPanels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, expr: target.expr ?? '' })));
const variables = committed.templating.list;
const queryVariables = variables.filter((variable) => variable.type === 'query');
const customVariables = variables.filter((variable) => variable.type === 'custom');

/** Panels that dashboard-linter's .lint file excuses from target-rate-interval-rule (the history panels). */
const lint = parseYaml(readFileSync(join(ROOT, 'grafana/dashboards/.lint'), 'utf8')) as {
  exclusions: Record<string, { reason: string; entries?: { dashboard: string; panel: string }[] }>;
};
const RANGE_EXCUSED = new Set((lint.exclusions['target-rate-interval-rule']?.entries ?? []).map((entry) => entry.panel));

/** `label_values(<selector>, <label>)`, the only query form the variables use (template-label-promql-rule). */
function labelValues(variable: Variable): { selector: string; label: string } {
  const match = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(String(variable.query));
  if (!match?.[1] || !match[2]) throw new Error(`variable ${variable.name}: query is not label_values(selector, label): ${String(variable.query)}`);
  return { selector: match[1], label: match[2] };
}

// Grafana's escaping of a single selected value inside a PromQL regex matcher: regex-escape, then double the
// backslashes for the PromQL string (prometheusRegularEscape + prometheusSpecialRegexEscape).
function grafanaRegexValue(value: string): string {
  return value.replace(/[\\^$*+?.()|{}[\]]/g, '\\$&').replace(/\\/g, '\\\\');
}

/**
 * Replaces Grafana variables as Grafana would before sending a query. Unknown variables throw, so a typo in a
 * panel fails here rather than silently matching nothing.
 */
function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = values[name];
    if (value === undefined) throw new Error(`unknown variable ${whole} in ${expr}`);
    return value;
  });
}

// Built-in intervals sized for the few seconds of 1s-scraped data the end-to-end test has.
const BUILTINS: Record<string, string> = {
  __rate_interval: '15s',
  __interval: '5s',
  __range: '1m',
  __range_s: '60',
  __interval_ms: '5000',
};
const ALL_SELECTED: Record<string, string> = {
  ...BUILTINS,
  ...Object.fromEntries(queryVariables.map((variable) => [variable.name, variable.allValue ?? '.*'])),
  // A custom variable has one value at a time: its default.
  ...Object.fromEntries(customVariables.map((variable) => [variable.name, String(variable.current?.value)])),
};

describe('dashboard JSON is generated from grafana/dashboard.ts', () => {
  it('the committed file is exactly what the generator writes (run `npx tsx grafana/dashboard.ts` after editing)', () => {
    expect(readFileSync(DASHBOARD_PATH, 'utf8')).toBe(renderDashboard());
  });

  it('buildDashboard() returns fresh objects equal to the committed JSON', () => {
    const first = buildDashboard();
    expect(first).toEqual(committed);
    (first.panels as Panel[]).pop();
    expect(buildDashboard()).toEqual(committed);
  });
});

describe('dashboard is importable through the Grafana UI', () => {
  it('has uid, title, tags and schemaVersion', () => {
    expect(committed.uid).toBe(DASHBOARD_UID);
    expect(committed.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(committed.title).toMatch(/Wolkvox/);
    expect(committed.tags).toEqual(expect.arrayContaining(['wolkvox', 'whatsapp']));
    expect(committed.schemaVersion).toBeGreaterThanOrEqual(39);
  });

  it('declares the Prometheus data source input and the plugins it requires', () => {
    expect(committed.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    const required = committed.__requires.map((r) => `${r.type}:${r.id}`);
    expect(required).toEqual(expect.arrayContaining(['grafana:grafana', 'datasource:prometheus']));
    const panelTypes = [...new Set(queryPanels.map((panel) => panel.type))].sort();
    expect(required.filter((r) => r.startsWith('panel:')).sort()).toEqual(panelTypes.map((type) => `panel:${type}`));
  });

  it('uses ${DS_PROMETHEUS} only as the default of the datasource variable, so a provisioned copy still resolves', () => {
    const text = JSON.stringify(committed);
    expect(text.split('${DS_PROMETHEUS}').length - 1).toBe(1);
    const datasource = variables.find((variable) => variable.name === 'datasource');
    expect(datasource?.current?.value).toBe('${DS_PROMETHEUS}');
    // Unmatched by uid when provisioned, Grafana matches the option by name: the provisioned data source's name.
    const provisioned = parseYaml(readFileSync(join(ROOT, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
      datasources: { name: string; type: string; url: string; isDefault?: boolean }[];
    };
    expect(provisioned.datasources).toEqual([expect.objectContaining({ name: datasource?.current?.text, type: 'prometheus', isDefault: true })]);
  });

  it('has the template variables datasource, account and window (plus job and instance for the linter, and the local day)', () => {
    expect(variables.map((variable) => variable.name)).toEqual(['datasource', 'job', 'instance', 'account', 'window', 'day_offset']);
    // The bars of local days: one offset per zone, Bogotá's by default, each a PromQL duration.
    const dayOffset = variables.find((v) => v.name === 'day_offset') as Variable & { options?: { text: string; value: string }[] };
    expect(dayOffset.current?.value).toBe('-5h30m');
    expect(dayOffset.options?.map((option) => option.value)).toEqual(['-3h30m', '-4h30m', '-5h30m', '-6h30m', '-1d30m', '-23h30m']);
    expect(labelValues(variables.find((v) => v.name === 'account')!)).toEqual({
      selector: 'wolkvox_up{job=~"$job", instance=~"$instance"}',
      label: 'account',
    });
    expect(labelValues(variables.find((v) => v.name === 'window')!)).toEqual({
      selector: 'wolkvox_up{job=~"$job", instance=~"$instance", account=~"$account"}',
      label: 'window',
    });
    for (const variable of queryVariables) {
      expect(variable, variable.name).toMatchObject({ multi: true, includeAll: true, allValue: '.+' });
    }
  });

  it('status panels show the bad state in red, in both the value mapping and the thresholds', () => {
    const bad: Record<string, string> = { 'Exporter scraped': '0', 'Wolkvox API up': '0', 'Polling paused by quota': '1' };
    for (const [title, value] of Object.entries(bad)) {
      const panel = queryPanels.find((p) => p.title === title)!;
      const [mapping] = (panel.fieldConfig?.defaults?.mappings ?? []) as { type: string; options: Record<string, { color: string }> }[];
      expect(mapping?.type, title).toBe('value');
      expect(mapping?.options[value]?.color, title).toBe('red');
      expect(mapping?.options[value === '0' ? '1' : '0']?.color, title).toBe('green');
      const steps = panel.fieldConfig?.defaults?.thresholds?.steps ?? [];
      const active = steps.filter((step) => step.value === null || step.value <= Number(value)).at(-1);
      expect(active?.color, title).toBe('red');
    }
  });

  it('lays panels out on the 24-column grid without overlaps, within each collapsed row too', () => {
    const overlapping = (a: Panel, b: Panel): boolean => {
      const p = a.gridPos!;
      const q = b.gridPos!;
      return p.x < q.x + q.w && q.x < p.x + p.w && p.y < q.y + q.h && q.y < p.y + p.h;
    };
    const groups = [committed.panels, ...committed.panels.filter((p) => p.type === 'row').map((row) => row.panels ?? [])];
    for (const group of groups) {
      for (const panel of group) {
        expect(panel.gridPos, panel.title).toBeDefined();
        expect(panel.gridPos!.x + panel.gridPos!.w, panel.title).toBeLessThanOrEqual(24);
      }
      for (const [i, a] of group.entries()) {
        for (const b of group.slice(i + 1)) expect(overlapping(a, b), `${a.title} overlaps ${b.title}`).toBe(false);
      }
    }
    const ids = allPanels(committed.panels).map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('answers the questions in the issue: ads vs posts, containment per source, agents, accounts, health', () => {
    const exprs = targets.map((t) => t.expr).join('\n');
    const titles = queryPanels.map((panel) => `${panel.type}:${panel.title}`);
    expect(titles).toEqual(expect.arrayContaining(['stat:Chats from ads', 'stat:Chats from posts', 'timeseries:Chats from ads vs posts over time']));
    expect(titles).toEqual(expect.arrayContaining(['stat:Bot containment rate: ads', 'stat:Bot containment rate: posts']));
    expect(titles).toEqual(expect.arrayContaining(['stat:Chats that needed an agent', 'bargauge:Chats per account']));
    for (const needle of [
      'wolkvox_up{',
      'time() - max by (account, window) (wolkvox_last_success_timestamp_seconds{',
      'sum by (account, outcome) (rate(wolkvox_exporter_requests_total{',
      'histogram_quantile(0.5, ',
      'histogram_quantile(0.95, ',
      'wolkvox_exporter_request_duration_seconds_bucket{',
      'wolkvox_exporter_planned_daily_calls{',
      'wolkvox_exporter_daily_quota_calls{',
      'wolkvox_quota_paused{',
    ]) {
      expect(exprs).toContain(needle);
    }
    // Containment is bot / (bot + agent) of one source at a time, grouped per account and window.
    const ads = targets.find((t) => t.panel.title === 'Bot containment rate: ads')!.expr;
    expect(ads).toMatch(/^sum by \(account, window\) \(wolkvox_whatsapp_chats\{[^}]*source="ad", handler="bot"\}\)\n\/\nsum by \(account, window\) \(wolkvox_whatsapp_chats\{[^}]*source="ad"\}\)$/);
    expect(queryPanels.filter((panel) => panel.type === 'row')).toEqual([]);
    expect(committed.panels.filter((panel) => panel.type === 'row').length).toBeGreaterThanOrEqual(4);
  });
});

// The rules of grafana/dashboard-linter that need no Grafana, re-stated from its lint/rule_*.go.
describe('dashboard-linter rules', () => {
  // Unit ids from Grafana's value format categories (the linter's list); those this dashboard could sensibly use.
  const GRAFANA_UNITS = new Set([
    'none', 'short', 'percent', 'percentunit', 'locale', 'sci', 's', 'ms', 'µs', 'ns', 'm', 'h', 'd', 'dtdurations',
    'dtdurationms', 'clocks', 'reqps', 'rps', 'ops', 'cps', 'cpm', 'opm', 'rpm', 'dateTimeAsIso', 'dateTimeFromNow',
    'bool', 'bool_yes_no', 'bool_on_off', 'string',
  ]);
  const LINTED_TYPES = new Set(['stat', 'singlestat', 'graph', 'table-old', 'timeseries', 'gauge', 'bargauge']);

  it('template-datasource-rule: one datasource variable named "datasource", labelled "Data source", of Prometheus', () => {
    const datasources = variables.filter((variable) => variable.type === 'datasource');
    expect(datasources).toEqual([expect.objectContaining({ name: 'datasource', label: 'Data source', query: 'prometheus' })]);
  });

  it.each([
    ['template-job-rule', 'job', 'Job'],
    ['template-instance-rule', 'instance', 'Instance'],
  ])('%s: a multi-select "%s" query variable on $datasource with allValue .+', (_rule, name, label) => {
    const variable = variables.find((v) => v.name === name);
    expect(variable).toMatchObject({ type: 'query', label, multi: true, allValue: '.+', datasource: { uid: '${datasource}' } });
  });

  it('template-label-promql-rule: every query variable is label_values(<valid selector>, <label>)', () => {
    for (const variable of queryVariables) {
      const { selector, label } = labelValues(variable);
      expect(selector, variable.name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?$/);
      expect(label).toBe(variable.name);
    }
  });

  it('template-on-time-change-reload-rule: query variables refresh on time range change (2)', () => {
    for (const variable of queryVariables) expect(variable.refresh, variable.name).toBe(2);
  });

  it('uneditable-dashboard: editable is false', () => {
    expect(committed.editable).toBe(false);
  });

  describe.each(queryPanels.map((panel) => [panel.title ?? '(untitled)', panel] as const))('panel "%s"', (_title, panel) => {
    it('is a panel type the linter checks', () => {
      expect(LINTED_TYPES.has(panel.type), panel.type).toBe(true);
    });

    it('panel-title-description-rule: has a title and a description', () => {
      expect(panel.title?.trim()).toBeTruthy();
      expect(panel.description?.trim().length).toBeGreaterThan(20);
    });

    it('panel-datasource-rule: uses ${datasource}, as does every target', () => {
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const target of panel.targets ?? []) expect(target.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    });

    it('panel-units-rule: has a valid unit (also where value mappings would excuse it)', () => {
      expect(GRAFANA_UNITS.has(panel.fieldConfig?.defaults?.unit ?? ''), panel.fieldConfig?.defaults?.unit).toBe(true);
    });

    it('has absolute thresholds starting from a base step', () => {
      const steps = panel.fieldConfig?.defaults?.thresholds?.steps ?? [];
      expect(panel.fieldConfig?.defaults?.thresholds?.mode).toBe('absolute');
      expect(steps[0]?.value).toBeNull();
      const values = steps.slice(1).map((step) => step.value as number);
      expect(values).toEqual([...values].sort((a, b) => a - b));
    });

    it('panel-no-targets-rule: has targets, each with an expr and a unique refId', () => {
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.expr?.trim()).toBeTruthy();
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
    });

    it('target-job-rule and target-instance-rule: every selector has job=~"$job" and instance=~"$instance"', () => {
      for (const target of panel.targets ?? []) {
        const expr = target.expr ?? '';
        const selectors = [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)];
        expect(selectors.length, expr).toBeGreaterThan(0);
        for (const [, , matchers] of selectors) {
          expect(matchers, expr).toContain('job=~"$job"');
          expect(matchers, expr).toContain('instance=~"$instance"');
        }
        // No bare metric name escapes the selectors above.
        const bare = expr.replace(/"[^"]*"/g, '""').match(/\b(?:wolkvox_[a-z_]+|up)\b(?!\{)/g);
        expect(bare, expr).toBeNull();
      }
    });

    it('target-rate-interval-rule: every range is [$__rate_interval], but in the panels .lint excuses', () => {
      const allowed = RANGE_EXCUSED.has(panel.title ?? '') ? ['[$__range]', '[1d]'] : ['[$__rate_interval]'];
      for (const target of panel.targets ?? []) {
        for (const [range] of (target.expr ?? '').matchAll(/\[[^\]]*\]/g)) expect(allowed, target.expr).toContain(range);
      }
    });

    it('target-counter-agg-rule: counters (_total) only inside rate(), irate() or increase() over a range', () => {
      for (const target of panel.targets ?? []) {
        const expr = target.expr ?? '';
        for (const match of expr.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*_total\b/g)) {
          const before = expr.slice(0, match.index);
          const after = expr.slice(match.index + match[0].length);
          expect(before, expr).toMatch(/\b(?:rate|irate|increase)\($/);
          const range = RANGE_EXCUSED.has(panel.title ?? '') ? /^\{[^}]*\}\[(?:\$__range|1d)\](?: offset \$day_offset)?\)/ : /^\{[^}]*\}\[\$__rate_interval\]\)/;
          expect(after, expr).toMatch(range);
        }
      }
    });
  });

  it('target-promql-rule: every target and variable selector parses as PromQL (promtool check rules)', () => {
    const exprs = [
      ...targets.map((t) => substitute(t.expr, ALL_SELECTED)),
      ...queryVariables.map((variable) => substitute(labelValues(variable).selector, ALL_SELECTED)),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'wolkvox-dashboard-promql-'));
    try {
      const file = join(dir, 'queries.yml');
      const rules = exprs.map((expr, i) => ({ record: `dashboard:query_${i}:check`, expr }));
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
      const result = spawnSync(systemTools().promtool, ['check', 'rules', file], { encoding: 'utf8' });
      expect(`${result.stdout}${result.stderr}`).toContain(`SUCCESS: ${exprs.length} rules found`);
      expect(result.status, result.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

type PromResult = { metric: Record<string, string>; value: [number, string] };
type PromResponse<T> = { status: 'success' | 'error'; data: T; error?: string; errorType?: string };

describe('end to end: every panel query returns data from Prometheus scraping the demo exporter', () => {
  let exporter: RunningProcess | undefined;
  let prometheus: RunningProcess | undefined;
  let workDir = '';
  let promUrl = '';
  let exporterAddress = '';

  async function api<T>(path: string, params: Record<string, string | string[]>): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) for (const v of [value].flat()) search.append(key, v);
    // GET: Prometheus 2.42 takes POST on /api/v1/query but not on the label values or rules endpoints.
    const response = await fetch(`${promUrl}${path}?${search}`, { signal: AbortSignal.timeout(5_000) });
    const json = (await response.json()) as PromResponse<T>;
    if (json.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${json.errorType}: ${json.error}`);
    return json.data;
  }
  const instant = async (query: string): Promise<PromResult[]> =>
    (await api<{ resultType: string; result: PromResult[] }>('/api/v1/query', { query })).result;

  const diagnostics = (): string =>
    [exporter, prometheus].map((proc) => (proc ? `--- ${proc.name} output (tail):\n${proc.output().slice(-3_000)}` : '')).join('\n');

  beforeAll(async () => {
    const { prometheus: prometheusBin } = systemTools();
    workDir = mkdtempSync(join(tmpdir(), 'wolkvox-dashboard-e2e-'));

    // Port 0, read back from the log: a port picked beforehand could be taken by a concurrent test run.
    exporter = startProcess(
      'exporter',
      process.execPath,
      [exporterBinary(), '--demo', '--web.listen-address=127.0.0.1:0', '--collector.interval=2s', '--log.level=info'],
      ROOT,
    );
    exporterAddress = await waitFor('the exporter to listen', async () => listeningAddress(exporter!.output()), {
      timeoutMs: 20_000,
      watch: [exporter],
      describe: diagnostics,
    });
    // The shipped rules are loaded too, so their expressions are checked against the real metrics.
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' },
      rule_files: [join(ROOT, 'prometheus/rules/*.yml')],
      scrape_configs: [{ job_name: 'wolkvox', static_configs: [{ targets: [exporterAddress] }] }],
    };
    writeFileSync(join(workDir, 'prometheus.yml'), JSON.stringify(config));
    const dataDir = join(workDir, 'data');
    // Prometheus cannot listen on port 0 and say where: it is retried on another port when one was taken meanwhile.
    // Its flags name our data directory, so a Prometheus of another run on that port is not taken for ours.
    const started = await startOnFreePort(
      (port) => {
        prometheus = startProcess(
          'prometheus',
          prometheusBin,
          [`--config.file=${join(workDir, 'prometheus.yml')}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
          workDir,
        );
        return prometheus;
      },
      async (port) => {
        const url = `http://127.0.0.1:${port}`;
        const flags = (await (await fetch(`${url}/api/v1/status/flags`, { signal: AbortSignal.timeout(1_000) })).json()) as PromResponse<Record<string, string>>;
        if (flags.data['storage.tsdb.path'] !== dataDir) return false;
        return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) })).ok;
      },
      { timeoutMs: 20_000, watch: [exporter], describe: diagnostics },
    );
    promUrl = `http://127.0.0.1:${started.port}`;
  });

  afterAll(async () => {
    await Promise.all([stopProcess(exporter), stopProcess(prometheus)]);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('Prometheus scrapes the exporter (up == 1)', async () => {
    const up = await waitFor(
      'up{job="wolkvox"} == 1',
      async () => {
        const result = await instant('up{job="wolkvox"} == 1');
        return result.length > 0 ? result : undefined;
      },
      { timeoutMs: 20_000, watch: [exporter!, prometheus!], describe: diagnostics },
    );
    expect(up).toEqual([expect.objectContaining({ metric: expect.objectContaining({ instance: exporterAddress, job: 'wolkvox' }) })]);
  }, 25_000);

  // Each variable's label_values() query, run in order as Grafana does, with the earlier variables on All.
  it('every variable query returns values, and the demo account is among them', async () => {
    const found: Record<string, string[]> = {};
    for (const variable of queryVariables) {
      const { selector, label } = labelValues(variable);
      found[variable.name] = await waitFor(
        `values of $${variable.name}`,
        async () => {
          const values = await api<string[]>(`/api/v1/label/${label}/values`, { 'match[]': substitute(selector, ALL_SELECTED) });
          return values.length > 0 ? values : undefined;
        },
        { timeoutMs: 15_000, watch: [exporter!, prometheus!], describe: diagnostics },
      );
    }
    expect(found).toMatchObject({ job: ['wolkvox'], instance: [exporterAddress], account: ['demo'] });
    expect(found.window).toEqual(expect.arrayContaining(['1h', 'today']));
  }, 30_000);

  async function emptyQueries(values: Record<string, string>): Promise<string[]> {
    const empty: string[] = [];
    for (const { panel, expr } of targets) {
      const query = substitute(expr, values);
      const result = await instant(query);
      if (result.length === 0) empty.push(`${panel.title}: ${query}`);
    }
    return empty;
  }

  async function expectAllReturnData(values: Record<string, string>): Promise<void> {
    let empty: string[] = [];
    await waitFor(
      'every panel query to return data',
      async () => {
        empty = await emptyQueries(values);
        return empty.length === 0 ? true : undefined;
      },
      { timeoutMs: 25_000, intervalMs: 500, watch: [exporter!, prometheus!], describe: () => `still empty:\n${empty.join('\n')}\n${diagnostics()}` },
    );
    expect(await emptyQueries(values)).toEqual([]);
  }

  it('with All selected for every variable', async () => {
    expect(targets.length).toBeGreaterThanOrEqual(25);
    await expectAllReturnData(ALL_SELECTED);
  }, 35_000);

  it('with one account and one window selected', async () => {
    await expectAllReturnData({
      ...BUILTINS,
      job: 'wolkvox',
      instance: grafanaRegexValue(exporterAddress),
      account: 'demo',
      window: 'today',
      day_offset: '-5h30m',
    });
  }, 35_000);

  // A window without chats has a NaN ratio (shown as "no chats"); the demo always has chats in one of 1h and today.
  it('ratios lie between 0 and 1 wherever a window has chats, and latency quantiles are finite', async () => {
    const ratioTitles = [
      'Share of chats from ads',
      'Bot containment rate: ads',
      'Bot containment rate: posts',
      'Bot containment rate: all chats',
      'Agent handoff rate',
      'Bot containment rate per account',
    ];
    for (const title of ratioTitles) {
      const target = targets.find((t) => t.panel.title === title)!;
      const values = (await instant(substitute(target.expr, ALL_SELECTED))).map((sample) => Number(sample.value[1]));
      const finite = values.filter((value) => !Number.isNaN(value));
      expect(finite.length, `${title}: ${values.join(', ')}`).toBeGreaterThan(0);
      for (const value of finite) {
        expect(value, title).toBeGreaterThanOrEqual(0);
        expect(value, title).toBeLessThanOrEqual(1);
      }
    }
    const latency = targets.filter((t) => t.panel.title === 'API latency p50 / p95');
    expect(latency).toHaveLength(2);
    for (const { expr } of latency) {
      const result = await instant(substitute(expr, ALL_SELECTED));
      expect(result.map((sample) => Number.isFinite(Number(sample.value[1])))).toEqual([true]);
    }
  }, 20_000);

  it('the shipped alert and recording rules load and evaluate without errors on the real metrics', async () => {
    type Rule = { name: string; type: 'alerting' | 'recording'; health: string; lastError?: string };
    const rules = await waitFor(
      'every rule to have been evaluated',
      async () => {
        const data = await api<{ groups: { rules: Rule[] }[] }>('/api/v1/rules', {});
        const all = data.groups.flatMap((group) => group.rules);
        return all.length > 0 && all.every((rule) => rule.health !== 'unknown') ? all : undefined;
      },
      { timeoutMs: 15_000, watch: [exporter!, prometheus!], describe: diagnostics },
    );
    expect(rules.filter((rule) => rule.health !== 'ok')).toEqual([]);
    expect(rules.filter((rule) => rule.type === 'alerting')).toHaveLength(11);
    for (const record of ['wolkvox:bot_containment:ratio', 'wolkvox:agent_handoff:ratio', 'wolkvox:handled_bot_containment:ratio']) {
      const samples = await waitFor(
        `${record} to have samples`,
        async () => {
          const result = await instant(`${record}{job="wolkvox", account="demo"}`);
          return result.length > 0 ? result : undefined;
        },
        { timeoutMs: 10_000, watch: [exporter!, prometheus!], describe: diagnostics },
      );
      for (const sample of samples) {
        expect(Number(sample.value[1])).toBeGreaterThanOrEqual(0);
        expect(Number(sample.value[1])).toBeLessThanOrEqual(1);
      }
    }
  }, 30_000);
});
