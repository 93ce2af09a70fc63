// Sharding (issue 11 §3, spec: Scaling out): three real processes split the accounts of one config file by token,
// poll each account exactly once between them, never pass a token's calls-in-flight limit together, and reshard on reload.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { shardOfToken } from '../../src/config/shard.js';
import { parseWolkvoxDate } from '../../src/simulator/data.js';
import { startSimulator, type LoggedRequest, type Simulator } from '../../src/simulator/server.js';
import { exporterBinary, listeningAddress } from '../support/binary.js';
import { samplesOf } from '../support/exposition.js';
import { startProcess, stopProcess, waitFor, type RunningProcess } from '../support/processes.js';

const MAIN = exporterBinary();
const REPORT_PATH = '/api/v2/reports_manager.php';
/** Long enough that the first calls of a token's windows overlap, so its limit of 2 is reached and tested. */
const LATENCY_MS = 400;

type Token = { value: string; fingerprint: string; before: number; after: number };
type Account = { name: string; token: Token; windows: string[] };
type Shard = { index: number; proc: RunningProcess; base: string };

/**
 * Tokens chosen so that under 3 shards every shard has work, and going to 2 shards moves tokens in
 * every way that matters: off the removed shard 2 onto both survivors, and between shards 0 and 1.
 * The hash is fixed (shardOfToken), so this search gives the same tokens on every run.
 */
function chooseTokens(): Token[] {
  const wanted = ['0>0', '0>1', '1>1', '1>0', '2>0', '2>1'];
  const found = new Map<string, Token>();
  for (let n = 0; found.size < wanted.length; n++) {
    const value = `tok-SHARD-${n}-e41`;
    const fingerprint = new Secret(value).fingerprint();
    const token = { value, fingerprint, before: shardOfToken(fingerprint, 3), after: shardOfToken(fingerprint, 2) };
    const key = `${token.before}>${token.after}`;
    if (wanted.includes(key) && !found.has(key)) found.set(key, token);
  }
  return wanted.map((key) => found.get(key)!);
}

const TOKENS = chooseTokens();

/**
 * Accounts sharing the first token (three of them) and the fourth (two); the rest have one each. Every window is a
 * different whole number of hours, so a call's date span tells which account and window it was for.
 */
function planAccounts(): Account[] {
  const owners = [0, 0, 0, 1, 2, 3, 3, 4, 5];
  return owners.map((tokenIndex, i) => ({ name: `acct${i}`, token: TOKENS[tokenIndex]!, windows: [`${2 * i + 1}h`, `${2 * i + 2}h`] }));
}

const ACCOUNTS = planAccounts();

let dir: string;
/** One simulator per token, each accepting only its token: its in-flight count is that token's, over all processes. */
const sims = new Map<string, Simulator>();
let shards: Shard[] = [];

