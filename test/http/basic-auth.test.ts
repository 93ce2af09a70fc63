// Tests the basic auth verifier: header parsing, the caches of good and failed logins, the decoy hash, and the one-at-a-time bcrypt queue.
import { describe, expect, it } from 'vitest';
import {
  AUTH_CACHE_SIZE,
  FAILURE_CACHE_SIZE,
  FAILURE_CACHE_TTL_MS,
  createBasicAuthVerifier,
  parseBasicAuth,
  type BasicAuthOptions,
} from '../../src/http/basic-auth.js';
import { BCRYPT_QUEUE_SIZE } from '../../src/http/bcrypt-queue.js';
import { countingCompare, heldCompare } from './bcrypt-fakes.js';
import { USERS, bcryptWithPrefix } from './web-helpers.js';

/** The three users plus dave, whose cost-5 hash is the costliest: the decoy for unknown users. */
const DAVE_HASH = bcryptWithPrefix('dave', '$2b$', 5);
const USER_MAP = new Map([...Object.entries(USERS).map(([user, { hash }]) => [user, hash] as const), ['dave', DAVE_HASH]]);

function verifierWith(options: BasicAuthOptions) {
  return createBasicAuthVerifier(USER_MAP, options);
}

/** A compare that answers at once, from the real bcrypt result of the few passwords the tests use. */
function instantCompare() {
  const counted = countingCompare();
  counted.mockImplementation(async (password, hash) => {
    const entry = [...Object.values(USERS), { password: 'dave', hash: DAVE_HASH }].find((user) => user.hash === hash);
    return entry?.password === password;
  });
  return counted;
}

describe('parseBasicAuth', () => {
  it.each([
    ['Basic YWxpY2U6YWxpY2Utc2VjcmV0', { user: 'alice', password: 'alice-secret' }],
    ['basic YWxpY2U6YWxpY2Utc2VjcmV0', { user: 'alice', password: 'alice-secret' }],
    ['Basic Ym9iOmE6Yg==', { user: 'bob', password: 'a:b' }],
    ['Basic OnBhc3M=', { user: '', password: 'pass' }],
    ['Basic YWxpY2U=', undefined], // no colon
    ['Basic YWxpY2U6/w==', undefined], // not UTF-8
    ['Basic YWxp Y2U6', undefined],
    ['Bearer YWxpY2U6YWxpY2Utc2VjcmV0', undefined],
    ['Basic', undefined],
  ])('parses %j', (header, expected) => {
    expect(parseBasicAuth(header)).toEqual(expected);
  });
});

