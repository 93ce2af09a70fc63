// The Prometheus rules and example config: promtool finds them clean, their unit tests pass, and every alert is
// tested firing and not firing, labelled, annotated and documented by a runbook section.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { systemTools } from '../support/system-tools.js';

const ROOT = resolve(import.meta.dirname, '../..');
const RULES_DIR = join(ROOT, 'prometheus/rules');
const TESTS_DIR = join(ROOT, 'prometheus/tests');
const RUNBOOK_BASE = 'https://github.com/wolkvox-exporter/wolkvox-exporter#';

const ymlFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.yml'))
    .sort()
    .map((name) => join(dir, name));

type Rule = { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
type RuleFile = { groups: { name: string; rules: Rule[] }[] };
type AlertTest = { eval_time: string; alertname: string; exp_alerts?: { exp_labels?: Record<string, string> }[] };
type TestFile = {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: AlertTest[]; promql_expr_test?: { expr: string; exp_samples?: unknown[] }[] }[];
};

const ruleFiles = ymlFiles(RULES_DIR);
const testFiles = ymlFiles(TESTS_DIR);
const rules = ruleFiles.flatMap((file) => (parseYaml(readFileSync(file, 'utf8')) as RuleFile).groups.flatMap((group) => group.rules));
const alerts = rules.filter((rule) => rule.alert !== undefined);
const records = rules.filter((rule) => rule.record !== undefined);
const unitTests = testFiles.map((file) => parseYaml(readFileSync(file, 'utf8')) as TestFile);