function configYaml(shardTotal: number, interval: string): string {
  // No _total counters: their chunk calls would add to the counts the test expects.
  const lines = [`shard_total: ${shardTotal}`, `interval: ${interval}`, 'counter_step: 0', 'max_concurrency: 2', 'accounts:'];
  for (const account of ACCOUNTS) {
    lines.push(`  - name: ${account.name}`, `    base_url: ${sims.get(account.token.value)!.url}`, `    token_file: ${account.token.value}.token`);
    lines.push(`    windows: [${account.windows.join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

/** Starts shard `index`: shard 2 takes its index from a StatefulSet pod name, as in the sharded overlay. */
async function startShard(index: number): Promise<Shard> {
  const args = [MAIN, `--config.file=${join(dir, 'config.yml')}`, '--web.listen-address=127.0.0.1:0', '--web.enable-lifecycle', '--log.format=logfmt'];
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (index === 2) env.WOLKVOX_SHARD_INDEX = 'wolkvox-exporter-2';
  else args.push(`--shard.index=${index}`);
  const proc = startProcess(`shard ${index}`, process.execPath, args, dir, env);
  const address = await waitFor(`shard ${index} to listen`, async () => listeningAddress(proc.output()), { timeoutMs: 15_000, intervalMs: 20, watch: [proc] });
  return { index, proc, base: `http://${address}` };
}

async function get(shard: Shard, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${shard.base}${path}`);
  return { status: res.status, text: await res.text() };
}

/** The accounts a shard exports, from the wolkvox_up series. */
async function exportedAccounts(shard: Shard): Promise<Set<string>> {
  const { text } = await get(shard, '/metrics');
  return new Set(samplesOf(text, 'wolkvox_up').map((sample) => sample.labels.account!));
}

function ownersUnder(total: 'before' | 'after', index: number): string[] {
  return ACCOUNTS.filter((account) => account.token[total] === index).map((account) => account.name);
}

/** account/window of a simulator call, from the hours its date span covers. */
function callKey(call: LoggedRequest): string {
  const hours = (parseWolkvoxDate(call.query.date_end ?? '')! - parseWolkvoxDate(call.query.date_ini ?? '')!) / 3600;
  const account = ACCOUNTS.find((candidate) => candidate.windows.includes(`${hours}h`));
  if (!account) throw new Error(`a call for no configured window: ${JSON.stringify(call.query)}`);
  return `${account.name}/${hours}h`;
}

function reportCalls(sim: Simulator): LoggedRequest[] {
  return sim.requests().filter((call) => call.path === REPORT_PATH);
}

function describeState(): string {
  const calls = TOKENS.map((token) => `${token.fingerprint}: ${JSON.stringify(sims.get(token.value)!.stats())}`).join('\n');
  return `${calls}\n${shards.map((shard) => `--- shard ${shard.index}\n${shard.proc.output().slice(-3_000)}`).join('\n')}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wolkvox-shards-'));
  for (const token of TOKENS) {
    writeFileSync(join(dir, `${token.value}.token`), `${token.value}\n`);
    sims.set(token.value, await startSimulator({ token: token.value, latencyMs: LATENCY_MS, maxConcurrent: 2 }));
  }
});

afterAll(async () => {
  await Promise.all(shards.map((shard) => stopProcess(shard.proc)));
  await Promise.all([...sims.values()].map((sim) => sim.close()));
  // spec: Operations: no token in any log line.
  for (const shard of shards) for (const token of TOKENS) expect(shard.proc.output()).not.toContain(token.value);
  rmSync(dir, { recursive: true, force: true });
});

describe('three processes splitting one config', () => {
  it('poll every account exactly once between them, shared tokens together, within each token limit', async () => {
    // Interval 1h: after the first polls nothing else is due, so every call the simulators saw is counted exactly.
    writeFileSync(join(dir, 'config.yml'), configYaml(3, '1h'));
    shards = await Promise.all([0, 1, 2].map(startShard));
    for (const shard of shards) {
      await waitFor(`shard ${shard.index} ready`, async () => ((await get(shard, '/readyz')).status === 200 ? true : undefined), {
        timeoutMs: 20_000,
        intervalMs: 50,
        watch: [shard.proc],
        describe: describeState,
      });
    }
    await waitFor('simulators idle', async () => ([...sims.values()].every((sim) => sim.stats().inFlight === 0) ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 20,
    });

    // Each shard exports exactly the accounts whose token hashes to it, and says which shard it is.
    const exported = await Promise.all(shards.map(exportedAccounts));
    for (const shard of shards) {
      expect([...exported[shard.index]!].sort(), `shard ${shard.index}`).toEqual(ownersUnder('before', shard.index).sort());
      expect((await get(shard, '/metrics')).text).toContain(`wolkvox_exporter_shard_info{index="${shard.index}",total="3"} 1`);
    }
    // Accounts sharing a token are exported by one shard: the union is every account, and no account is twice.
    const all = exported.flatMap((set) => [...set]);
    expect(all.sort()).toEqual(ACCOUNTS.map((account) => account.name).sort());
    for (const token of TOKENS) {
      const holders = exported.filter((set) => ACCOUNTS.some((account) => account.token === token && set.has(account.name)));
      expect(holders, `shards holding token ${token.fingerprint}`).toHaveLength(1);
    }

    // Together the three polled every window of every account exactly once.
    const calls = TOKENS.flatMap((token) => reportCalls(sims.get(token.value)!).map(callKey));
    const expected = ACCOUNTS.flatMap((account) => account.windows.map((window) => `${account.name}/${window}`));
    expect(calls.sort()).toEqual(expected.sort());

    // No token ever had more than its 2 calls in flight over all processes, and Wolkvox never said SIMULTANEOUS.
    // The first token's 6 windows start together and its calls take 400 ms, so it did reach its limit.
    for (const token of TOKENS) {
      const stats = sims.get(token.value)!.stats();
      expect(stats.maxInFlight, `token ${token.fingerprint}`).toBeLessThanOrEqual(2);
      expect(stats.byStatus['403'], `token ${token.fingerprint}`).toBeUndefined();
    }
    expect(sims.get(TOKENS[0]!.value)!.stats().maxInFlight).toBe(2);
  });

  it('reshard on reload when shard_total changes in the file: moved accounts start one interval later, none twice', async () => {
    for (const sim of sims.values()) sim.resetStats();
    // Scaling from 3 to 2 shards: shard 2 cannot be shard 2 of 2, so its reload fails and it keeps running its
    // old share, which the WolkvoxShardDuplicated alert reports, until it is stopped (a StatefulSet scaled down).
    writeFileSync(join(dir, 'config.yml'), configYaml(2, '3s'));
    const refused = await fetch(`${shards[2]!.base}/-/reload`, { method: 'POST' });
    expect(refused.status).toBe(500);
    expect(await refused.text()).toMatch(/is shard 2, but shard_total \(in .*config\.yml\) is 2: shards are numbered 0 to 1/);
    await stopProcess(shards[2]!.proc);

    const reloadedAt = Date.now();
    for (const shard of shards.slice(0, 2)) expect((await fetch(`${shard.base}/-/reload`, { method: 'POST' })).status).toBe(200);
    for (const shard of shards.slice(0, 2)) expect(shard.proc.output()).toMatch(new RegExp(`msg=resharded shard=${shard.index} shards=2`));

    // Within a few intervals each survivor exports exactly its share under the new total, and says so.
    for (const shard of shards.slice(0, 2)) {
      await waitFor(
        `shard ${shard.index} to export its share of 2`,
        async () => {
          const { text } = await get(shard, '/metrics');
          const up = samplesOf(text, 'wolkvox_up');
          const mine = [...new Set(up.map((sample) => sample.labels.account!))].sort();
          const everyWindowUp = up.length === 2 * mine.length && up.every((sample) => sample.value === 1);
          const said = text.includes(`wolkvox_exporter_shard_info{index="${shard.index}",total="2"} 1`);
          return said && everyWindowUp && JSON.stringify(mine) === JSON.stringify(ownersUnder('after', shard.index).sort()) ? true : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100, watch: [shard.proc], describe: describeState },
      );
    }

    // A moved account's first call came no sooner than one interval (3 s) after the reload: its old owner may still
    // be polling it until its own reload.
    const moved = ACCOUNTS.filter((account) => account.token.before !== account.token.after);
    expect(moved.length).toBeGreaterThan(0);
    for (const account of moved) {
      const first = Math.min(
        ...reportCalls(sims.get(account.token.value)!)
          .filter((call) => callKey(call).startsWith(`${account.name}/`))
          .map((call) => call.at),
      );
      expect(first, `${account.name}'s first call after the handover`).toBeGreaterThanOrEqual(reloadedAt + 3_000 - 50);
    }

    // Still within every token's limit, with the moved accounts polled beside the ones that stayed.
    for (const token of TOKENS) {
      const stats = sims.get(token.value)!.stats();
      expect(stats.maxInFlight, `token ${token.fingerprint}`).toBeLessThanOrEqual(2);
      expect(stats.byStatus['403'], `token ${token.fingerprint}`).toBeUndefined();
    }
  });
});
