// The built binary's commands beside the exporter: `healthcheck` (exit 0 or 1, as Docker reads it) and `npm run demo` under SIGTERM.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exporterBinary, listeningAddress } from '../support/binary.js';
import { processExists } from '../support/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = exporterBinary();

/** Only what the binary needs: no WOLKVOX_* or LOG_* leaking in from the test environment. */
const cleanEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' });

type Started = { child: ChildProcess; output: () => string; exited: Promise<number | null> };
const started: Started[] = [];
const strays = new Set<number>();

function start(command: string, args: string[], cwd = ROOT): Started {
  const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const proc = { child, output: () => output, exited };
  started.push(proc);
  return proc;
}

/** Waits for the exporter's `listening` line and returns its port. */
async function portOf(proc: Started): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const address = listeningAddress(proc.output());
    if (address) return Number(address.slice(address.lastIndexOf(':') + 1));
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`no listening line:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function healthcheck(args: string[]) {
  const result = spawnSync(process.execPath, [MAIN, 'healthcheck', ...args], { env: cleanEnv(), encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every process below `pid`, from /proc, deepest last. */
function descendants(pid: number): number[] {
  const table = spawnSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' }).stdout;
  const children = new Map<number, number[]>();
  for (const line of table.split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number);
    if (child === undefined || parent === undefined || Number.isNaN(child)) continue;
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const found: number[] = [];
  const walk = (at: number) => {
    for (const child of children.get(at) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

afterEach(async () => {
  for (const proc of started.splice(0)) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  }
});

afterAll(() => {
  for (const pid of strays) if (processExists(pid)) process.kill(pid, 'SIGKILL');
});

describe('wolkvox-exporter healthcheck', () => {
  it('exits 0 with one line while the exporter answers, and 1 once it is gone', async () => {
    const exporter = start(process.execPath, [MAIN, '--demo', '--web.listen-address=127.0.0.1:0']);
    const port = await portOf(exporter);
    const healthy = healthcheck([`--web.listen-address=127.0.0.1:${port}`]);
    expect(healthy).toEqual({ status: 0, stdout: `healthy: GET http://127.0.0.1:${port}/healthz answered 200 OK\n`, stderr: '' });

    exporter.child.kill('SIGTERM');
    expect(await exporter.exited).toBe(0);
    const gone = healthcheck([`--web.listen-address=127.0.0.1:${port}`]);
    expect(gone.status).toBe(1);
    expect(gone.stdout).toBe('');
    expect(gone.stderr).toMatch(new RegExp(`^unhealthy: GET http://127\\.0\\.0\\.1:${port}/healthz failed: \\w+\\n$`));
  });

  it('exits 1, never Docker\'s reserved 2, on a bad flag; --help exits 0', () => {
    const bad = healthcheck(['--bogus']);
    expect(bad).toEqual({ status: 1, stdout: '', stderr: 'unhealthy: --bogus: unknown flag (see --help)\n' });
    const empty = healthcheck(['--web.config.file=']);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toBe('unhealthy: --web.config.file: is empty: an empty value does not turn anything off; leave the flag out instead\n');
    const help = healthcheck(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout.split('\n')[0]).toBe('usage: wolkvox-exporter healthcheck [<flags>]');
  });
});

describe('npm run demo', () => {
  // issue 8, defect 6: npm hands SIGTERM to the script's shell; without `exec` the shell dies and node lives on.
  it('leaves no process behind when npm gets SIGTERM', async () => {
    const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.demo;
    expect(script).toBeDefined();
    // The real demo script in a package of its own, whose build is already done: this test must not rewrite dist/.
    const dir = mkdtempSync(join(tmpdir(), 'wolkvox-demo-script-'));
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'demo-script', private: true, type: 'module', scripts: { build: 'true', demo: script } }));
      symlinkSync(dirname(MAIN), join(dir, 'dist'));
      const npm = start('npm', ['run', 'demo', '--', '--web.listen-address=127.0.0.1:0'], dir);
      await portOf(npm);
      const below = descendants(npm.child.pid ?? -1);
      expect(below.length).toBeGreaterThan(0);
      for (const pid of below) strays.add(pid);

      npm.child.kill('SIGTERM');
      await npm.exited;
      const deadline = Date.now() + 15_000;
      while (below.some(processExists) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const left = below.filter(processExists).map((pid) => spawnSync('ps', ['-o', 'pid=,ppid=,args=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim());
      expect(left, 'processes still running after npm exited').toEqual([]);
      expect(npm.output()).toMatch(/"msg":"shutting down"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
