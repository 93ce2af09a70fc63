// Child processes for end-to-end tests: free loopback ports, start and stop with captured output, wait with a deadline.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A loopback port that was free a moment ago (the OS picked it for a listener we closed). */
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

export type RunningProcess = {
  readonly name: string;
  readonly child: ChildProcess;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /** Set once the process has exited. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
};

export function startProcess(name: string, command: string, args: string[], cwd: string): RunningProcess {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; describe?: () => string; watch?: RunningProcess[] },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
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
    if (Date.now() >= deadline) {
      const state = options.describe?.() ?? '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}${state ? `\n${state}` : ''}`);
    }
    await sleep(options.intervalMs ?? 250);
  }
}
