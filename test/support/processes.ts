// Child processes for end-to-end tests: free loopback ports, start and stop with captured output, wait with a deadline.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A loopback port that was free a moment ago (the OS picked it for a listener we closed). Another process may take
 * it before ours listens: prefer port 0 and read the address back; use this only through {@link startOnFreePort}.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no TCP address for the probe listener'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** Whether a process with this pid exists, ours or not (EPERM: it exists but belongs to someone else). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type RunningProcess = {
  readonly name: string;
  readonly child: ChildProcess;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /** Set once the process has exited. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
};

export function startProcess(name: string, command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): RunningProcess {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
  let output = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const keep = (chunk: Buffer): void => {
    // The tail is what explains a failure; keep memory bounded for chatty processes.
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', (code, signal) => {
    exit = { code, signal };
  });
  child.on('error', (error) => {
    output += `\n[spawn error] ${error.message}`;
    exit ??= { code: null, signal: null };
  });
  return { name, child, output: () => output, exited: () => exit };
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. Resolves once it has exited. */
export async function stopProcess(proc: RunningProcess | undefined, graceMs = 5_000): Promise<void> {
  if (!proc || proc.exited() || proc.child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!proc.exited()) proc.child.kill('SIGKILL');
  }, graceMs);
  await gone;
  clearTimeout(timer);
}

/**
 * Calls `probe` every `intervalMs` until it returns a value other than undefined, or throws after `timeoutMs`
 * with `describe()` (the last state seen) in the message. A process in `watch` that exits ends the wait early.
 * The deadline is on the monotonic clock and the pause uses node:timers, so a test that fakes Date and the global
 * timers can still wait on real I/O with this.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; describe?: () => string; watch?: RunningProcess[] },
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  let lastError = '';
  for (;;) {
    for (const proc of options.watch ?? []) {
      const exit = proc.exited();
      if (exit) {
        throw new Error(`${proc.name} exited (code ${exit.code}, signal ${exit.signal}) while waiting for ${what}:\n${proc.output()}`);
      }
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = '';
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (performance.now() >= deadline) {
      const state = options.describe?.() ?? '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}${state ? `\n${state}` : ''}`);
    }
    await sleep(options.intervalMs ?? 250);
  }
}

/** What bind errors say, in Go (Prometheus) and in Node. */
const ADDRESS_IN_USE = /address already in use|EADDRINUSE/;

/**
 * Starts a process that cannot listen on port 0 and report its address (Prometheus): on a free port, and again on
 * another one when a concurrent test run took that port first ("address already in use"). Resolves once `ready`.
 */
export async function startOnFreePort(
  start: (port: number) => RunningProcess,
  ready: (port: number) => Promise<boolean>,
  options: { timeoutMs: number; watch?: RunningProcess[]; describe?: () => string; attempts?: number },
): Promise<{ proc: RunningProcess; port: number }> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const proc = start(port);
    try {
      await waitFor(`${proc.name} to listen on port ${port}`, async () => ((await ready(port)) ? true : undefined), {
        ...options,
        watch: [proc, ...(options.watch ?? [])],
      });
      return { proc, port };
    } catch (error) {
      await stopProcess(proc);
      if (attempt >= attempts || !ADDRESS_IN_USE.test(proc.output())) throw error;
    }
  }
}
