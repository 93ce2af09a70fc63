// The exporter's families rendered from one view: the text format (escaping, histograms), the generation key, and yields on large views.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../src/config/schema.js';
import { createMetrics, EXPORTER_FAMILIES } from '../../src/metrics/metrics.js';
import { createSnapshotCache } from '../../src/poller/cache.js';
import { createCounterStore } from '../../src/poller/counters.js';
import { helpsOf, parseSamples, typesOf, valueOf } from '../support/exposition.js';
import { systemTools } from '../support/system-tools.js';
import { accountConfig } from '../support/accounts.js';

const NOW = Date.parse('2026-03-10T15:00:00Z');
const COUNTS = { ad_chatbot: 1, ad_agents: 2, post_chatbot: 3, post_agents: 4, total_chatbot: 5, total_agents: 6 };

const account = accountConfig;

function setup(accounts: AccountConfig[], windows = ['1h', 'today']) {
  const cache = createSnapshotCache();
  const counters = createCounterStore();
  let now = NOW;
  for (const a of accounts) {
    counters.track(a.name, NOW - 3_600_000);
    for (const window of windows) {
      cache.track(a.name, window, a.maxStalenessMs);
      cache.recordSuccess(a.name, window, COUNTS, { startMs: NOW - 3_600_000, endMs: NOW, dateIni: '20260310090000', dateEnd: '20260310100000' }, NOW);
    }
  }
  const metrics = createMetrics({ cache, counters, clock: { now: () => now }, accounts: () => accounts, build: { version: '1.2.3', revision: 'abc' } });
  const text = async () => Buffer.concat(await metrics.render(now)).toString('utf8');
  return { cache, counters, metrics, text, setNow: (ms: number) => (now = ms) };
}

describe('createMetrics', () => {
  it('writes every family with HELP and TYPE, labels escaped, and histograms cumulative', async () => {
    const name = 'co "quoted" \\ back\nslash';
    const h = setup([account(name, { dailyQuota: 2000 })]);
    h.metrics.recordRequest(name, 'success', 0.3);
    h.metrics.recordRequest(name, 'success', 7);
    h.metrics.recordRequest(name, 'timeout', 90);
    const text = await h.text();
    expect(text).toContain('account="co \\"quoted\\" \\\\ back\\nslash"');
    for (const family of EXPORTER_FAMILIES) {
      expect(typesOf(text).get(family.name), family.name).toBe(family.type);
      expect(helpsOf(text).get(family.name), family.name).toBeTruthy();
    }
    const samples = parseSamples(text);
    const bucket = (le: string) => samples.find((s) => s.name === 'wolkvox_exporter_request_duration_seconds_bucket' && s.labels.le === le)?.value;
    expect([bucket('0.25'), bucket('0.5'), bucket('5'), bucket('10'), bucket('60'), bucket('+Inf')]).toEqual([0, 1, 1, 2, 2, 3]);
    expect(valueOf(text, 'wolkvox_exporter_request_duration_seconds_sum', { account: name })).toBeCloseTo(97.3, 9);
    expect(valueOf(text, 'wolkvox_exporter_requests_total', { account: name, outcome: 'timeout' })).toBe(1);
    expect(valueOf(text, 'wolkvox_exporter_requests_total', { account: name, outcome: 'no_data' })).toBe(0);
    expect(valueOf(text, 'wolkvox_whatsapp_chats', { account: name, window: 'today', source: 'post', handler: 'agent' })).toBe(4);
    expect(valueOf(text, 'wolkvox_exporter_daily_quota_calls', { account: name })).toBe(2000);
    expect(valueOf(text, 'wolkvox_exporter_build_info', { version: '1.2.3', revision: 'abc', nodejs: process.version })).toBe(1);
    // And promtool reads it without a word.
    const check = spawnSync(systemTools().promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });

  it('changes its generation with every write and when cached values pass max-staleness, and only then', async () => {
    const h = setup([account('co')]);
    const first = h.metrics.generation(NOW);
    expect(h.metrics.generation(NOW + 1_000)).toBe(first);
    h.metrics.recordRequest('co', 'success', 1);
    const afterCall = h.metrics.generation(NOW + 1_000);
    expect(afterCall).not.toBe(first);
    // 900 s of max-staleness after NOW the values leave /metrics: the text changes without a write.
    expect(h.metrics.generation(NOW + 900_001)).not.toBe(afterCall);
    h.metrics.recordReload(true, NOW);
    expect(h.metrics.generation(NOW + 1_000)).not.toBe(afterCall);
  });

  it('yields to the event loop between slices of a large view, so a scrape never holds it for the whole render', async () => {
    const h = setup(Array.from({ length: 400 }, (_, i) => account(`account${i}`)), ['1h', '24h', 'today']);
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const parts = await h.metrics.render(NOW);
    running = false;
    // 1,200 windows and 3 x 400 accounts in slices of 100: at least 20 yields.
    expect(ticks).toBeGreaterThanOrEqual(20);
    expect(parseSamples(Buffer.concat(parts).toString()).filter((s) => s.name === 'wolkvox_up')).toHaveLength(1200);
  });
});

describe('shard metrics', () => {
  it('say which shard this is, by label and the total as a value, and follow a reshard', async () => {
    const cache = createSnapshotCache();
    const counters = createCounterStore();
    let shard = { index: 0, total: 1 };
    const metrics = createMetrics({ cache, counters, clock: { now: () => NOW }, accounts: () => [], build: { version: '1', revision: 'r' }, shard: () => shard });
    const text = async () => Buffer.concat(await metrics.render(NOW)).toString('utf8');
    expect(valueOf(await text(), 'wolkvox_exporter_shard_info', { index: '0', total: '1' })).toBe(1);
    expect(valueOf(await text(), 'wolkvox_exporter_shards', {})).toBe(1);
    const before = metrics.generation(NOW);
    shard = { index: 2, total: 3 };
    metrics.recordReload(true, NOW);
    expect(metrics.generation(NOW)).not.toBe(before);
    const after = await text();
    expect(valueOf(after, 'wolkvox_exporter_shard_info', { index: '2', total: '3' })).toBe(1);
    expect(parseSamples(after).filter((s) => s.name === 'wolkvox_exporter_shard_info')).toHaveLength(1);
    expect(valueOf(after, 'wolkvox_exporter_shards', {})).toBe(3);
  });
});
