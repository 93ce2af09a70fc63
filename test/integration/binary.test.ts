// The built binary (dist/main.js, built for this run by the global setup): help, version, exit 2 on bad config, demo, a real run, SIGTERM.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { get as httpGet } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FLAGS, type FlagSpec } from '../../src/config/flags.js';
import { parseWolkvoxDate } from '../../src/simulator/data.js';
import { countsForWindow, startSimulator, type Simulator } from '../../src/simulator/server.js';
import { samplesOf, valueOf } from '../support/exposition.js';
import { shebangFlags } from '../../bench/processes.js';
import { exporterBinary, listeningAddress } from '../support/binary.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = exporterBinary();
const SENTINEL = 'tok-SENTINEL-7c1e';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Only what the binary needs: no WOLKVOX_* or LOG_* leaking in from the test environment. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra };
}

function runBinary(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [MAIN, ...args], { env: cleanEnv(env), encoding: 'utf8', timeout: 15_000 });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the binary to its end (killed after 15 s), apart from the long-running ones the hooks clean up. */
async function runBinaryAsync(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [MAIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => void stdout.push(chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => void stderr.push(chunk.toString('utf8')));
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
  clearTimeout(killer);
  return { status: code, stdout: stdout.join(''), stderr: stderr.join('') };
}

type Proc = {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
};

const procs: Proc[] = [];

function startBinary(args: string[], env: Record<string, string> = {}, nodeFlags: string[] = [], main = MAIN): Proc {
  const child = spawn(process.execPath, [...nodeFlags, main, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let done = false;
  child.stdout?.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  const proc = { child, output: () => output, exited, hasExited: () => done };
  procs.push(proc);
  return proc;
}


/** Polls `probe` until it returns a value, failing at the deadline or when the process exits. */
async function waitFor<T>(what: string, proc: Proc, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.hasExited()) throw new Error(`the exporter exited while waiting for ${what}:\n${proc.output()}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The port the exporter reports once it listens (started with --web.listen-address=127.0.0.1:0). */
async function listeningPort(proc: Proc): Promise<number> {
  const address = await waitFor('the listening log line', proc, async () => listeningAddress(proc.output()));
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

async function getText(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

/** SIGTERM and the time it took to exit. */
async function terminate(proc: Proc): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const started = Date.now();
  proc.child.kill('SIGTERM');
  const exit = await proc.exited;
  return { ...exit, ms: Date.now() - started };
}

afterEach(async () => {
  for (const proc of procs.splice(0)) {
    if (!proc.hasExited()) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  }
});

describe('--help and --version', () => {
  it('--help exits 0 and lists every flag with its default and env var; healthcheck --help lists its own', () => {
    const { status, stdout, stderr } = runBinary(['--help']);
    expect(status).toBe(0);
    expect(stderr).toBe('');
    const healthcheckHelp = runBinary(['healthcheck', '--help']);
    expect(healthcheckHelp.status).toBe(0);
    const backfillHelp = runBinary(['backfill', '--help']);
    expect(backfillHelp.status).toBe(0);
    // Each flag is described once: under the exporter when it takes it, else under its own command.
    const helpOf = (flag: FlagSpec) => (flag.commands.includes('exporter') ? stdout : flag.commands.includes('healthcheck') ? healthcheckHelp.stdout : backfillHelp.stdout);
    for (const flag of FLAGS as readonly FlagSpec[]) {
      const text = helpOf(flag);
      const line = text.split('\n').find((l) => new RegExp(`^\\s+--${flag.name.replace(/\./g, '\\.')}[=\\s]`).test(l));
      expect(line, `--${flag.name}`).toBeDefined();
      const shownDefault = flag.default ?? flag.defaultHelp;
      if (shownDefault !== undefined) expect(line, `--${flag.name}`).toContain(`default: ${shownDefault}`);
      if (flag.env !== undefined) expect(line, `--${flag.name}`).toContain(`env: ${flag.env}`);
    }
    expect(stdout).toContain('WOLKVOX_TOKEN');
    expect(stdout).toContain(VERSION);
  });

  it('--version prints the version of package.json', () => {
    const { status, stdout } = runBinary(['--version']);
    expect(status).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(new RegExp(`^wolkvox-exporter, version ${VERSION.replace(/\./g, '\\.')} `));
  });
});

describe('bad flags, values and config files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wolkvox-binary-'));
    writeFileSync(join(dir, 'unknown-key.yml'), 'accounts:\n  - name: co\n    server: "0032"\n    token_env: TOK\n    colour: blue\n');
    writeFileSync(join(dir, 'bad-zone.yml'), 'accounts:\n  - name: co\n    server: "0032"\n    token_env: TOK\n    timezone: Mars/Olympus\n');
    writeFileSync(join(dir, 'bad-web.yml'), 'basic_auth_users:\n  alice: not-a-hash\n');
    writeFileSync(join(dir, 'web-missing-cert.yml'), 'tls_server_config:\n  cert_file: nowhere.crt\n  key_file: nowhere.key\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const token = { WOLKVOX_TOKEN: 'x' };
  const cases: Array<{ args: string[]; env: Record<string, string>; key: string }> = [
    { args: ['--no-such-flag'], env: {}, key: '--no-such-flag' },
    { args: ['--wolkvox.server=12'], env: token, key: '--wolkvox.server' },
    { args: ['--wolkvox.server=0032', '--collector.windows=1h,40d'], env: token, key: '--collector.windows' },
    { args: [], env: { ...token, WOLKVOX_SERVER: '0032', WOLKVOX_INTERVAL: 'abc' }, key: 'WOLKVOX_INTERVAL' },
    { args: ['--wolkvox.server=0032'], env: {}, key: '--wolkvox.token-file' },
    { args: ['--demo', '--web.listen-address=nope'], env: {}, key: '--web.listen-address' },
    { args: ['--config.file=@DIR/unknown-key.yml'], env: { TOK: 'x' }, key: 'accounts[0].colour' },
    { args: ['--config.file=@DIR/bad-zone.yml'], env: { TOK: 'x' }, key: 'accounts[0].timezone' },
    { args: ['--demo', '--web.config.file=@DIR/bad-web.yml'], env: {}, key: 'web.config.file' },
    { args: ['--demo', '--web.config.file=@DIR/web-missing-cert.yml'], env: {}, key: 'web.config.file' },
    { args: ['--demo', '--web.config.file=@DIR/absent.yml'], env: {}, key: 'web.config.file' },
    // A token typed on the command line is refused without being echoed.
    { args: [`--wolkvox.token=${SENTINEL}`], env: {}, key: '--wolkvox.token' },
  ];
  // Concurrent: each case is a Node start-up, mostly waiting on module loading.
  it.concurrent.each(cases)('$args $env exits 2 with one stderr line naming $key', async ({ args, env, key }) => {
    const { status, stdout, stderr } = await runBinaryAsync(
      args.map((a) => a.replace('@DIR', dir)),
      env,
    );
    expect(status, `${stdout}${stderr}`).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(key);
    expect(lines[0]).toMatch(/^wolkvox-exporter: error: /);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).not.toContain(SENTINEL);
  });
});

describe('running', () => {
  let sim: Simulator | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('--demo serves the demo account on /metrics, and SIGTERM exits 0 within 10 s', async () => {
    const proc = startBinary(['--demo', '--web.listen-address=127.0.0.1:0']);
    const port = await listeningPort(proc);
    const base = `http://127.0.0.1:${port}`;
    await waitFor('ready', proc, async () => ((await getText(`${base}/readyz`)).status === 200 ? true : undefined));
    const text = await waitFor('demo series', proc, async () => {
      const res = await getText(`${base}/metrics`);
      return res.status === 200 && res.text.includes('wolkvox_whatsapp_chats{account="demo",window="1h",source="ad",handler="bot"}')
        ? res.text
        : undefined;
    });
    const value = valueOf(text, 'wolkvox_whatsapp_chats', { account: 'demo', window: '1h', source: 'ad', handler: 'bot' });
    expect(Number.isInteger(value)).toBe(true);
    expect(value).toBeGreaterThanOrEqual(0);
    expect(samplesOf(text, 'wolkvox_up', { account: 'demo' }).map((s) => [s.labels.window, s.value]).sort()).toEqual([
      ['1h', 1],
      ['month', 1],
      ['today', 1],
      ['week', 1],
    ]);
    // The demo's counters exist from the start, at 0 until its first 1m chunk settles.
    expect(samplesOf(text, 'wolkvox_whatsapp_chats_total', { account: 'demo' })).toHaveLength(4);
    const landing = await getText(`${base}/`);
    expect(landing.text).toContain('href="/metrics"');

    const exit = await terminate(proc);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(10_000);
  });

  it("polls and serves without loading Node's fetch (its bundled undici) or TLS", async () => {
    // Issue 10: each of them costs 10-20 MB and 60-200 ms at load; a plain-HTTP exporter needs neither.
    dir = mkdtempSync(join(tmpdir(), 'wolkvox-binary-'));
    const loaded = join(dir, 'loaded.json');
    const probe = join(dir, 'probe.mjs');
    writeFileSync(probe, `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(process.moduleLoadList)));\n`);
    const proc = startBinary(['--demo', '--web.listen-address=127.0.0.1:0'], {}, ['--import', probe]);
    const base = `http://127.0.0.1:${await listeningPort(proc)}`;
    await waitFor('every demo window polled', proc, async () => {
      const text = (await getText(`${base}/metrics`)).text;
      const up = samplesOf(text, 'wolkvox_up', { account: 'demo' });
      return up.length === 4 && up.every((sample) => sample.value === 1) ? true : undefined;
    });
    // A scrape as Prometheus sends it, and the status page.
    await new Promise<void>((resolve, reject) => {
      httpGet(`${base}/metrics`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        expect(res.headers['content-encoding']).toBe('gzip');
        res.resume().on('end', resolve).on('error', reject);
      }).on('error', reject);
    });
    expect((await getText(`${base}/`)).status).toBe(200);
    expect(await terminate(proc)).toMatchObject({ code: 0, signal: null });
    const modules = JSON.parse(readFileSync(loaded, 'utf8')) as string[];
    expect(modules).toContain('NativeModule http');
    expect(modules).toContain('NativeModule zlib');
    expect(modules.filter((name) => /undici|NativeModule (https|tls)$/.test(name))).toEqual([]);
  });

  it('starts from the V8 code cache of the build with the flags of its #! line, and without one under other flags or with none', async () => {
    // scripts/prime-code-cache.mjs writes the cache with the #! line's flags: `npm start`, the image and its
    // HEALTHCHECK run with them. V8 rejects a cache written under other flags; the exporter must serve all the same.
    const flags = shebangFlags(MAIN);
    expect(flags).toEqual(['--max-semi-space-size=1', '--optimize-for-size', '--no-memory-reducer', '--v8-pool-size=1']);
    // A copy of the build without its cache, beside the package.json that src/version.ts reads.
    dir = mkdtempSync(join(tmpdir(), 'wolkvox-binary-'));
    cpSync(dirname(MAIN), join(dir, 'dist'), { recursive: true, filter: (path) => !path.endsWith('.cache') });
    copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    const cases = [
      { main: MAIN, nodeFlags: flags, codeCache: 'used' },
      { main: MAIN, nodeFlags: [], codeCache: 'rejected' },
      { main: join(dir, 'dist', 'main.js'), nodeFlags: flags, codeCache: 'missing' },
    ];
    for (const { main, nodeFlags, codeCache } of cases) {
      const proc = startBinary(['--demo', '--web.listen-address=127.0.0.1:0', '--log.level=debug'], {}, nodeFlags, main);
      const base = `http://127.0.0.1:${await listeningPort(proc)}`;
      expect((await getText(`${base}/metrics`)).text).toContain('wolkvox_exporter_build_info{');
      const records = proc.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { codeCache?: string });
      expect(records.filter((record) => record.codeCache !== undefined).map((record) => record.codeCache), `${nodeFlags.join(' ')} ${main}`).toEqual([codeCache]);
      expect(await terminate(proc)).toMatchObject({ code: 0, signal: null });
    }
  });

  it('polls a real account through --wolkvox.base-url with a token file and never prints the token', async () => {
    sim = await startSimulator({ port: 0, token: SENTINEL });
    dir = mkdtempSync(join(tmpdir(), 'wolkvox-binary-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${SENTINEL}\n`);
    const proc = startBinary([
      '--wolkvox.server=0032',
      `--wolkvox.base-url=${sim.url}`,
      `--wolkvox.token-file=${tokenFile}`,
      '--web.listen-address=127.0.0.1:0',
      '--collector.interval=1s',
      '--log.level=debug',
      '--log.format=logfmt',
    ]);
    const base = `http://127.0.0.1:${await listeningPort(proc)}`;
    const shown: string[] = [];
    const scrape = async () => {
      const res = await getText(`${base}/metrics`);
      shown.push(res.text);
      return res;
    };
    const up = (text: string, window: string) => valueOf(text, 'wolkvox_up', { account: '0032', window });

    const good = await waitFor('both windows up', proc, async () => {
      const res = await scrape();
      return up(res.text, '1h') === 1 && up(res.text, 'today') === 1 ? res.text : undefined;
    });
    const requests = sim.requests();
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(requests.every((r) => r.tokenPresent && r.query.api === 'chat_15')).toBe(true);
    // The values are those of the request whose end the exporter reports for 1h.
    const end = valueOf(good, 'wolkvox_window_end_timestamp_seconds', { account: '0032', window: '1h' });
    const naive = (date: string | undefined) => parseWolkvoxDate(date ?? '') ?? NaN;
    const asked = requests.find(
      (r) => naive(r.query.date_end) + 5 * 3600 === end && naive(r.query.date_end) - naive(r.query.date_ini) === 3600,
    );
    expect(asked).toBeDefined();
    const counts = countsForWindow(asked!.query.date_ini!, asked!.query.date_end!, 1);
    expect(valueOf(good, 'wolkvox_whatsapp_handled_chats', { account: '0032', window: '1h', handler: 'agent' })).toBe(
      counts.total_agents,
    );

    // A rejected token: the exporter reports it and still never prints the token.
    sim.setScenario({ kind: 'invalid_token', status: 403 });
    await waitFor('1h down', proc, async () => ((await scrape()).text.match(/wolkvox_up\{account="0032",window="1h"\} 0/) ? true : undefined));
    await waitFor('the failure in the log', proc, async () => (proc.output().includes('outcome=unauthorized') ? true : undefined));
    shown.push((await getText(`${base}/`)).text);

    const exit = await terminate(proc);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(10_000);
    expect(proc.output()).toMatch(/msg="poll succeeded"/);
    expect(proc.output()).not.toContain(SENTINEL);
    for (const text of shown) expect(text).not.toContain(SENTINEL);
  });
});

