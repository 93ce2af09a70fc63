// The semaphores: at most `capacity` calls in flight, slots handed over in FIFO order, release idempotent; one per token, one per origin.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccountConfig } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { createLimiter, createOriginLimiters, createTokenLimiters, originOf, type Limiter } from '../../src/poller/limiter.js';
import { accountConfig } from '../support/accounts.js';

/** Lets every settled promise run its callbacks. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Starts an acquire and records when it is granted. */
function contender(limiter: Limiter, name: string, granted: string[]) {
  const state: { release?: () => void } = {};
  void limiter.acquire().then((release) => {
    granted.push(name);
    state.release = release;
  });
  return {
    get held() {
      return state.release !== undefined;
    },
    release() {
      if (!state.release) throw new Error(`${name} does not hold a slot`);
      state.release();
    },
  };
}

describe('createLimiter', () => {
  it('grants up to capacity at once and makes the next caller wait', async () => {
    const limiter = createLimiter(2);
    const granted: string[] = [];
    const a = contender(limiter, 'a', granted);
    const b = contender(limiter, 'b', granted);
    const c = contender(limiter, 'c', granted);
    await settle();
    expect(granted).toEqual(['a', 'b']);
    expect([a.held, b.held, c.held]).toEqual([true, true, false]);
    expect(limiter.inFlight()).toBe(2);
    expect(limiter.capacity).toBe(2);
    b.release();
    await settle();
    expect(granted).toEqual(['a', 'b', 'c']);
    expect(limiter.inFlight()).toBe(2);
    a.release();
    c.release();
    await settle();
    expect(limiter.inFlight()).toBe(0);
  });

  it('hands slots to waiters in the order they asked (FIFO)', async () => {
    const limiter = createLimiter(1);
    const granted: string[] = [];
    const holders = ['a', 'b', 'c', 'd', 'e'].map((name) => contender(limiter, name, granted));
    for (let i = 0; i < holders.length; i++) {
      await settle();
      expect(granted).toEqual(['a', 'b', 'c', 'd', 'e'].slice(0, i + 1));
      expect(limiter.inFlight()).toBe(1);
      holders[i]?.release();
    }
    await settle();
    expect(limiter.inFlight()).toBe(0);
  });

  it('does not let a newcomer overtake a waiter when a slot frees', async () => {
    const limiter = createLimiter(1);
    const granted: string[] = [];
    const first = contender(limiter, 'first', granted);
    contender(limiter, 'waiter', granted);
    await settle();
    first.release();
    contender(limiter, 'newcomer', granted); // asks in the same tick as the release
    await settle();
    expect(granted).toEqual(['first', 'waiter']);
    expect(limiter.inFlight()).toBe(1);
  });

  it('ignores a second release of the same slot', async () => {
    const limiter = createLimiter(1);
    const granted: string[] = [];
    const a = contender(limiter, 'a', granted);
    const b = contender(limiter, 'b', granted);
    const c = contender(limiter, 'c', granted);
    await settle();
    a.release();
    a.release(); // must not free b's slot for c
    await settle();
    expect(granted).toEqual(['a', 'b']);
    expect(limiter.inFlight()).toBe(1);
    b.release();
    b.release();
    await settle();
    expect(granted).toEqual(['a', 'b', 'c']);
    c.release();
    c.release();
    c.release();
    await settle();
    expect(limiter.inFlight()).toBe(0);
    // And the count never goes negative: capacity is still exactly 1.
    contender(limiter, 'd', granted);
    contender(limiter, 'e', granted);
    await settle();
    expect(granted).toEqual(['a', 'b', 'c', 'd']);
  });

  it('never has more than capacity active, and matches a FIFO model, for any sequence of acquires and releases', async () => {
    type Command = { kind: 'acquire' } | { kind: 'release'; pick: number; twice: boolean };
    const command: fc.Arbitrary<Command> = fc.oneof(
      fc.constant<Command>({ kind: 'acquire' }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), twice: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(command, { maxLength: 30 }), async (capacity, commands) => {
        const limiter = createLimiter(capacity);
        const granted: string[] = [];
        const contenders: Array<ReturnType<typeof contender>> = [];
        // The model: who holds a slot, who waits, in order.
        let holding: number[] = [];
        const waiting: number[] = [];
        const released = new Set<number>();
        for (const step of commands) {
          if (step.kind === 'acquire') {
            const id = contenders.length;
            contenders.push(contender(limiter, String(id), granted));
            if (holding.length < capacity) holding.push(id);
            else waiting.push(id);
          } else {
            if (holding.length === 0) continue;
            const id = holding[step.pick % holding.length] as number;
            contenders[id]?.release();
            if (step.twice) contenders[id]?.release();
            released.add(id);
            holding = holding.filter((h) => h !== id);
            const next = waiting.shift();
            if (next !== undefined) holding.push(next);
          }
          await settle();
          const active = contenders.map((c, id) => (c.held && !released.has(id) ? id : -1)).filter((id) => id >= 0);
          expect(active.length).toBeLessThanOrEqual(capacity);
          expect(active.sort((x, y) => x - y)).toEqual([...holding].sort((x, y) => x - y));
          expect(limiter.inFlight()).toBe(holding.length);
          // Grants happen in the order of asking.
          expect(granted.map(Number)).toEqual([...granted.map(Number)].sort((x, y) => x - y));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('setCapacity (a reload changed the token limit)', () => {
  it('a cut keeps calls in flight counted: no one gets in until fewer than the new capacity hold a slot', async () => {
    const limiter = createLimiter(2);
    const granted: string[] = [];
    const a = contender(limiter, 'a', granted);
    const b = contender(limiter, 'b', granted);
    await settle();
    limiter.setCapacity(1);
    expect(limiter.capacity).toBe(1);
    const c = contender(limiter, 'c', granted);
    await settle();
    expect(granted).toEqual(['a', 'b']);
    a.release();
    await settle();
    // b still holds the one slot there is now.
    expect(granted).toEqual(['a', 'b']);
    expect(limiter.inFlight()).toBe(1);
    b.release();
    await settle();
    expect(granted).toEqual(['a', 'b', 'c']);
    expect(limiter.inFlight()).toBe(1);
    c.release();
    await settle();
    expect(limiter.inFlight()).toBe(0);
  });

  it('a raise lets waiters in at once, in order', async () => {
    const limiter = createLimiter(1);
    const granted: string[] = [];
    const holders = ['a', 'b', 'c', 'd'].map((name) => contender(limiter, name, granted));
    await settle();
    expect(granted).toEqual(['a']);
    limiter.setCapacity(3);
    await settle();
    expect(granted).toEqual(['a', 'b', 'c']);
    expect(limiter.inFlight()).toBe(3);
    for (const holder of holders.slice(0, 3)) holder.release();
    await settle();
    expect(granted).toEqual(['a', 'b', 'c', 'd']);
    expect(limiter.inFlight()).toBe(1);
  });

  it('matches a FIFO model under any mix of acquires, releases and capacity changes', async () => {
    type Command = { kind: 'acquire' } | { kind: 'release'; pick: number } | { kind: 'capacity'; to: number };
    const command: fc.Arbitrary<Command> = fc.oneof(
      fc.constant<Command>({ kind: 'acquire' }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('capacity' as const), to: fc.integer({ min: 1, max: 3 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(command, { maxLength: 30 }), async (initial, commands) => {
        const limiter = createLimiter(initial);
        const granted: string[] = [];
        const contenders: Array<ReturnType<typeof contender>> = [];
        let capacity = initial;
        let holding: number[] = [];
        const waiting: number[] = [];
        /** Who was let in, in order: only ever while fewer than `capacity` hold a slot. */
        const admitted: number[] = [];
        const admit = () => {
          while (holding.length < capacity && waiting.length > 0) {
            const id = waiting.shift() as number;
            holding.push(id);
            admitted.push(id);
          }
        };
        for (const step of commands) {
          if (step.kind === 'acquire') {
            const id = contenders.length;
            contenders.push(contender(limiter, String(id), granted));
            waiting.push(id);
          } else if (step.kind === 'release') {
            if (holding.length === 0) continue;
            const id = holding[step.pick % holding.length] as number;
            contenders[id]?.release();
            holding = holding.filter((h) => h !== id);
          } else {
            limiter.setCapacity(step.to);
            capacity = step.to;
          }
          admit();
          await settle();
          expect(limiter.inFlight()).toBe(holding.length);
          expect(granted.map(Number)).toEqual(admitted);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('originOf', () => {
  it.each([
    ['https://wv0032.wolkvox.com', 'https://wv0032.wolkvox.com'],
    ['https://wv0032.wolkvox.com:443', 'https://wv0032.wolkvox.com'],
    ['https://WV0032.Wolkvox.com/api/', 'https://wv0032.wolkvox.com'],
    ['https://proxy.example:8443/wolkvox', 'https://proxy.example:8443'],
    ['http://proxy.example:8443', 'http://proxy.example:8443'],
    ['http://127.0.0.1:9000', 'http://127.0.0.1:9000'],
    ['http://[::1]:9000/x', 'http://[::1]:9000'],
  ])('%s → %s', (baseUrl, origin) => {
    expect(originOf(baseUrl)).toBe(origin);
  });
});

describe('createTokenLimiters', () => {
  const shared = new Secret('tok-shared');
  const on = (name: string, maxConcurrency: 1 | 2, token = shared) => accountConfig(name, { token, maxConcurrency });

  it('shares one limiter per token, whose capacity is the smallest max_concurrency of the accounts using it', () => {
    const limiters = createTokenLimiters();
    const accounts = [on('a', 2), on('b', 1), on('c', 2, new Secret('tok-own'))];
    const a = limiters.limiterFor(accounts[0]!, accounts);
    expect(limiters.limiterFor(accounts[1]!, accounts)).toBe(a);
    expect(a.capacity).toBe(1);
    expect(limiters.limiterFor(accounts[2]!, accounts).capacity).toBe(2);
    expect(limiters.size()).toBe(2);
  });

  it('takes the capacity from each new list of accounts (a reload), keeping the limiter and its calls', async () => {
    const limiters = createTokenLimiters();
    const before = [on('a', 2), on('b', 2)];
    const limiter = limiters.limiterFor(before[0]!, before);
    const granted: string[] = [];
    contender(limiter, '1', granted);
    await settle();
    expect(limiter.capacity).toBe(2);
    const after = [on('a', 2), on('b', 1)];
    expect(limiters.limiterFor(after[0]!, after)).toBe(limiter);
    expect(limiter.capacity).toBe(1);
    expect(limiter.inFlight()).toBe(1);
    // And back: the list in force decides, not the first one seen.
    expect(limiters.limiterFor(before[0]!, before).capacity).toBe(2);
  });

  it('caps an account missing from the list by its own max_concurrency', () => {
    const limiters = createTokenLimiters();
    expect(limiters.limiterFor(on('alone', 1, new Secret('tok-alone')), [on('a', 2)]).capacity).toBe(1);
  });
});

describe('createOriginLimiters', () => {
  const on = (baseUrl: string) => ({ baseUrl });

  it('shares one limiter per origin, whatever the path or default port, with the cap as capacity', () => {
    const origins = createOriginLimiters(4);
    const a = origins.limiterFor(on('https://a.example'));
    expect(origins.limiterFor(on('https://a.example:443/wolkvox'))).toBe(a);
    expect(origins.limiterFor(on('https://a.example:8443'))).not.toBe(a);
    expect(origins.limiterFor(on('http://a.example'))).not.toBe(a);
    expect(a.capacity).toBe(4);
    expect(origins.size()).toBe(3);
  });

  it('counts in flight per origin', async () => {
    const origins = createOriginLimiters(2);
    const granted: string[] = [];
    contender(origins.limiterFor(on('https://a.example')), 'a1', granted);
    contender(origins.limiterFor(on('https://a.example/x')), 'a2', granted);
    contender(origins.limiterFor(on('https://a.example')), 'a3', granted);
    contender(origins.limiterFor(on('https://b.example')), 'b1', granted);
    await settle();
    expect(granted).toEqual(['a1', 'a2', 'b1']);
    expect(origins.inFlight('https://a.example')).toBe(2);
    expect(origins.inFlight('https://a.example:443/y')).toBe(2);
    expect(origins.inFlight('https://b.example')).toBe(1);
    expect(origins.inFlight('https://c.example')).toBe(0);
  });

  it('changes the cap of every origin, now and for origins seen later, keeping calls in flight counted', async () => {
    const origins = createOriginLimiters(2);
    const granted: string[] = [];
    const a = origins.limiterFor(on('https://a.example'));
    const holders = ['1', '2', '3'].map((name) => contender(a, name, granted));
    await settle();
    origins.setCapacity(1);
    expect(origins.capacity).toBe(1);
    expect(a.capacity).toBe(1);
    expect(origins.limiterFor(on('https://b.example')).capacity).toBe(1);
    holders[0]?.release();
    await settle();
    // 2 still holds the one slot there is now.
    expect(granted).toEqual(['1', '2']);
    origins.setCapacity(3);
    await settle();
    expect(granted).toEqual(['1', '2', '3']);
  });

  it('drops the limiters of origins no account uses, unless calls are in flight to them', async () => {
    const origins = createOriginLimiters(2);
    const granted: string[] = [];
    origins.limiterFor(on('https://a.example'));
    const busy = contender(origins.limiterFor(on('https://b.example')), 'b', granted);
    origins.limiterFor(on('https://c.example'));
    await settle();
    origins.sync([{ baseUrl: 'https://c.example:443/path' }] as unknown as AccountConfig[]);
    // a is gone; b stays while its call runs; c is used.
    expect(origins.size()).toBe(2);
    expect(origins.inFlight('https://b.example')).toBe(1);
    busy.release();
    await settle();
    origins.sync([{ baseUrl: 'https://c.example' }] as unknown as AccountConfig[]);
    expect(origins.size()).toBe(1);
  });
});
