// Real scrapes of a running exporter, after success and after failures, must pass `promtool check metrics` without a warning.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccountConfig, Config } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { createLogger } from '../../src/log.js';
import { startExporter, type RunningExporter } from '../../src/main.js';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { helpsOf, parseSamples, samplesOf, typesOf, valueOf } from '../support/exposition.js';
import { waitFor } from '../support/processes.js';
import { systemTools } from '../support/system-tools.js';
import { windowSpec } from '../support/windows.js';

const SENTINEL = 'tok-SENTINEL-7c1e';

/** Every metric of the spec's table with its type (spec: Metrics). */
const SPEC_METRICS: ReadonlyArray<[string, 'gauge' | 'counter' | 'histogram']> = [
  ['wolkvox_whatsapp_chats', 'gauge'],
  ['wolkvox_whatsapp_handled_chats', 'gauge'],
  ['wolkvox_up', 'gauge'],
  ['wolkvox_last_success_timestamp_seconds', 'gauge'],
  ['wolkvox_window_start_timestamp_seconds', 'gauge'],
  ['wolkvox_window_end_timestamp_seconds', 'gauge'],
  ['wolkvox_quota_paused', 'gauge'],
  ['wolkvox_exporter_requests_total', 'counter'],
  ['wolkvox_exporter_request_duration_seconds', 'histogram'],
  ['wolkvox_exporter_planned_daily_calls', 'gauge'],
  ['wolkvox_exporter_daily_quota_calls', 'gauge'],
  ['wolkvox_exporter_build_info', 'gauge'],
  ['wolkvox_whatsapp_chats_total', 'counter'],
  ['wolkvox_whatsapp_handled_chats_total', 'counter'],
  ['wolkvox_counters_settled_until_timestamp_seconds', 'gauge'],
];


function promtoolCheck(text: string): { status: number | null; output: string } {
  const result = spawnSync(systemTools().promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

let sim: Simulator | undefined;
let exporter: RunningExporter | undefined;

afterEach(async () => {
  await exporter?.shutdown();
  await sim?.close();
  exporter = undefined;
  sim = undefined;
});

describe('promtool check metrics', () => {
  it('passes with no warning after success, failures, staleness and a quota pause; every spec metric has TYPE and HELP', async () => {
    sim = await startSimulator({ port: 0, token: SENTINEL });
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', format: 'json' }, { write: (line: string) => void lines.push(line) });
    const account: AccountConfig = {
      name: 'co',
      server: '0032',
      baseUrl: sim.url,
      token: new Secret(SENTINEL),
      timeZone: 'America/Bogota',
      windows: ['1h', 'today', 'yesterday'].map(windowSpec),
      intervalMs: 1_000,
      maxStalenessMs: 3_000,
      timeoutMs: 2_000,
      maxConcurrency: 2,
      // Counters on: their series exist at 0 from the start, and promtool must accept them too.
      counterStepMs: 3_600_000,
      counterDelayMs: 900_000,
      dailyQuota: 5_000,
    };
    const config: Config = {
      accounts: [account],
      demo: false,
      web: { listenAddress: { host: '127.0.0.1', port: 0 }, telemetryPath: '/metrics', enableLifecycle: false },
      log: { level: 'debug', format: 'json' },
    };
    exporter = await startExporter({ config, argv: [], env: {}, logger });
    const base = `http://127.0.0.1:${exporter.address.port}`;
    const scrape = async () => {
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      return res.text();
    };
    // Deadlines, not durations: each state comes within seconds, later on a busy machine.
    const scrapeWhen = (what: string, ok: (text: string) => boolean) =>
      waitFor(
        what,
        async () => {
          const text = await scrape();
          return ok(text) ? text : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 25, describe: () => lines.slice(-5).join('') },
      );
    const up = (text: string, window: string) => valueOf(text, 'wolkvox_up', { account: 'co', window });

    const checked: string[] = [];
    const check = (state: string, text: string) => {
      expect(promtoolCheck(text), state).toEqual({ status: 0, output: '' });
      expect(text).not.toContain(SENTINEL);
      checked.push(state);
    };

    const good = await scrapeWhen('every window up', (t) => ['1h', 'today', 'yesterday'].every((w) => up(t, w) === 1));
    check('success', good);
    const types = typesOf(good);
    const helps = helpsOf(good);
    for (const [name, type] of SPEC_METRICS) {
      expect(types.get(name), name).toBe(type);
      expect(helps.get(name)?.trim().length ?? 0, `HELP of ${name}`).toBeGreaterThan(10);
      expect(parseSamples(good).some((s) => s.name === name || s.name.startsWith(`${name}_`)), `samples of ${name}`).toBe(true);
    }
    for (const name of ['wolkvox_whatsapp_chats', 'wolkvox_whatsapp_handled_chats']) {
      expect(helps.get(name)).toMatch(/cached/i);
      expect(helps.get(name)).toMatch(/poll/i);
    }
    // prom-client defaults are there, minus the *_total gauges promtool rejects (spec: Metrics).
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(types.get('nodejs_heap_size_total_bytes')).toBe('gauge');
    expect([...types.keys()].filter((name) => /^nodejs_active_.*_total$/.test(name))).toEqual([]);
    // Every sample belongs to a family with a TYPE and a HELP; no `total` label value anywhere.
    for (const sample of parseSamples(good)) {
      const family = [...types.keys()].find(
        (name) => sample.name === name || (types.get(name) === 'histogram' && /^(.*)_(bucket|sum|count)$/.exec(sample.name)?.[1] === name),
      );
      expect(family, sample.name).toBeDefined();
      expect(helps.has(family!), sample.name).toBe(true);
      expect(Object.values(sample.labels)).not.toContain('total');
    }

    sim.setScenario({ kind: 'server_error', status: 503 });
    const failed = await scrapeWhen('1h and today down', (t) => up(t, '1h') === 0 && up(t, 'today') === 0);
    expect(samplesOf(failed, 'wolkvox_whatsapp_chats', { window: '1h' })).toHaveLength(4);
    expect(valueOf(failed, 'wolkvox_exporter_requests_total', { account: 'co', outcome: 'server_error' })).toBeGreaterThanOrEqual(3);
    check('failure', failed);

    // Past max-staleness the values go; their families stay, with HELP and TYPE and no samples.
    const stale = await scrapeWhen('1h values gone', (t) => samplesOf(t, 'wolkvox_whatsapp_chats', { window: '1h' }).length === 0);
    expect(up(stale, '1h')).toBe(0);
    check('stale', stale);

    sim.setScenario({ kind: 'quota_exceeded' });
    const paused = await scrapeWhen('quota pause', (t) => valueOf(t, 'wolkvox_quota_paused', { account: 'co' }) === 1);
    expect(up(paused, 'yesterday')).toBe(0);
    check('quota paused', paused);

    expect(checked).toEqual(['success', 'failure', 'stale', 'quota paused']);
    for (const line of lines) expect(line).not.toContain(SENTINEL);
  }, 120_000);

  it('really reports problems: a lint warning fails the check', () => {
    const result = promtoolCheck('# HELP bad_metric a counter\n# TYPE bad_metric counter\nbad_metric 1\n');
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/bad_metric counter metrics should have "_total" suffix/);
  });
});