describe('the caches', () => {
  it('runs bcrypt once for a login that then repeats, and once per user', async () => {
    const compare = countingCompare();
    const { verify } = verifierWith({ compare });
    for (let i = 0; i < 3; i += 1) expect(await verify({ user: 'alice', password: 'alice-secret' })).toBe('allowed');
    expect(compare).toHaveBeenCalledTimes(1);
    expect(await verify({ user: 'bob', password: 'bob:with:colons' })).toBe('allowed');
    expect(compare).toHaveBeenCalledTimes(2);
  });

  it('runs bcrypt for an unknown user too, against the costliest configured hash', async () => {
    const compare = countingCompare();
    const { verify } = verifierWith({ compare });
    expect(await verify({ user: 'mallory', password: 'alice-secret' })).toBe('denied');
    expect(compare).toHaveBeenCalledTimes(1);
    expect(compare.mock.calls[0]?.[1]).toBe(DAVE_HASH);
  });

  it('does not let a cached login through for another user or password', async () => {
    const { verify } = verifierWith({ compare: countingCompare() });
    expect(await verify({ user: 'alice', password: 'alice-secret' })).toBe('allowed');
    expect(await verify({ user: 'carol', password: 'alice-secret' })).toBe('denied');
    expect(await verify({ user: 'alice', password: 'alice-secret ' })).toBe('denied');
  });

  it('a changed hash misses both caches', async () => {
    const compare = countingCompare();
    const before = createBasicAuthVerifier(new Map([['alice', USERS.alice.hash]]), { compare });
    expect(await before.verify({ user: 'alice', password: 'alice-secret' })).toBe('allowed');
    expect(await before.verify({ user: 'alice', password: 'new-secret' })).toBe('denied');
    expect(compare).toHaveBeenCalledTimes(2);
    // Same process, same cache keys, but the user's hash is now that of the new password.
    const after = createBasicAuthVerifier(new Map([['alice', bcryptWithPrefix('new-secret', '$2b$')]]), { compare });
    expect(await after.verify({ user: 'alice', password: 'new-secret' })).toBe('allowed');
    expect(await after.verify({ user: 'alice', password: 'alice-secret' })).toBe('denied');
    expect(compare).toHaveBeenCalledTimes(4);
  });

  it('remembers a failed login for the TTL, then checks it again', async () => {
    let now = 5_000;
    const compare = instantCompare();
    const { verify } = verifierWith({ compare, now: () => now });
    const guess = { user: 'alice', password: 'guess' };
    expect(await verify(guess)).toBe('denied');
    expect(await verify(guess)).toBe('denied');
    expect(compare).toHaveBeenCalledTimes(1);
    now += FAILURE_CACHE_TTL_MS - 1;
    expect(await verify(guess)).toBe('denied');
    expect(compare).toHaveBeenCalledTimes(1);
    now += 1;
    expect(await verify(guess)).toBe('denied');
    expect(compare).toHaveBeenCalledTimes(2);
  });

  it('remembers failed logins of unknown users the same way', async () => {
    const compare = instantCompare();
    const { verify } = verifierWith({ compare, now: () => 0 });
    for (let i = 0; i < 3; i += 1) expect(await verify({ user: 'mallory', password: 'x' })).toBe('denied');
    expect(compare).toHaveBeenCalledTimes(1);
  });

  it(`keeps at most ${FAILURE_CACHE_SIZE} failed logins, dropping the oldest`, async () => {
    const compare = instantCompare();
    const { verify } = verifierWith({ compare, now: () => 0 });
    for (let i = 0; i <= FAILURE_CACHE_SIZE; i += 1) await verify({ user: 'alice', password: `guess-${i}` });
    expect(compare).toHaveBeenCalledTimes(FAILURE_CACHE_SIZE + 1);
    await verify({ user: 'alice', password: `guess-${FAILURE_CACHE_SIZE}` }); // newest: still cached
    expect(compare).toHaveBeenCalledTimes(FAILURE_CACHE_SIZE + 1);
    await verify({ user: 'alice', password: 'guess-0' }); // oldest: dropped
    expect(compare).toHaveBeenCalledTimes(FAILURE_CACHE_SIZE + 2);
  });

  it('never lets failed logins evict a good one', async () => {
    const compare = instantCompare();
    const { verify } = verifierWith({ compare, now: () => 0 });
    expect(await verify({ user: 'carol', password: 'carol-ñandú' })).toBe('allowed');
    for (let i = 0; i < FAILURE_CACHE_SIZE + AUTH_CACHE_SIZE + 1; i += 1) {
      expect(await verify({ user: i % 2 === 0 ? 'carol' : `user-${i}`, password: `x-${i}` })).toBe('denied');
    }
    const calls = compare.mock.calls.length;
    expect(await verify({ user: 'carol', password: 'carol-ñandú' })).toBe('allowed');
    expect(compare).toHaveBeenCalledTimes(calls);
  });

  it(`keeps at most ${AUTH_CACHE_SIZE} good logins, least recently used out first`, async () => {
    // Many users, so that the success cache itself overflows.
    const users = new Map(Array.from({ length: AUTH_CACHE_SIZE + 1 }, (_, i) => [`user-${i}`, USERS.alice.hash] as const));
    const compare = allowingCompare('alice-secret');
    const { verify } = createBasicAuthVerifier(users, { compare });
    await verify({ user: 'user-0', password: 'alice-secret' });
    for (let i = 1; i <= AUTH_CACHE_SIZE; i += 1) {
      await verify({ user: `user-${i}`, password: 'alice-secret' });
      if (i === AUTH_CACHE_SIZE - 1) await verify({ user: 'user-0', password: 'alice-secret' }); // user-0 used again: user-1 is now the oldest
    }
    expect(compare).toHaveBeenCalledTimes(AUTH_CACHE_SIZE + 1);
    await verify({ user: 'user-0', password: 'alice-secret' });
    expect(compare).toHaveBeenCalledTimes(AUTH_CACHE_SIZE + 1);
    await verify({ user: 'user-1', password: 'alice-secret' });
    expect(compare).toHaveBeenCalledTimes(AUTH_CACHE_SIZE + 2);
  });
});

