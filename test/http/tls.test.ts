// Tests TLS serving from the web config on real loopback servers: basic auth over TLS, client certificates, versions and ciphers, and the rate-limited handshake warning.
import { createServer } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { TLS_WARNING_INTERVAL_MS, createLogLimiter, reportTlsClientErrors } from '../../src/http/tls.js';
import type { WebConfig } from '../../src/http/web-config.js';
import {
  METRICS_BODY,
  SERVER_TLS,
  USERS,
  closeAll,
  configIn,
  get,
  makePki,
  removePki,
  start,
  usersYaml,
  type ClientOptions,
  type Pki,
} from './web-helpers.js';

let pki: Pki;

const configFrom = (yaml: string): Promise<WebConfig> => configIn(pki.dir, yaml);

beforeAll(async () => {
  pki = await makePki();
});

afterAll(async () => {
  await removePki(pki);
});

afterEach(closeAll);

describe('TLS with basic auth', () => {
  let port: number;
  let trust: { ca: string };

  beforeEach(async () => {
    const config = await configFrom(
      `${SERVER_TLS}http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n` +
        `    Content-Security-Policy: "default-src 'none'"\n    X-XSS-Protection: ""\nbasic_auth_users:\n${usersYaml()}\n`,
    );
    ({ port } = await start(config));
    trust = { ca: pki.ca };
  });

  const endpoints = [
    ['/metrics', METRICS_BODY],
    ['/healthz', 'OK\n'],
  ] as const;
  const logins = Object.entries(USERS).map(([user, { password, hash }]) => [hash.slice(0, 4), user, password] as const);

  describe.each(endpoints)('%s', (path, body) => {
    it.each(logins)('lets in a user whose hash starts %s (%s)', async (_prefix, user, password) => {
      const reply = await get(port, { path, auth: `${user}:${password}`, tls: trust });
      expect(reply).toMatchObject({ status: 200, body });
    });

    it.each([
      ['a wrong password', { auth: 'alice:bob:with:colons' }],
      ['no credentials', {}],
      ['an unknown user', { auth: 'mallory:alice-secret' }],
      ['an empty user and password', { auth: ':' }],
      ['another scheme', { authorization: 'Bearer alice-secret' }],
      ['malformed base64', { authorization: 'Basic %%%' }],
    ])('refuses %s with 401 and a Basic challenge', async (_case, credentials: ClientOptions) => {
      const reply = await get(port, { path, ...credentials, tls: trust });
      expect(reply.status).toBe(401);
      expect(reply.headers['www-authenticate']).toBe('Basic');
      expect(reply.body).toBe('Unauthorized\n');
      expect(reply.body).not.toContain('wolkvox_up');
    });
  });

  it('answers 401 before routing, so unknown paths reveal nothing without credentials', async () => {
    expect((await get(port, { path: '/nope', tls: trust })).status).toBe(401);
    expect((await get(port, { path: '/nope', auth: 'alice:alice-secret', tls: trust })).status).toBe(404);
  });

  it('sets the configured headers on successful and refused responses, and leaves blank ones unset', async () => {
    for (const reply of [
      await get(port, { auth: 'alice:alice-secret', tls: trust }),
      await get(port, { tls: trust }),
    ]) {
      expect(reply.headers['x-frame-options']).toBe('deny');
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      expect(reply.headers['content-security-policy']).toBe("default-src 'none'");
      expect(reply.headers).not.toHaveProperty('x-xss-protection');
    }
  });

  it('refuses plain HTTP on the TLS port', async () => {
    await expect(get(port, { auth: 'alice:alice-secret' })).rejects.toThrow();
  });

  it('defaults to TLS 1.3 with a modern client', async () => {
    const reply = await get(port, { auth: 'alice:alice-secret', tls: trust });
    expect(reply.protocol).toBe('TLSv1.3');
  });
});

describe('client certificates', () => {
  async function startWith(clientAuth: string, extra = ''): Promise<{ port: number; refused: string[] }> {
    const config = await configFrom(
      `${SERVER_TLS}  client_auth_type: ${clientAuth}\n  client_ca_file: ca.crt\n${extra}`,
    );
    const { port, server } = await start(config);
    const refused: string[] = [];
    server.on('tlsClientError', (error: Error) => refused.push(error.message));
    return { port, refused };
  }

  const none = (): ClientOptions['tls'] => ({ ca: pki.ca });
  const trusted = (): ClientOptions['tls'] => ({ ca: pki.ca, ...pki.client });
  const stranger = (): ClientOptions['tls'] => ({ ca: pki.ca, ...pki.stranger });

  it('RequireAndVerifyClientCert refuses a client without a certificate or with an untrusted one', async () => {
    const { port } = await startWith('RequireAndVerifyClientCert');
    await expect(get(port, { tls: none() })).rejects.toThrow();
    await expect(get(port, { tls: stranger() })).rejects.toThrow();
    await expect(get(port, { tls: trusted() })).resolves.toMatchObject({ status: 200 });
  });

  it('RequireAndVerifyClientCert also holds on TLS 1.2', async () => {
    const { port } = await startWith('RequireAndVerifyClientCert');
    await expect(get(port, { tls: { ...none(), maxVersion: 'TLSv1.2' } })).rejects.toThrow();
    await expect(get(port, { tls: { ...trusted(), maxVersion: 'TLSv1.2' } })).resolves.toMatchObject({ status: 200 });
  });

  it('RequireAnyClientCert wants some certificate but does not verify it', async () => {
    const { port, refused } = await startWith('RequireAnyClientCert');
    await expect(get(port, { tls: none() })).rejects.toThrow();
    expect(refused).toEqual(['client certificate required']);
    await expect(get(port, { tls: stranger() })).resolves.toMatchObject({ status: 200 });
  });

  it('VerifyClientCertIfGiven lets in clients without a certificate but not with an untrusted one', async () => {
    const { port, refused } = await startWith('VerifyClientCertIfGiven');
    await expect(get(port, { tls: none() })).resolves.toMatchObject({ status: 200 });
    await expect(get(port, { tls: trusted() })).resolves.toMatchObject({ status: 200 });
    await expect(get(port, { tls: stranger() })).rejects.toThrow();
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^client certificate not verified: /);
  });

  it.each([
    ['a URI SAN', 'spiffe://wolkvox.test/prometheus'],
    ['a DNS SAN', 'scraper.example'],
    ['an IPv6 SAN written compressed', '::1'],
  ])('client_allowed_sans lets in a certificate with %s', async (_case, san) => {
    const { port } = await startWith('RequireAndVerifyClientCert', `  client_allowed_sans: ["${san}"]\n`);
    await expect(get(port, { tls: trusted() })).resolves.toMatchObject({ status: 200 });
  });

  it('client_allowed_sans refuses a trusted certificate with none of the SANs', async () => {
    const { port, refused } = await startWith('RequireAndVerifyClientCert', '  client_allowed_sans: [other.example, "scraper"]\n');
    await expect(get(port, { tls: trusted() })).rejects.toThrow();
    expect(refused).toEqual(['client certificate has none of client_allowed_sans']);
  });
});

