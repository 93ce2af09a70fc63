// Bench plumbing for the servers under test: start them pinned to a CPU, time them to their first 200, read their memory and CPU from /proc, stop them.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

// The end-to-end tests' helper: a loopback port the OS just handed out (the pushgateway cannot listen on port 0 and say where).
export { freePort } from '../test/support/processes.js';

/** Which CPUs the servers and the load generator run on; `undefined` when the machine has one CPU (then nothing is pinned). */
export type Pinning = { server: string; load: string } | undefined;

/**
 * Servers on one CPU, the load generator and this process (with its in-process simulator) on
 * another, so they do not compete: on 2 cores an unpinned wrk takes the server's CPU half the time.
 */
export function choosePinning(env: NodeJS.ProcessEnv): Pinning {
  if (availableParallelism() < 2 || spawnSync('taskset', ['--version']).status !== 0) return undefined;
  return { server: env.BENCH_SERVER_CPU ?? '0', load: env.BENCH_LOAD_CPU ?? '1' };
}

/** The CPU list this process may run on, as taskset prints it (e.g. "0,1"), to restore it later. */
export function ownAffinity(): string {
  const result = spawnSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' });
  const list = /affinity list:\s*(\S+)/.exec(result.stdout)?.[1];
  if (list === undefined) throw new Error(`taskset could not read this process's CPUs: ${result.stderr.trim()}`);
  return list;
}

/** Moves every thread of this process onto `cpu`, a taskset CPU list (taskset -a -p); children inherit it. */
export function pinSelf(cpu: string): void {
  const result = spawnSync('taskset', ['-a', '-p', '-c', cpu, String(process.pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`taskset could not pin the bench to CPU ${cpu}: ${result.stderr.trim()}`);
}

/** `command args` under `taskset -c cpu`; taskset execs, so the child's pid is the server's own. */
export function pinned(cpu: string | undefined, command: string, args: readonly string[]): [string, string[]] {
  return cpu === undefined ? [command, [...args]] : ['taskset', ['-c', cpu, command, ...args]];
}

/** The node options of `script`'s `#!/usr/bin/env -S node …` line (src/bin.ts, dist/main.js); none without such a line. */
export function shebangFlags(script: string): string[] {
  const firstLine = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  const shebang = /^#!\S*env\s+(?:-S\s+)?node\b(.*)$/.exec(firstLine);
  return (shebang?.[1] ?? '').trim().split(/\s+/).filter((word) => word !== '');
}

/**
 * How the installed bin runs dist/main.js: node with the options of its `#!/usr/bin/env -S node …`
 * line (npm links the bin and the kernel honours that line), so the bench measures what users get.
 * `extraFlags` (BENCH_EXPORTER_NODE_FLAGS) come after them: V8 flags that NODE_OPTIONS refuses, such
 * as --liftoff-only, can be tried without a rebuild.
 */
export function exporterCommand(script: string, extraFlags: readonly string[] = []): { command: string; args: string[]; shown: string } {
  const nodeOptions = [...shebangFlags(script), ...extraFlags];
  const shownScript = join(basename(dirname(script)), basename(script));
  return { command: process.execPath, args: [...nodeOptions, script], shown: ['node', ...nodeOptions, shownScript].join(' ') };
}

/** BENCH_EXPORTER_NODE_FLAGS as a list of flags (space-separated). */
export function extraNodeFlags(env: NodeJS.ProcessEnv): string[] {
  return (env.BENCH_EXPORTER_NODE_FLAGS ?? '').split(/\s+/).filter((word) => word !== '');
}

/** Runs a command to its end and resolves with its exit code and whole output; rejects only when it cannot start. */
export function runToEnd(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/**
 * Copies the build that holds `script` into `dir`/app, beside a package.json (src/version.ts reads
 * ../package.json) and a link to node_modules, as an install has them; returns the copy's script.
 * The exporters run from the copy: a rebuild of dist/ during the run replaces the chunks a running
 * exporter has yet to load lazily, and its first poll would fail.
 */
export function installCopy(dir: string, script: string): string {
  const app = join(dir, 'app');
  const build = dirname(resolve(script));
  const copy = join(app, basename(build));
  cpSync(build, copy, { recursive: true });
  const pkg = resolve(build, '..', 'package.json');
  copyFileSync(existsSync(pkg) ? pkg : resolve('package.json'), join(app, 'package.json'));
  symlinkSync(resolve('node_modules'), join(app, 'node_modules'));
  return join(copy, basename(script));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Servers still running, so that a bench that dies (an error, Ctrl-C, a closed pipe) takes them with it. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

/** A started server: its process, and the tail of what it wrote to stderr (for error messages). */
export type Server = { child: ChildProcess; pid: number; stderrTail(): string; exited(): { code: number | null } | undefined };

/**
 * Spawns a server with stdout dropped and stderr both shown and kept (its last 4 KB); lines
 * matching `hide` are kept but not shown.
 */
export function startServer(command: string, args: readonly string[], env: NodeJS.ProcessEnv, hide?: RegExp): Server {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let tail = '';
  let exit: { code: number | null } | undefined;
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    const shown = hide ? text.split(/(?<=\n)/).filter((line) => !hide.test(line)).join('') : text;
    if (shown !== '') process.stderr.write(shown);
    tail = (tail + text).slice(-4096);
  });
  running.add(child);
  child.once('exit', (code) => {
    exit = { code };
    running.delete(child);
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return { child, pid: child.pid, stderrTail: () => tail, exited: () => exit };
}

/** A GET with the given headers on a fresh connection; resolves with the status, or undefined when nothing listens yet. */
function probe(url: string, headers: Record<string, string>): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(undefined));
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

export class ServerExited extends Error {
  constructor(
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`the server exited with code ${code} before answering: ${stderr.trim().split('\n').at(-1) ?? ''}`);
  }
}

export type PollOptions = { status?: number; headers?: Record<string, string>; everyMs?: number };

/**
 * Polls `url` (every 2 ms unless told) until it answers `status` (200); resolves with the ms since
 * `startedAt` (performance.now() taken just before the spawn). @throws ServerExited when the server dies first.
 */
export async function msToStatus(server: Server, url: string, startedAt: number, deadlineMs: number, options: PollOptions = {}): Promise<number> {
  const { status = 200, headers = {}, everyMs = 2 } = options;
  for (;;) {
    const got = await probe(url, headers);
    if (got === status) return performance.now() - startedAt;
    const exit = server.exited();
    if (exit) throw new ServerExited(exit.code, server.stderrTail());
    if (performance.now() - startedAt > deadlineMs) throw new Error(`${url} did not answer ${status} within ${deadlineMs} ms (last: ${got ?? 'no answer'})`);
    await sleep(everyMs);
  }
}

const CLOCK_TICKS = 100;

export type ProcStats = { rssMb: number; peakRssMb: number; cpuSeconds: number };

/** VmRSS, VmHWM (the peak RSS) and utime+stime of a live process. */
export function procStats(pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  // Fields 14 and 15 of /proc/PID/stat are utime and stime in clock ticks; the name may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024, cpuSeconds: ticks / CLOCK_TICKS };
}

export function stop(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!server || server.exited() || server.child.exitCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}
