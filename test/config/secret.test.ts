// Secret: every way of turning it into text but reveal() prints [REDACTED].
import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';

const SENTINEL = 'tok-SENTINEL-9f2';

describe('Secret', () => {
  const secret = new Secret(SENTINEL);

  it('reveals the value only through reveal()', () => {
    expect(secret.reveal()).toBe(SENTINEL);
  });

  it.each<[string, () => string]>([
    ['String()', () => String(secret)],
    ['toString()', () => secret.toString()],
    ['a template literal', () => `token=${secret}`],
    ['concatenation', () => 'token=' + secret],
    ['JSON.stringify', () => JSON.stringify(secret)],
    ['JSON.stringify of an object holding it', () => JSON.stringify({ account: 'co', token: secret })],
    ['JSON.stringify of an object spread', () => JSON.stringify({ ...{ account: 'co', token: secret }, extra: 1 })],
    ['JSON.stringify of an array', () => JSON.stringify([secret, { nested: { token: secret } }])],
    ['JSON.stringify with indentation', () => JSON.stringify({ token: secret }, null, 2)],
    ['util.inspect', () => inspect(secret)],
    ['util.inspect of a nested object', () => inspect({ a: { b: { token: secret } } }, { depth: 10 })],
    ['util.inspect with showHidden', () => inspect(secret, { showHidden: true, depth: 10 })],
    ['util.format %s', () => format('%s', secret)],
    ['util.format %o', () => format('%o', secret)],
    ['util.format %O', () => format('%O', { token: secret })],
    ['util.format %j', () => format('%j', { token: secret })],
    ['an Error message', () => new Error(`bad ${secret}`).message],
    ['Object.keys', () => Object.keys(secret).join(',')],
    ['Object.entries', () => JSON.stringify(Object.entries(secret))],
    ['structuredClone then JSON', () => JSON.stringify(structuredClone({ ...secret }))],
  ])('%s does not reveal it', (_name, render) => {
    const text = render();
    expect(text).not.toContain('SENTINEL');
    expect(text).not.toContain('9f2');
  });

  it.each<[string, () => string, string]>([
    ['String()', () => String(secret), '[REDACTED]'],
    ['a template literal', () => `${secret}`, '[REDACTED]'],
    ['JSON.stringify', () => JSON.stringify(secret), '"[REDACTED]"'],
    ['JSON.stringify of an object', () => JSON.stringify({ token: secret }), '{"token":"[REDACTED]"}'],
    ['util.inspect', () => inspect(secret), '[REDACTED]'],
    ['util.inspect of an object', () => inspect({ token: secret }), "{ token: [REDACTED] }"],
  ])('%s prints %s', (_name, render, expected) => {
    expect(render()).toBe(expected);
  });

  it('has no enumerable property that holds the value', () => {
    expect(Object.keys(secret)).toEqual([]);
    expect(Object.getOwnPropertyNames(secret)).toEqual([]);
    expect({ ...secret }).toEqual({});
  });

  it('compares by value without revealing', () => {
    expect(secret.equals(new Secret(SENTINEL))).toBe(true);
    expect(secret.equals(new Secret(`${SENTINEL} `))).toBe(false);
    expect(new Secret('').equals(new Secret(''))).toBe(true);
  });
});
