// History end to end (issue 9): a real Prometheus scraping counters of 1m chunks, and a backfilled week read back by day.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countsForWindow, startSimulator, type Simulator } from '../../src/simulator/server.js';
import { addDays, formatWolkvoxDate, localDateAt, startOfDate, wallTimeAt, type LocalDate } from '../../src/wolkvox/window.js';
import { exporterBinary, listeningAddress } from '../support/binary.js';
import { startProcess, stopProcess, waitFor, type RunningProcess } from '../support/processes.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { systemTools } from '../support/system-tools.js';
import { zoneAtNoon } from '../support/zones.js';

const TOKEN = 'tok-SENTINEL-history-5d1';
const ZONE = 'America/Bogota';
/** The simulator's default seed: what it answers is countsForWindow(…, SEED). */
const SEED = 1;
const PER_SOURCE = [
  ['ad', 'bot', 'ad_chatbot'],
  ['ad', 'agent', 'ad_agents'],
  ['post', 'bot', 'post_chatbot'],
  ['post', 'agent', 'post_agents'],
] as const;
const HANDLED = [
  ['bot', 'total_chatbot'],
  ['agent', 'total_agents'],
] as const;

/** Only what the binary needs: no WOLKVOX_* or LOG_* leaking in from the test environment. */
const cleanEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin' });
const day = (date: LocalDate) => `${date.year}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`;

let workDir: string;
let simulator: Simulator;
const processes: RunningProcess[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'wolkvox-history-'));
  writeFileSync(join(workDir, 'token'), `${TOKEN}\n`);
  simulator = await startSimulator({ token: TOKEN });
});

afterAll(async () => {
  await Promise.all(processes.map((proc) => stopProcess(proc)));
  await simulator?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('counters scraped by a real Prometheus', () => {
  it('give through increase() over the run exactly the simulator\'s count of the chunks that settled, with 1m chunks', async () => {
    // At night two 1m chunks can settle with no chat in them; where it is noon they cannot (test/support/zones.ts).
    const zone = zoneAtNoon(Date.now());
    const wall = (ms: number) => formatWolkvoxDate(wallTimeAt(ms, zone));
    const exporter = startProcess(
      'exporter',
      process.execPath,
      [
        exporterBinary(),
        `--wolkvox.base-url=${simulator.url}`,
        `--wolkvox.token-file=${join(workDir, 'token')}`,
        `--wolkvox.timezone=${zone}`,
        // One window polled once: the counters are what this test is about.
        '--collector.windows=1h',
        '--collector.interval=1h',
        '--collector.counter.step=1m',
        '--collector.counter.delay=2s',
        '--web.listen-address=127.0.0.1:0',
      ],
      workDir,
      cleanEnv(),
    );
    processes.push(exporter);
    const address = await waitFor('the exporter to listen', async () => listeningAddress(exporter.output()), { timeoutMs: 20_000, watch: [exporter] });
    const configFile = join(workDir, 'scrape.yml');
    writeFileSync(
      configFile,
      JSON.stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s' },
        scrape_configs: [{ job_name: 'wolkvox', static_configs: [{ targets: [address] }] }],
      }),
    );
    const diagnostics = () => `--- exporter (tail):\n${exporter.output().slice(-3_000)}`;
    const prometheus: RunningPrometheus = await startPrometheus({ workDir, configFile, dataDir: join(workDir, 'scrape-data'), watch: [exporter], describe: diagnostics });
    processes.push(prometheus.proc);

    // Two chunks settled after the first scrape, and a scrape after that.
    const settled = await waitFor(
      'two 1m chunks to settle while Prometheus scrapes',
      async () => {
        const [series] = await prometheus.samples('wolkvox_counters_settled_until_timestamp_seconds[10m]');
        const values = series?.values ?? [];
        const first = values[0];
        const last = values.at(-1);
        if (!first || !last || Number(last[1]) - Number(first[1]) < 120) return undefined;
        // The last scrape must be after the chunk settled: the counters hold it by then.
        return { first, last };
      },
      { timeoutMs: 240_000, intervalMs: 2_000, watch: [exporter, prometheus.proc], describe: diagnostics },
    );
    const [t1, untilAtT1] = [settled.first[0], Number(settled.first[1])];
    const [t2, untilAtT2] = [settled.last[0], Number(settled.last[1])];
    const rangeMs = Math.round((t2 - t1) * 1000);
    // The chunks added between the first and the last scrape, as Wolkvox (the simulator) counts them.
    const expected = countsForWindow(wall(untilAtT1 * 1000), wall(untilAtT2 * 1000 - 1000), SEED);
    expect(expected.total_chatbot + expected.total_agents).toBeGreaterThan(0);

    for (const [source, handler, field] of PER_SOURCE) {
      const [result] = await prometheus.instant(`increase(wolkvox_whatsapp_chats_total{source="${source}",handler="${handler}"}[${rangeMs}ms])`, t2);
      expect(Number(result?.value[1]), `${source}/${handler}`).toBe(expected[field]);
    }
    for (const [handler, field] of HANDLED) {
      const [result] = await prometheus.instant(`increase(wolkvox_whatsapp_handled_chats_total{handler="${handler}"}[${rangeMs}ms])`, t2);
      expect(Number(result?.value[1]), `handled ${handler}`).toBe(expected[field]);
    }

    // And the counters themselves: everything from where they began to where they have settled.
    const start = /"counters_start":"([^"]+)"/.exec(exporter.output())?.[1];
    expect(start).toBeDefined();
    const sinceStart = countsForWindow(wall(Date.parse(start!)), wall(untilAtT2 * 1000 - 1000), SEED);
    const [total] = await prometheus.instant('wolkvox_whatsapp_chats_total{source="ad",handler="bot"}', t2);
    expect(Number(total?.value[1])).toBe(sinceStart.ad_chatbot);
  }, 300_000);
});

