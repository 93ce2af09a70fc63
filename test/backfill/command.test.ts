// `backfill` in process, on a fake client and a fake clock: progress on a terminal and off it, retries, the token's concurrency limit.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backfillCommand, type BackfillCommandDeps } from '../../src/backfill/command.js';
import { parseCommandLine } from '../../src/config/flags.js';
import type { AccountConfig } from '../../src/config/schema.js';
import { countsForWindow } from '../../src/simulator/data.js';
import type { WolkvoxClient } from '../../src/wolkvox/client.js';
import { WolkvoxError, type FailureKind } from '../../src/wolkvox/outcome.js';

type Call = { account: string; dateIni: string; dateEnd: string };

function harness(args: string[], options: { env?: NodeJS.ProcessEnv; files?: Record<string, string>; isTTY?: boolean; fail?: (call: Call, attempt: number) => FailureKind | undefined; latencyMs?: number } = {}) {
  const calls: Call[] = [];
  const attempts = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const err: string[] = [];
  const out: string[] = [];
  const written: Record<string, string> = {};
  const command = parseCommandLine(['backfill', ...args], options.env ?? { WOLKVOX_TOKEN: 'tok-backfill' });
  if (command.kind !== 'run') throw new Error('expected a run');
  const clientFor = (account: AccountConfig): WolkvoxClient => ({
    async fetchChat15(bounds) {
      const call = { account: account.name, dateIni: bounds.dateIni, dateEnd: bounds.dateEnd };
      calls.push(call);
      const key = `${account.name}/${bounds.dateIni}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, options.latencyMs ?? 100));
        const kind = options.fail?.(call, attempt);
        if (kind) throw new WolkvoxError(kind, `fake ${kind}`);
        return { kind: 'success', counts: countsForWindow(bounds.dateIni, bounds.dateEnd, 1) };
      } finally {
        inFlight--;
      }
    },
  });
  const deps: BackfillCommandDeps = {
    settings: command.settings,
    env: options.env ?? {},
    readFile: (path) => {
      const text = options.files?.[path];
      if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return text;
    },
    clock: { now: () => Date.now() },
    clientFor,
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text), ...(options.isTTY ? { isTTY: true } : {}) },
    writeFile: (path, text) => {
      written[path] = text;
    },
  };
  return {
    calls,
    err,
    out,
    written,
    maxInFlight: () => maxInFlight,
    run: async () => {
      const done = backfillCommand(deps);
      await vi.runAllTimersAsync();
      return done;
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(Date.parse('2026-11-29T12:00:00Z'));
});
afterEach(() => vi.useRealTimers());

const SINGLE = ['--wolkvox.base-url=http://wolkvox.invalid', '--from=2026-11-01', '--to=2026-11-04'];

describe('backfill command', () => {
  it('draws a progress bar on a terminal, and writes the data to stdout', async () => {
    const h = harness(SINGLE, { isTTY: true });
    expect(await h.run()).toBe(0);
    const progress = h.err.filter((text) => text.startsWith('\r['));
    expect(progress).toHaveLength(4);
    expect(progress.at(-1)).toBe(`\r[${'#'.repeat(30)}] 4/4 chunks`);
    expect(h.err).toContain('\n');
    expect(h.out.join('')).toMatch(/^# HELP wolkvox_whatsapp_chats [\s\S]*# EOF\n$/);
    expect(h.err.join('')).not.toContain('tok-backfill');
  });

  it('writes one plain line a chunk when nobody watches, and the file to --output', async () => {
    const h = harness([...SINGLE, '--output=/out.om']);
    expect(await h.run()).toBe(0);
    expect(h.err.filter((line) => line.startsWith('backfill: default ')).map((line) => line.trim())).toEqual([
      'backfill: default 20261101000000..20261101235959 added (1/4)',
      'backfill: default 20261102000000..20261102235959 added (2/4)',
      'backfill: default 20261103000000..20261103235959 added (3/4)',
      'backfill: default 20261104000000..20261104235959 added (4/4)',
    ]);
    expect(h.out).toEqual([]);
    expect(h.written['/out.om']).toMatch(/# EOF\n$/);
    expect(h.err.at(-1)).toBe('backfill: done: 4 chunk(s) written to /out.om; next: promtool tsdb create-blocks-from openmetrics /out.om DATA_DIR\n');
  });

  it('retries a chunk like the exporter does, and adds it once', async () => {
    const h = harness(SINGLE, { fail: (call, attempt) => (call.dateIni === '20261102000000' && attempt < 3 ? 'server_error' : undefined) });
    expect(await h.run()).toBe(0);
    expect(h.calls.map((c) => c.dateIni)).toEqual(['20261101000000', '20261102000000', '20261102000000', '20261102000000', '20261103000000', '20261104000000']);
    expect(h.out.join('').match(/source="ad",handler="bot"\} \d+ /g)).toHaveLength(5);
  });

  it('stops an account whose chunk keeps failing, keeps what it had, and exits 1', async () => {
    const h = harness(SINGLE, { fail: (call) => (call.dateIni === '20261103000000' ? 'unauthorized' : undefined) });
    expect(await h.run()).toBe(1);
    expect(h.calls.map((c) => c.dateIni)).toEqual(['20261101000000', '20261102000000', '20261103000000']);
    expect(h.err.join('')).toContain('default: the chunk 20261103000000..20261103235959 failed 1 time(s) (unauthorized: fake unauthorized); its later chunks were not fetched');
    expect(h.err.join('')).toContain('backfill: stopped early: 2 of 4 chunk(s) written to stdout');
    // 0 at the start and 2 chunks, for each of the 6 series.
    expect(h.out.join('').split('\n').filter((line) => line.startsWith('wolkvox_'))).toHaveLength(6 * 3);
  });

  it('keeps at most max_concurrency calls in flight per token, and runs accounts on other tokens beside them', async () => {
    const config = (shared: boolean) =>
      [
        'max_concurrency: 1',
        'accounts:',
        '  - name: co',
        '    base_url: http://wolkvox.invalid',
        '    token_env: T1',
        '  - name: mx',
        '    base_url: http://wolkvox.invalid',
        `    token_env: ${shared ? 'T1' : 'T2'}`,
      ].join('\n');
    const sharedToken = harness(['--config.file=/c.yml', '--from=2026-11-01', '--to=2026-11-03'], { env: { T1: 'a' }, files: { '/c.yml': config(true) } });
    expect(await sharedToken.run()).toBe(0);
    expect(sharedToken.calls).toHaveLength(6);
    expect(sharedToken.maxInFlight()).toBe(1);
    const twoTokens = harness(['--config.file=/c.yml', '--from=2026-11-01', '--to=2026-11-03'], { env: { T1: 'a', T2: 'b' }, files: { '/c.yml': config(false) } });
    expect(await twoTokens.run()).toBe(0);
    expect(twoTokens.maxInFlight()).toBe(2);
  });

  it('refuses a plan over the token\'s daily quota before any call, with exit status 2', async () => {
    const h = harness(['--wolkvox.base-url=http://wolkvox.invalid', '--wolkvox.daily-quota=10', '--from=2026-11-01', '--to=2026-11-30', '--step=6h']);
    expect(await h.run()).toBe(2);
    expect(h.calls).toEqual([]);
    expect(h.err.join('')).toContain('backfill: refused: 120 calls planned on the token of default, more than its daily quota of 10');
  });
});