describe('TLS versions, cipher suites and curves', () => {
  it('min_version TLS13 refuses a client that stops at TLS 1.2', async () => {
    const { port } = await start(await configFrom(`${SERVER_TLS}  min_version: TLS13\n`));
    await expect(get(port, { tls: { ca: pki.ca, maxVersion: 'TLSv1.2' } })).rejects.toThrow();
    await expect(get(port, { tls: { ca: pki.ca } })).resolves.toMatchObject({ status: 200, protocol: 'TLSv1.3' });
  });

  it('max_version TLS12 with cipher_suites and curve_preferences negotiates exactly those', async () => {
    const { port } = await start(
      await configFrom(
        `${SERVER_TLS}  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n` +
          '  curve_preferences: [CurveP384]\n  prefer_server_cipher_suites: true\n',
      ),
    );
    await expect(get(port, { tls: { ca: pki.ca } })).resolves.toMatchObject({
      status: 200,
      protocol: 'TLSv1.2',
      cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384',
      curve: 'secp384r1',
    });
  });
});

describe('without TLS', () => {
  it('serves plain HTTP with no auth when there is no web config', async () => {
    const { port } = await start(undefined);
    await expect(get(port, { path: '/healthz' })).resolves.toMatchObject({ status: 200, body: 'OK\n' });
    const reply = await get(port);
    expect(reply.status).toBe(200);
    expect(reply.headers).not.toHaveProperty('www-authenticate');
  });

  it('serves plain HTTP with basic auth when the file has users but no tls_server_config', async () => {
    const config = await configFrom(`basic_auth_users:\n${usersYaml()}\n`);
    expect(config.tls).toBeUndefined();
    const { port } = await start(config);
    expect((await get(port)).status).toBe(401);
    expect((await get(port, { auth: 'carol:carol-ñandú' })).status).toBe(200);
  });
});

describe('the TLS handshake warning', () => {
  function harness(): { fail: (message: string) => void; warnings: () => Array<Record<string, unknown>>; clock: { now(): number; advance(ms: number): void } } {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', format: 'json' }, { write: (line: string) => void lines.push(line) });
    let now = 1_700_000_000_000;
    const clock = { now: () => now, advance: (ms: number) => void (now += ms) };
    const server = createServer();
    reportTlsClientErrors(server, logger, clock);
    return {
      fail: (message) => void server.emit('tlsClientError', new Error(message), undefined),
      warnings: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
      clock,
    };
  }

  it('logs the first failure of an interval, counts the rest, and reports the count on the next line', () => {
    const { fail, warnings, clock } = harness();
    for (let i = 0; i < 1_000; i += 1) fail(`handshake ${i}`);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ level: 'warn', msg: 'TLS handshake with a client failed', err: 'handshake 0' });
    expect(warnings()[0]).not.toHaveProperty('suppressed');

    clock.advance(TLS_WARNING_INTERVAL_MS - 1);
    fail('still inside the interval');
    expect(warnings()).toHaveLength(1);

    clock.advance(1);
    fail('next interval');
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ err: 'next interval', suppressed: 1_000 });
  });

  it('starts counting again after each logged line', () => {
    const { fail, warnings, clock } = harness();
    fail('a');
    fail('b');
    clock.advance(TLS_WARNING_INTERVAL_MS);
    fail('c');
    clock.advance(TLS_WARNING_INTERVAL_MS);
    fail('d');
    expect(warnings().map((w) => [w.err, w.suppressed])).toEqual([
      ['a', undefined],
      ['c', 1],
      ['d', undefined],
    ]);
  });

  it.each([
    // [events at these clock times] → which ones log, with the suppressed count they carry
    [[0, 1, 2, 3], [[0, 0]]],
    [[0, 10, 20], [[0, 0], [10, 0], [20, 0]]],
    [[0, 5, 9, 10, 11, 25], [[0, 0], [10, 2], [25, 1]]],
    [[100, 50, 55], [[100, 0], [50, 0]]], // the clock was set back
  ])('createLogLimiter(10) over events at %j', (times, expected) => {
    let now = 0;
    const next = createLogLimiter(10, { now: () => now });
    const logged: number[][] = [];
    for (const at of times) {
      now = at;
      const decision = next();
      if (decision.log) logged.push([at, decision.suppressed]);
    }
    expect(logged).toEqual(expected);
  });
});