/** A counting compare that says yes to one password, whatever the hash. */
function allowingCompare(password: string) {
  const compare = countingCompare();
  compare.mockImplementation(async (given) => given === password);
  return compare;
}

describe('the bcrypt queue', () => {
  it('runs one compare at a time', async () => {
    const held = heldCompare();
    const { verify } = verifierWith({ compare: held.compare, maxQueued: 3 });
    const results = [0, 1, 2, 3].map((i) => verify({ user: 'alice', password: `guess-${i}` }));
    for (let i = 0; i < 4; i += 1) {
      const call = await held.call(i);
      // Nothing after the running compare has started.
      expect(held.calls).toHaveLength(i + 1);
      call.settle(false);
    }
    expect(await Promise.all(results)).toEqual(['denied', 'denied', 'denied', 'denied']);
    expect(held.maxActive()).toBe(1);
  });

  it(`answers busy without calling bcrypt once ${BCRYPT_QUEUE_SIZE} compares wait behind the running one`, async () => {
    const held = heldCompare();
    const { verify } = verifierWith({ compare: held.compare });
    const accepted = Array.from({ length: BCRYPT_QUEUE_SIZE + 1 }, (_, i) => verify({ user: 'alice', password: `guess-${i}` }));
    const first = await held.call(0);
    expect(await verify({ user: 'alice', password: 'one too many' })).toBe('busy');
    expect(await verify({ user: 'mallory', password: 'another' })).toBe('busy');
    expect(held.calls).toHaveLength(1);

    first.settle(false);
    (await held.call(1)).settle(false);
    // Two places are free again: the next guess queues instead of being refused.
    const later = verify({ user: 'alice', password: 'alice-secret' });
    for (let i = 2; i <= BCRYPT_QUEUE_SIZE + 1; i += 1) {
      const call = await held.call(i);
      call.settle(call.password === 'alice-secret');
    }
    expect(await Promise.all(accepted)).toEqual(Array(BCRYPT_QUEUE_SIZE + 1).fill('denied'));
    expect(await later).toBe('allowed');
    expect(held.calls.map((call) => call.password)).not.toContain('one too many');
    expect(held.maxActive()).toBe(1);
  });

  it('shares one compare between requests with the same credentials, even with the queue full', async () => {
    const held = heldCompare();
    const { verify } = verifierWith({ compare: held.compare, maxQueued: 0 });
    const first = verify({ user: 'alice', password: 'alice-secret' });
    const call = await held.call(0);
    const second = verify({ user: 'alice', password: 'alice-secret' });
    expect(await verify({ user: 'alice', password: 'other' })).toBe('busy');
    call.settle(true);
    expect([await first, await second]).toEqual(['allowed', 'allowed']);
    expect(held.calls).toHaveLength(1);
  });

  it('moves on after a compare that fails, and caches nothing for it', async () => {
    const compare = countingCompare();
    compare.mockRejectedValueOnce(new Error('bcrypt worker exited with code 1'));
    const { verify } = verifierWith({ compare, now: () => 0 });
    await expect(verify({ user: 'alice', password: 'alice-secret' })).rejects.toThrow('bcrypt worker exited with code 1');
    expect(await verify({ user: 'alice', password: 'alice-secret' })).toBe('allowed');
    expect(compare).toHaveBeenCalledTimes(2);
  });
});