/** Runs the binary to its end without blocking this process, which serves the simulator it calls. */
function runBinary(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [exporterBinary(), ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(killer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('backfill', () => {
  const runBackfill = (args: string[], url = simulator.url) =>
    runBinary(['backfill', `--wolkvox.base-url=${url}`, `--wolkvox.token-file=${join(workDir, 'token')}`, `--wolkvox.timezone=${ZONE}`, ...args]);
  const promtool = (file: string, dataDir: string) => spawnSync(systemTools().promtool, ['tsdb', 'create-blocks-from', 'openmetrics', file, dataDir], { encoding: 'utf8' });

  it('writes a week that promtool turns into blocks and Prometheus gives back day by day, exactly', async () => {
    const today = localDateAt(Date.now(), ZONE);
    const from = addDays(today, -8);
    const to = addDays(today, -2);
    const file = join(workDir, 'week.om');
    const callsBefore = simulator.requests().length;
    const run = await runBackfill([`--from=${day(from)}`, `--to=${day(to)}`, `--output=${file}`, '--label=job=wolkvox', '--label=instance=exporter:9867']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`backfill: ${day(from)} to ${day(to)} (whole), 1 account(s), chunks of 1d: 7 API call(s)`);
    expect(run.stderr.match(/ added \(\d\/7\)/g)).toHaveLength(7);
    expect(simulator.requests().length - callsBefore).toBe(7);
    expect(readFileSync(file, 'utf8').endsWith('# EOF\n')).toBe(true);
    expect(run.stderr + readFileSync(file, 'utf8')).not.toContain(TOKEN);

    const dataDir = join(workDir, 'backfilled');
    const blocks = promtool(file, dataDir);
    expect(blocks.status, blocks.stderr + blocks.stdout).toBe(0);
    const configFile = join(workDir, 'empty.yml');
    writeFileSync(configFile, 'global: {}\n');
    const prometheus = await startPrometheus({ workDir, configFile, dataDir });
    processes.push(prometheus.proc);

    for (let date = from; startOfDate(date, ZONE) <= startOfDate(to, ZONE); date = addDays(date, 1)) {
      const end = startOfDate(addDays(date, 1), ZONE) / 1000;
      const ini = `${day(date).replace(/-/g, '')}000000`;
      const expected = countsForWindow(ini, `${ini.slice(0, 8)}235959`, SEED);
      for (const [source, handler, field] of PER_SOURCE) {
        const [result] = await prometheus.instant(`increase(wolkvox_whatsapp_chats_total{source="${source}",handler="${handler}",job="wolkvox",instance="exporter:9867"}[1d])`, end);
        expect(Number(result?.value[1]), `${day(date)} ${source}/${handler}`).toBe(expected[field]);
      }
      for (const [handler, field] of HANDLED) {
        const [result] = await prometheus.instant(`increase(wolkvox_whatsapp_handled_chats_total{handler="${handler}"}[1d])`, end);
        expect(Number(result?.value[1]), `${day(date)} handled ${handler}`).toBe(expected[field]);
      }
    }
    await stopProcess(prometheus.proc);
  }, 120_000);

  it('refuses beyond --max-calls before making any call', async () => {
    const before = simulator.requests().length;
    const run = await runBackfill(['--from=2026-01-01', '--to=2026-01-31', '--max-calls=10', `--output=${join(workDir, 'refused.om')}`]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('backfill: refused: 31 calls planned, more than --max-calls 10: shorten the range or raise --step');
    expect(simulator.requests().length).toBe(before);
  });

  it('stops at quota_exceeded with a clear message and a file valid up to the last complete chunk', async () => {
    const limited = await startSimulator({ token: TOKEN, dailyQuota: 3 });
    try {
      const file = join(workDir, 'partial.om');
      const run = await runBackfill(['--from=2026-01-01', '--to=2026-01-07', `--output=${file}`], limited.url);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('Wolkvox answered TOKEN LIMIT EXCEEDED for default at the chunk 20260104000000..20260104235959: the daily quota is spent');
      expect(run.stderr).toContain('backfill: stopped early: 3 of 7 chunk(s) written to');
      const text = readFileSync(file, 'utf8');
      // 0 at the start and the 3 complete days, for each of the 6 series.
      expect(text.split('\n').filter((line) => line.startsWith('wolkvox_'))).toHaveLength(6 * 4);
      const blocks = promtool(file, join(workDir, 'partial-data'));
      expect(blocks.status, blocks.stderr).toBe(0);
    } finally {
      await limited.close();
    }
  });
});