function promtool(args: string[]): { status: number | null; out: string } {
  const result = spawnSync(systemTools().promtool, args, { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('promtool', () => {
  it('check rules: every rule file is clean, with no warnings', () => {
    const { status, out } = promtool(['check', 'rules', ...ruleFiles]);
    expect(status, out).toBe(0);
    for (const file of ruleFiles) expect(out).toContain(`Checking ${file}`);
    expect(out).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(out).toContain(`SUCCESS: ${records.length} rules found`);
    expect(out.match(/SUCCESS/g)).toHaveLength(ruleFiles.length);
    expect(out).not.toMatch(/warn|FAILED|error/i);
  });

  it('test rules: every unit test file passes', () => {
    expect(testFiles.length).toBeGreaterThanOrEqual(2);
    const { status, out } = promtool(['test', 'rules', ...testFiles]);
    expect(status, out).toBe(0);
    for (const file of testFiles) expect(out).toContain(`Unit Testing:  ${file}`);
    expect(out.match(/^\s*SUCCESS\s*$/gm)).toHaveLength(testFiles.length);
    expect(out).not.toMatch(/FAILED|warn/i);
  });

  it('test rules fails when a rule changes: the tests pin the expressions (mutation check)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wolkvox-rules-mutant-'));
    try {
      const alertsFile = readFileSync(join(RULES_DIR, 'wolkvox-alerts.yml'), 'utf8');
      const mutant = alertsFile.replace('expr: wolkvox_quota_paused == 1\n', 'expr: wolkvox_quota_paused == 2\n');
      expect(mutant).not.toBe(alertsFile);
      writeFileSync(join(dir, 'wolkvox-alerts.yml'), mutant);
      const testFile = join(TESTS_DIR, 'wolkvox-alerts.test.yml');
      const tests = readFileSync(testFile, 'utf8').replace('../rules/wolkvox-alerts.yml', join(dir, 'wolkvox-alerts.yml'));
      writeFileSync(join(dir, 'alerts.test.yml'), tests);
      const { status, out } = promtool(['test', 'rules', join(dir, 'alerts.test.yml')]);
      expect(status).not.toBe(0);
      expect(out).toContain('alertname: WolkvoxQuotaPaused');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('check config: the example prometheus.yml and the rule files it loads are valid', () => {
    const { status, out } = promtool(['check', 'config', 'prometheus/prometheus.yml']);
    expect(status, out).toBe(0);
    expect(out).toContain(`SUCCESS: ${ruleFiles.length} rule files found`);
  });

  it('check config: the commented TLS and basic-auth scrape job is valid once uncommented', () => {
    const text = readFileSync(join(ROOT, 'prometheus/prometheus.yml'), 'utf8');
    const start = text.indexOf('  # - job_name: wolkvox');
    expect(start).toBeGreaterThan(0);
    const block = text
      .slice(start)
      .split('\n')
      .filter((line) => /^ {2}#( |$)/.test(line))
      .map((line) => line.replace(/^ {2}# ?/, '  '))
      // Commented-out options inside the block stay comments; paths move to the temp dir.
      .join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'wolkvox-prom-tls-'));
    try {
      for (const file of ['wolkvox-ca.pem', 'wolkvox-scrape-password']) writeFileSync(join(dir, file), 'x\n');
      const config = `scrape_configs:\n${block.replaceAll('/etc/prometheus/', `${dir}/`)}\n`;
      const parsed = parseYaml(config) as { scrape_configs: Record<string, unknown>[] };
      expect(parsed.scrape_configs).toEqual([
        expect.objectContaining({ job_name: 'wolkvox', scheme: 'https', tls_config: expect.any(Object), basic_auth: expect.any(Object) }),
      ]);
      writeFileSync(join(dir, 'prometheus.yml'), config);
      const { status, out } = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
      expect(status, `${out}\n${config}`).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('alerting rules', () => {
  const REQUIRED = [
    'WolkvoxExporterDown',
    'WolkvoxExporterAbsent',
    'WolkvoxApiFailing',
    'WolkvoxDataStale',
    'WolkvoxTokenRejected',
    'WolkvoxQuotaPaused',
    'WolkvoxPlannedCallsNearQuota',
    'WolkvoxCountersNotSettling',
    'WolkvoxShardMissing',
    'WolkvoxShardDuplicated',
  ];

  it('cover exporter down and absent, API failing, stale data, token rejected, quota paused and quota use', () => {
    expect(alerts.map((alert) => alert.alert)).toEqual(expect.arrayContaining(REQUIRED));
    const expr = (name: string): string => alerts.find((alert) => alert.alert === name)?.expr ?? '';
    expect(expr('WolkvoxExporterDown')).toBe('up{job="wolkvox"} == 0');
    expect(expr('WolkvoxExporterAbsent')).toBe('absent(up{job="wolkvox"})');
    expect(expr('WolkvoxApiFailing')).toMatch(/^wolkvox_up == 0\b/);
    expect(alerts.find((alert) => alert.alert === 'WolkvoxApiFailing')?.for).toBe('15m');
    expect(expr('WolkvoxDataStale')).toMatch(/^time\(\) - wolkvox_last_success_timestamp_seconds\{window!="yesterday"\} > 900$/);
    expect(expr('WolkvoxTokenRejected')).toContain('increase(wolkvox_exporter_requests_total{outcome="unauthorized"}[15m]) > 0');
    expect(expr('WolkvoxQuotaPaused')).toBe('wolkvox_quota_paused == 1');
    expect(expr('WolkvoxPlannedCallsNearQuota')).toBe('wolkvox_exporter_planned_daily_calls > 0.8 * wolkvox_exporter_daily_quota_calls');
    // The threshold follows the exporter's own counter step and delay, plus a margin for retries.
    expect(expr('WolkvoxCountersNotSettling')).toBe(
      'time() - wolkvox_counters_settled_until_timestamp_seconds > on (job, instance, account) (wolkvox_counters_step_seconds + wolkvox_counters_delay_seconds + 1800)',
    );
  });

  it('catch missing and duplicated shards per job, from the shard info and the total as a number', () => {
    const expr = (name: string): string => alerts.find((alert) => alert.alert === name)?.expr ?? '';
    expect(expr('WolkvoxShardMissing')).toBe('count by (job) (count by (job, index) (wolkvox_exporter_shard_info)) < max by (job) (wolkvox_exporter_shards)');
    expect(expr('WolkvoxShardDuplicated')).toBe(
      'count by (job, index) (wolkvox_exporter_shard_info) > 1 or on (job) count by (job) (count by (job, total) (wolkvox_exporter_shard_info)) > 1',
    );
  });

  it('select the job the example scrape config defines', () => {
    const config = parseYaml(readFileSync(join(ROOT, 'prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string }[] };
    const jobs = config.scrape_configs.map((job) => job.job_name);
    for (const alert of alerts) {
      for (const [, job] of alert.expr.matchAll(/job="([^"]+)"/g)) expect(jobs, alert.alert).toContain(job);
    }
  });

  describe.each(alerts.map((alert) => [alert.alert!, alert] as const))('%s', (name, alert) => {
    it('has a severity, a summary, a description and a runbook URL to its README anchor', () => {
      expect(['critical', 'warning', 'info']).toContain(alert.labels?.severity);
      expect(alert.annotations?.summary?.length).toBeGreaterThan(10);
      expect(alert.annotations?.description?.length).toBeGreaterThan(30);
      expect(alert.annotations?.runbook_url).toBe(`${RUNBOOK_BASE}alert-${name.toLowerCase()}`);
    });

    it('is unit-tested both firing and not firing', () => {
      const cases = unitTests.flatMap((file) => file.tests.flatMap((test) => test.alert_rule_test ?? [])).filter((c) => c.alertname === name);
      expect(cases.some((c) => (c.exp_alerts ?? []).length > 0), 'a case where it fires').toBe(true);
      expect(cases.some((c) => (c.exp_alerts ?? []).length === 0), 'a case where it does not').toBe(true);
    });

    it('has a runbook section whose GitHub anchor is the runbook URL', () => {
      const headings = readFileSync(join(ROOT, 'README.md'), 'utf8').match(/^### .+$/gm) ?? [];
      const anchors = headings.map((heading) =>
        heading
          .slice(4)
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s_-]/gu, '')
          .replace(/\s/g, '-'),
      );
      expect(anchors).toContain(`alert-${name.toLowerCase()}`);
    });
  });
});

describe('recording rules', () => {
  it('record bot containment and agent handoff, per source and from the report totals', () => {
    expect(records.map((rule) => rule.record)).toEqual([
      'wolkvox:bot_containment:ratio',
      'wolkvox:agent_handoff:ratio',
      'wolkvox:handled_bot_containment:ratio',
      'wolkvox:handled_agent_handoff:ratio',
      'wolkvox:whatsapp_chats:increase1d',
      'wolkvox:whatsapp_handled_chats:increase1d',
      'wolkvox:bot_containment:ratio1d',
      'wolkvox:handled_bot_containment:ratio1d',
    ]);
    for (const rule of records.filter((r) => r.record?.endsWith(':ratio'))) {
      // Grouping keeps account, window (and source): only the handler label is summed away.
      expect(rule.expr, rule.record).toMatch(/^sum without \(handler\) \(wolkvox_whatsapp_(handled_)?chats\{handler="(bot|agent)"\}\)/);
      // 0/0 would record NaN: the denominator is guarded.
      expect(rule.expr, rule.record).toMatch(/\/ \(sum without \(handler\) \(wolkvox_whatsapp_(handled_)?chats\) > 0\)$/);
    }
  });

  it('record daily totals and containment from the _total counters, guarded against 0/0', () => {
    const daily = Object.fromEntries(records.filter((r) => r.record?.endsWith('1d')).map((r) => [r.record, r.expr]));
    expect(daily['wolkvox:whatsapp_chats:increase1d']).toBe('increase(wolkvox_whatsapp_chats_total[1d])');
    expect(daily['wolkvox:whatsapp_handled_chats:increase1d']).toBe('increase(wolkvox_whatsapp_handled_chats_total[1d])');
    for (const name of ['wolkvox:bot_containment:ratio1d', 'wolkvox:handled_bot_containment:ratio1d']) {
      expect(daily[name], name).toMatch(/^sum without \(handler\) \(wolkvox:whatsapp_(handled_)?chats:increase1d\{handler="bot"\}\)\n?\s*\/ \(sum without \(handler\) \(wolkvox:whatsapp_(handled_)?chats:increase1d\) > 0\)$/);
    }
  });

  it('are each unit-tested for their values', () => {
    const tested = unitTests.flatMap((file) =>
      file.tests.flatMap((test) => (test.promql_expr_test ?? []).filter((c) => (c.exp_samples ?? []).length > 0).map((c) => c.expr)),
    );
    for (const rule of records) expect(tested, rule.record).toContain(rule.record);
  });
});