describe('--web.config.file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wolkvox-web-'));
    const made = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.crt')],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    // bcrypt of "s3cret" at cost 4, with the $2y$ prefix htpasswd writes.
    const hash = bcrypt.hashSync('s3cret', 4).replace(/^\$2[ab]\$/, '$2y$');
    writeFileSync(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: ${hash}\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** One HTTPS GET trusting the test certificate, with optional basic auth. */
  function httpsGet(port: number, path: string, auth?: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port, path, ca: readFileSync(join(dir, 'server.crt')), ...(auth ? { auth } : {}) },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => void (text += chunk.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('serves every endpoint over TLS behind basic auth, and refuses plain HTTP', async () => {
    const proc = startBinary(['--demo', '--web.listen-address=127.0.0.1:0', `--web.config.file=${join(dir, 'web.yml')}`, '--web.enable-lifecycle']);
    const port = await listeningPort(proc);
    const metrics = await waitFor('metrics over TLS', proc, async () => {
      const res = await httpsGet(port, '/metrics', 'prometheus:s3cret');
      return res.status === 200 && res.text.includes('wolkvox_whatsapp_chats{account="demo"') ? res : undefined;
    });
    expect(metrics.text).toContain('wolkvox_up{account="demo",window="1h"}');
    for (const path of ['/', '/metrics', '/healthz', '/readyz']) {
      const anonymous = await httpsGet(port, path);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers['www-authenticate'], path).toMatch(/^Basic/);
      expect((await httpsGet(port, path, 'prometheus:wrong')).status, path).toBe(401);
    }
    expect((await httpsGet(port, '/healthz', 'prometheus:s3cret')).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    const exit = await terminate(proc);
    expect(exit.code).toBe(0);
  });
});
