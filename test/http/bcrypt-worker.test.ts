// Tests that bcrypt runs in a worker thread: right answers, none on the main thread, an event loop that keeps turning, and a thread that never holds the process.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compare, compareSync } from 'bcryptjs';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { createBasicAuthVerifier } from '../../src/http/basic-auth.js';
import { BCRYPT_NICE, createBcryptWorker, type BcryptWorker } from '../../src/http/bcrypt-worker.js';
import { USERS } from './web-helpers.js';

// Spies on the main thread's bcryptjs: the worker loads its own copy, which these never see.
vi.mock('bcryptjs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('bcryptjs')>();
  return { ...actual, compare: vi.fn(actual.compare), compareSync: vi.fn(actual.compareSync) };
});

/** Cost 12 (about 0.4 s here): long enough for the main thread to turn many times meanwhile. */
const SLOW_HASH = '$2b$12$h4XgGrQv.IY4TMFH//0DVO.0BdqC1VUpZoLcVQdZ/.glPlE9dAjPq';
const SLOW_PASSWORD = 'tick-tock';
const QUICK_HASH = '$2b$04$yGt1rA1myeWeOpwudvxFPuJlJ/lDWleu/fvwmD5Zv8l9V5iW0wUAS'; // "x"

const workers: BcryptWorker[] = [];

function worker(): BcryptWorker {
  const made = createBcryptWorker();
  workers.push(made);
  return made;
}

beforeEach(() => {
  vi.mocked(compare).mockClear();
  vi.mocked(compareSync).mockClear();
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((made) => made.close()));
});

describe('createBcryptWorker', () => {
  it.each(Object.entries(USERS))('matches %s, whose hash starts %s, and refuses a wrong password', async (_user, { password, hash }) => {
    const { compare: inWorker } = worker();
    expect(await inWorker(password, hash)).toBe(true);
    expect(await inWorker(`${password}!`, hash)).toBe(false);
  });

  it('answers false for a malformed hash instead of failing', async () => {
    expect(await worker().compare('x', '$2b$04$short')).toBe(false);
  });

  it('runs no bcrypt on the main thread: neither directly nor through the verifier', async () => {
    expect(await worker().compare('x', QUICK_HASH)).toBe(true);
    const verifier = createBasicAuthVerifier(new Map([['alice', USERS.alice.hash]]));
    try {
      expect(await verifier.verify({ user: 'alice', password: USERS.alice.password })).toBe('allowed');
      expect(await verifier.verify({ user: 'alice', password: 'wrong' })).toBe('denied');
    } finally {
      await verifier.close();
    }
    expect(compare).not.toHaveBeenCalled();
    expect(compareSync).not.toHaveBeenCalled();
  });

  it('keeps the event loop turning while a compare runs', async () => {
    // Warm the thread up first, so the count covers the compare, not the thread's start.
    const { compare: inWorker } = worker();
    await inWorker('x', QUICK_HASH);
    let turns = 0;
    let done = false;
    const spin = (): void => {
      turns += 1;
      if (!done) setImmediate(spin);
    };
    const matching = inWorker(SLOW_PASSWORD, SLOW_HASH).finally(() => {
      done = true;
    });
    spin();
    expect(await matching).toBe(true);
    // On the main thread bcryptjs yields once per 100 ms slice: a handful of turns. In a worker the
    // loop spins freely, tens of thousands of turns on an idle machine; 1,000 leaves room for load.
    expect(turns).toBeGreaterThan(1_000);
  });

  it('runs at a lower CPU priority than the event loop (a nice value of its own, on Linux)', async () => {
    /** Nice value of every thread of this process: field 19 of /proc/self/task/TID/stat. */
    const niceValues = (): number[] =>
      readdirSync('/proc/self/task').map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      });
    // Never above the process's own: a suite run under `nice -n 15` keeps 15.
    const expected = Math.max(getPriority(), BCRYPT_NICE);
    const before = niceValues().filter((nice) => nice === expected).length;
    // The thread lowers its priority before it takes its first message: once a compare answered, it is done.
    await worker().compare('x', QUICK_HASH);
    expect(niceValues().filter((nice) => nice === expected)).toHaveLength(before + 1);
  });

  it('rejects what is pending on close, and starts a fresh thread for the next compare', async () => {
    const made = worker();
    const pending = made.compare(SLOW_PASSWORD, SLOW_HASH);
    await made.close();
    await expect(pending).rejects.toThrow(/bcrypt worker exited/);
    expect(await made.compare('x', QUICK_HASH)).toBe(true);
  });

  it('never keeps the process alive, yet lets a pending compare finish', async () => {
    const source = pathToFileURL(fileURLToPath(new URL('../../src/http/bcrypt-worker.ts', import.meta.url))).href;
    // No close() and no await: the process must print the answer and then exit by itself.
    const script = `
      const { createBcryptWorker } = await import(${JSON.stringify(source)});
      createBcryptWorker().compare('x', ${JSON.stringify(QUICK_HASH)}).then((matches) => process.stdout.write(String(matches)));
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // If the child hangs (a thread keeping it alive), the test times out: do not leave it behind.
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).toBe('');
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'true' });
  });
});
