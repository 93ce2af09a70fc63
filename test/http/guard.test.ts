// Tests the request guard in front of the exporter's routes: rate limit, basic auth answers (401, 503 when bcrypt is busy), and the caches seen from HTTP.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_CACHE_SIZE, FAILURE_CACHE_TTL_MS } from '../../src/http/basic-auth.js';
import { BUSY_RETRY_AFTER_S, WWW_AUTHENTICATE, webConfigMiddleware } from '../../src/http/guard.js';
import type { WebConfig } from '../../src/http/web-config.js';
import { countingCompare, heldCompare } from './bcrypt-fakes.js';
import { appWith, bcryptWithPrefix, closeAll, configIn, usersYaml } from './web-helpers.js';

let dir: string;

const configFrom = (yaml: string): Promise<WebConfig> => configIn(dir, yaml);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wolkvox-guard-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(closeAll);

/** Users alice, bob, carol (cost 4) and dave (cost 5, so the decoy). */
function authConfig(): Promise<WebConfig> {
  return configFrom(`basic_auth_users:\n${usersYaml()}\n  dave: "${bcryptWithPrefix('dave', '$2b$', 5)}"\n`);
}

describe('basic auth', () => {
  it('runs bcrypt once for a login that then repeats, and serves the repeats from the cache', async () => {
    const compare = countingCompare();
    const app = appWith(await authConfig(), { compare });
    for (let i = 0; i < 3; i += 1) {
      await supertest(app).get('/metrics').auth('alice', 'alice-secret').expect(200);
    }
    expect(compare).toHaveBeenCalledTimes(1);
    await supertest(app).get('/metrics').auth('bob', 'bob:with:colons').expect(200);
    expect(compare).toHaveBeenCalledTimes(2);
  });

  it('a repeated wrong password within the TTL does not reach bcrypt again; after it, it does', async () => {
    let now = 0;
    const compare = countingCompare();
    const app = appWith(await authConfig(), { compare, now: () => now });
    for (let i = 0; i < 3; i += 1) {
      const reply = await supertest(app).get('/metrics').auth('alice', 'guess').expect(401);
      expect(reply.headers['www-authenticate']).toBe('Basic');
    }
    expect(compare).toHaveBeenCalledTimes(1);
    now += FAILURE_CACHE_TTL_MS;
    await supertest(app).get('/metrics').auth('alice', 'guess').expect(401);
    expect(compare).toHaveBeenCalledTimes(2);
  });

  it('every new guess still pays a bcrypt round', async () => {
    const compare = countingCompare();
    const app = appWith(await authConfig(), { compare, now: () => 0 });
    for (let i = 0; i < 3; i += 1) {
      await supertest(app).get('/metrics').auth('alice', `guess-${i}`).expect(401);
    }
    expect(compare).toHaveBeenCalledTimes(3);
  });

  it('runs bcrypt for an unknown user too, against the costliest configured hash', async () => {
    const compare = countingCompare();
    const app = appWith(await authConfig(), { compare });
    await supertest(app).get('/metrics').auth('mallory', 'alice-secret').expect(401);
    expect(compare).toHaveBeenCalledTimes(1);
    expect(compare.mock.calls[0]?.[1]).toMatch(/^\$2b\$05\$/);
  });

  it('does not let a cached login through for another user or password', async () => {
    const app = appWith(await authConfig(), { compare: countingCompare() });
    await supertest(app).get('/metrics').auth('alice', 'alice-secret').expect(200);
    await supertest(app).get('/metrics').auth('carol', 'alice-secret').expect(401);
    await supertest(app).get('/metrics').auth('alice', 'alice-secret ').expect(401);
  });

  it('does not let failed logins evict a cached one', async () => {
    const compare = countingCompare();
    const app = appWith(await authConfig(), { compare, now: () => 0 });
    for (let i = 0; i <= AUTH_CACHE_SIZE; i += 1) {
      await supertest(app).get('/metrics').auth('carol', 'carol-ñandú').expect(200);
      await supertest(app).get('/metrics').auth(`user-${i}`, 'x').expect(401);
    }
    expect(compare).toHaveBeenCalledTimes(AUTH_CACHE_SIZE + 2);
  });

  it('answers 503 with Retry-After, without running bcrypt, when the bcrypt queue is full', async () => {
    const held = heldCompare();
    const app = appWith(await authConfig(), { compare: held.compare, maxQueued: 0 });
    const waiting = supertest(app).get('/metrics').auth('alice', 'alice-secret').then((reply) => reply);
    const running = await held.call(0);

    const busy = await supertest(app).get('/metrics').auth('alice', 'a guess').expect(503);
    expect(busy.text).toBe('Service Unavailable\n');
    expect(busy.headers['retry-after']).toBe(String(BUSY_RETRY_AFTER_S));
    expect(busy.headers).not.toHaveProperty('www-authenticate');
    expect(held.calls).toHaveLength(1);

    running.settle(true);
    expect((await waiting).status).toBe(200);
  });

  it('lets a cached login through while the bcrypt queue is full of guesses', async () => {
    const held = heldCompare();
    const app = appWith(await authConfig(), { compare: held.compare, maxQueued: 0 });
    const login = supertest(app).get('/metrics').auth('alice', 'alice-secret').then((reply) => reply);
    (await held.call(0)).settle(true);
    expect((await login).status).toBe(200);

    const guess = supertest(app).get('/metrics').auth('alice', 'guess').then((reply) => reply);
    const stuck = await held.call(1);
    await supertest(app).get('/metrics').auth('bob', 'another guess').expect(503);
    await supertest(app).get('/metrics').auth('alice', 'alice-secret').expect(200);
    expect(held.calls).toHaveLength(2);
    stuck.settle(false);
    expect((await guess).status).toBe(401);
  });

  it('answers 500 when the compare itself breaks, not 401', async () => {
    const compare = countingCompare();
    compare.mockRejectedValueOnce(new Error('bcrypt worker exited with code 1'));
    const errors: unknown[] = [];
    const app = appWith(await authConfig(), { compare, onError: (error) => errors.push(error) });
    await supertest(app).get('/metrics').auth('alice', 'alice-secret').expect(500, 'internal server error\n');
    expect((errors[0] as Error).message).toBe('bcrypt worker exited with code 1');
    await supertest(app).get('/metrics').auth('alice', 'alice-secret').expect(200);
  });

  it('exports the challenge exporter-toolkit sends', () => {
    expect(WWW_AUTHENTICATE).toBe('Basic');
  });
});

describe('rate limit', () => {
  it('answers 429 past the burst and refills one request per interval', async () => {
    let now = 0;
    const app = appWith(await configFrom('rate_limit:\n  interval: 1s\n  burst: 2\n'), { now: () => now });
    await supertest(app).get('/healthz').expect(200);
    await supertest(app).get('/healthz').expect(200);
    await supertest(app).get('/healthz').expect(429, 'Too Many Requests\n');
    now += 999;
    await supertest(app).get('/healthz').expect(429);
    now += 1;
    await supertest(app).get('/healthz').expect(200);
    await supertest(app).get('/healthz').expect(429);
  });
});

describe('close', () => {
  it('is there, and harmless, with no config and with no users', async () => {
    await webConfigMiddleware(undefined).close();
    await webConfigMiddleware(await configFrom('rate_limit:\n  interval: 1s\n  burst: 2\n')).close();
  });
});
