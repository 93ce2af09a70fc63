// runBackfill on fake timers: the origin's cap (--wolkvox.max-in-flight) holds over every token, beside each token's own limit.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runBackfill } from '../../src/backfill/run.js';
import type { AccountConfig } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { createLogger } from '../../src/log.js';
import { chunksBetween } from '../../src/wolkvox/chunks.js';
import type { WolkvoxClient } from '../../src/wolkvox/client.js';
import { zeroCounts } from '../../src/wolkvox/response.js';
import { windowSpec } from '../support/windows.js';

const DAY = 86_400_000;
const FROM = Date.parse('2026-03-01T05:00:00Z'); // local midnight in Bogotá

function account(name: string, baseUrl: string): AccountConfig {
  return {
    name,
    baseUrl,
    token: new Secret(`token-${name}`),
    timeZone: 'America/Bogota',
    windows: ['1h'].map(windowSpec),
    intervalMs: 300_000,
    maxStalenessMs: 900_000,
    timeoutMs: 10_000,
    maxConcurrency: 2,
    counterStepMs: 3_600_000,
    counterDelayMs: 0,
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(FROM + 30 * DAY);
});
afterEach(() => vi.useRealTimers());

describe('runBackfill and the origin cap', () => {
  /**
   * Runs `onOne` accounts on one origin and 4 on another, each with a day of hourly chunks. An
   * account fetches its chunks in order, one at a time: without a cap, calls in flight to an
   * origin equal its accounts.
   */
  async function run(onOne: number, maxInFlightPerOrigin?: number) {
    const accounts = [
      ...Array.from({ length: onOne }, (_, i) => account(`one${i}`, 'https://one.example')),
      ...Array.from({ length: 4 }, (_, i) => account(`two${i}`, 'https://two.example:8443')),
    ];
    const inFlight = new Map<string, number>();
    const max = new Map<string, number>();
    const clientFor = (acct: AccountConfig): WolkvoxClient => ({
      async fetchChat15() {
        const origin = new URL(acct.baseUrl).origin;
        inFlight.set(origin, (inFlight.get(origin) ?? 0) + 1);
        max.set(origin, Math.max(max.get(origin) ?? 0, inFlight.get(origin)!));
        await new Promise((resolve) => setTimeout(resolve, 500));
        inFlight.set(origin, inFlight.get(origin)! - 1);
        return { kind: 'success', counts: zeroCounts() };
      },
    });
    const done = runBackfill({
      plans: accounts.map((acct) => ({ account: acct, chunks: chunksBetween(FROM, FROM + DAY, 3_600_000, acct.timeZone) })),
      clientFor,
      clock: { now: () => Date.now() },
      logger: createLogger({ level: 'error', format: 'json' }, { write: () => undefined }),
      onChunk: () => undefined,
      ...(maxInFlightPerOrigin !== undefined ? { maxInFlightPerOrigin } : {}),
    });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    const result = await done;
    return { result, max };
  }

  it('never has more calls in flight to one origin than the cap, and still fetches every chunk', async () => {
    const { result, max } = await run(6, 3);
    expect(Object.fromEntries(max)).toEqual({ 'https://one.example': 3, 'https://two.example:8443': 3 });
    expect(result.problems).toEqual([]);
    expect(result.series.map((series) => series.chunks.length)).toEqual(Array.from({ length: 10 }, () => 24));
  });

  it('uses the default cap, 16, when none is given', async () => {
    const { result, max } = await run(20);
    expect(Object.fromEntries(max)).toEqual({ 'https://one.example': 16, 'https://two.example:8443': 4 });
    expect(result.series.every((series) => series.chunks.length === 24)).toBe(true);
  });
});
