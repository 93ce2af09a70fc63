// Shard assignment: a stable hash of the token, every account in exactly one shard, shared tokens together.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { accountsOfShard, parseShardIndex, shardOfToken } from '../../src/config/shard.js';

const account = (name: string, token: string) => ({ name, token: new Secret(token) });

describe('parseShardIndex', () => {
  it.each([
    ['0', 0],
    ['2', 2],
    [' 7 ', 7],
    ['wolkvox-exporter-2', 2],
    ['wolkvox-exporter-shard-10', 10],
    ['a-0', 0],
  ])('reads %j as %i', (text, index) => {
    expect(parseShardIndex(text)).toBe(index);
  });

  it.each(['', 'wolkvox-exporter', 'pod-', '-1', '1.5', 'two', 'exporter-2a'])('refuses %j with a message', (text) => {
    expect(parseShardIndex(text)).toMatch(/is neither a shard number/);
  });
});

describe('shardOfToken', () => {
  it('is the first 32 bits of the fingerprint modulo the total: fixed, so no upgrade reshuffles a deployment', () => {
    expect(shardOfToken('ffffffff00000000', 3)).toBe(0);
    expect(shardOfToken('0000000a12345678', 4)).toBe(2);
    // The fingerprint of a known token, and so its shard, never changes.
    const token = new Secret('demo-token');
    expect(token.fingerprint()).toBe('7c43ef5ae21d43ce');
    expect(shardOfToken(token.fingerprint(), 3)).toBe(0x7c43ef5a % 3);
    expect(shardOfToken(token.fingerprint(), 3)).toBe(1);
  });

  it('spreads many tokens evenly', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[shardOfToken(new Secret(`token-${i}`).fingerprint(), 3)]!++;
    for (const count of counts) expect(count).toBeGreaterThan(850);
  });
});

describe('accountsOfShard', () => {
  it('gives every account to exactly one shard, and accounts sharing a token to the same one', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 8 }), (tokens, total) => {
        const accounts = tokens.map((t, i) => account(`a${i}`, `token-${t}`));
        const shards = Array.from({ length: total }, (_, index) => accountsOfShard(accounts, { index, total }).map((a) => a.name));
        const owners = new Map<string, number[]>();
        shards.forEach((names, index) => names.forEach((name) => owners.set(name, [...(owners.get(name) ?? []), index])));
        expect([...owners.keys()].sort()).toEqual(accounts.map((a) => a.name).sort());
        for (const indexes of owners.values()) expect(indexes).toHaveLength(1);
        accounts.forEach((a, i) => {
          accounts.forEach((b, j) => {
            if (tokens[i] === tokens[j]) expect(owners.get(a.name)).toEqual(owners.get(b.name));
          });
        });
      }),
    );
  });

  it('keeps config order, and a single shard keeps everything', () => {
    const accounts = [account('b', 'x'), account('a', 'y'), account('c', 'x')];
    expect(accountsOfShard(accounts, { index: 0, total: 1 })).toEqual(accounts);
    const mine = accountsOfShard(accounts, { index: shardOfToken(new Secret('x').fingerprint(), 2), total: 2 });
    expect(mine.map((a) => a.name).slice(0, 2)).toEqual(['b', ...(mine.length === 3 ? ['a'] : ['c'])]);
  });
});
