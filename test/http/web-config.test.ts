// Tests the web config file: loading and rejecting it, and TLS, client certificates and basic auth on real loopback servers.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SecureVersion, TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { compare, hashSync } from 'bcryptjs';
import express from 'express';
import supertest from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/config/error.js';
import { AUTH_CACHE_SIZE, parseBasicAuth } from '../../src/http/basic-auth.js';
import {
  WWW_AUTHENTICATE,
  createWebServer,
  loadWebConfig,
  webConfigMiddleware,
  type WebConfig,
  type WebConfigMiddlewareOptions,
} from '../../src/http/web-config.js';

// Wrap bcrypt's compare in a spy (same behaviour) to see when the cache spares a bcrypt round.
vi.mock('bcryptjs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('bcryptjs')>();
  return { ...actual, compare: vi.fn(actual.compare) };
});

const FIXTURES = fileURLToPath(new URL('../fixtures/web-config/', import.meta.url));
const OPENSSL = '/usr/bin/openssl';

/** Cost 4 keeps the suite fast; the prefix is rewritten to test every variant htpasswd and friends emit. */
function bcryptWithPrefix(password: string, prefix: '$2a$' | '$2b$' | '$2y$'): string {
  return `${prefix}${hashSync(password, 4).slice(4)}`;
}

const USERS = {
  alice: { password: 'alice-secret', hash: bcryptWithPrefix('alice-secret', '$2y$') },
  bob: { password: 'bob:with:colons', hash: bcryptWithPrefix('bob:with:colons', '$2a$') },
  carol: { password: 'carol-ñandú', hash: bcryptWithPrefix('carol-ñandú', '$2b$') },
};

function usersYaml(): string {
  return Object.entries(USERS)
    .map(([user, { hash }]) => `  ${user}: "${hash}"`)
    .join('\n');
}

type Pki = {
  dir: string;
  ca: string;
  serverCert: string;
  client: { cert: string; key: string };
  /** A client certificate from a CA the server does not trust. */
  stranger: { cert: string; key: string };
};

function openssl(dir: string, args: string[]): void {
  execFileSync(OPENSSL, args, { cwd: dir, stdio: 'pipe' });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<void> {
  openssl(dir, ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

async function makeLeaf(dir: string, name: string, ca: string, extensions: string): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), extensions);
  openssl(dir, ['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`,
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
}

async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'wolkvox-web-config-'));
  await makeCa(dir, 'ca');
  await makeCa(dir, 'stranger-ca');
  await makeLeaf(dir, 'server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await makeLeaf(dir, 'client', 'ca',
    'subjectAltName=DNS:scraper.example,IP:::1,URI:spiffe://wolkvox.test/prometheus\nextendedKeyUsage=clientAuth\n');
  await makeLeaf(dir, 'stranger', 'stranger-ca', 'subjectAltName=DNS:scraper.example\nextendedKeyUsage=clientAuth\n');
  const read = (file: string): Promise<string> => readFile(join(dir, file), 'utf8');
  return {
    dir,
    ca: await read('ca.crt'),
    serverCert: await read('server.crt'),
    client: { cert: await read('client.crt'), key: await read('client.key') },
    stranger: { cert: await read('stranger.crt'), key: await read('stranger.key') },
  };
}

let pki: Pki;
let configCount = 0;

/** Writes a web config next to the generated certificates (so relative paths resolve there) and loads it. */
async function configFrom(yaml: string): Promise<WebConfig> {
  configCount += 1;
  const path = join(pki.dir, `web-${configCount}.yml`);
  await writeFile(path, yaml);
  return loadWebConfig(path);
}

const SERVER_TLS = 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n';

function appWith(config: WebConfig | undefined, options?: WebConfigMiddlewareOptions): express.Express {
  const app = express();
  app.use(webConfigMiddleware(config, options)); // before every route, as main must mount it
  app.get('/metrics', (_req, res) => {
    res.type('text/plain').send('wolkvox_up{account="demo",window="1h"} 1\n');
  });
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  return app;
}

const servers: Server[] = [];

async function start(config: WebConfig | undefined): Promise<{ port: number; server: Server }> {
  const server = createWebServer(appWith(config), config);
  servers.push(server);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  return { port: (server.address() as AddressInfo).port, server };
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolveClose) => {
          server.closeAllConnections();
          server.close(() => resolveClose());
        }),
    ),
  );
});

type Reply = {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  protocol?: string | null;
  cipher?: string;
  curve?: string | undefined;
};

type ClientOptions = {
  path?: string;
  /** `user:password` for basic auth. */
  auth?: string;
  authorization?: string;
  tls?: { ca?: string; cert?: string; key?: string; maxVersion?: SecureVersion };
};

/** The ECDHE group the handshake used, e.g. `secp384r1`; `{}` on the server side or without ECDHE. */
function curveOf(socket: TLSSocket): string | undefined {
  const info = socket.getEphemeralKeyInfo();
  return info && 'name' in info ? info.name : undefined;
}

/** One request on a fresh connection (no agent, so no reuse between cases). */
function get(port: number, options: ClientOptions = {}): Promise<Reply> {
  return new Promise((resolveReply, reject) => {
    const common = {
      host: '127.0.0.1',
      port,
      path: options.path ?? '/metrics',
      agent: false as const,
      headers: options.authorization === undefined ? {} : { authorization: options.authorization },
      ...(options.auth === undefined ? {} : { auth: options.auth }),
    };
    const req = options.tls
      ? httpsRequest({ ...common, ...options.tls })
      : httpRequest(common);
    req.on('response', (res) => {
      const socket = res.socket as TLSSocket;
      const tlsInfo = options.tls
        ? { protocol: socket.getProtocol(), cipher: socket.getCipher().name, curve: curveOf(socket) }
        : {};
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolveReply({ status: res.statusCode ?? 0, headers: res.headers, body, ...tlsInfo }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  pki = await makePki();
});

afterAll(async () => {
  await rm(pki.dir, { recursive: true, force: true });
});

beforeEach(() => {
  vi.mocked(compare).mockClear();
});

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
    ['/metrics', 'wolkvox_up{account="demo",window="1h"} 1\n'],
    ['/healthz', 'ok\n'],
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

describe('basic auth timing and cache', () => {
  async function authApp(): Promise<express.Express> {
    return appWith(await configFrom(`basic_auth_users:\n${usersYaml()}\n  dave: "${bcryptWithPrefix('dave', '$2b$').replace('$04$', '$05$')}"\n`));
  }

  it('runs bcrypt once for a login that then repeats, and serves the repeats from the cache', async () => {
    const app = await authApp();
    for (let i = 0; i < 3; i += 1) {
      await supertest(app).get('/metrics').auth('alice', 'alice-secret').expect(200);
    }
    expect(compare).toHaveBeenCalledTimes(1);
    await supertest(app).get('/metrics').auth('bob', 'bob:with:colons').expect(200);
    expect(compare).toHaveBeenCalledTimes(2);
  });

  it('never caches a failure: every wrong guess pays a bcrypt round', async () => {
    const app = await authApp();
    for (let i = 0; i < 3; i += 1) {
      await supertest(app).get('/metrics').auth('alice', 'guess').expect(401);
    }
    expect(compare).toHaveBeenCalledTimes(3);
  });

  it('runs bcrypt for an unknown user too, against the costliest configured hash', async () => {
    const app = await authApp();
    await supertest(app).get('/metrics').auth('mallory', 'alice-secret').expect(401);
    expect(compare).toHaveBeenCalledTimes(1);
    expect(vi.mocked(compare).mock.calls[0]?.[1]).toMatch(/^\$2b\$05\$/);
  });

  it('does not let a cached login through for another user or password', async () => {
    const app = await authApp();
    await supertest(app).get('/metrics').auth('alice', 'alice-secret').expect(200);
    await supertest(app).get('/metrics').auth('carol', 'alice-secret').expect(401);
    await supertest(app).get('/metrics').auth('alice', 'alice-secret ').expect(401);
  });

  it('does not let failed logins evict a cached one', async () => {
    const app = await authApp();
    for (let i = 0; i <= AUTH_CACHE_SIZE; i += 1) {
      await supertest(app).get('/metrics').auth('carol', 'carol-ñandú').expect(200);
      await supertest(app).get('/metrics').auth(`user-${i}`, 'x').expect(401);
    }
    expect(compare).toHaveBeenCalledTimes(AUTH_CACHE_SIZE + 2);
  });

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
    await expect(get(port, { path: '/healthz' })).resolves.toMatchObject({ status: 200, body: 'ok\n' });
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

  it('rate_limit answers 429 past the burst and refills one request per interval', async () => {
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

describe('loadWebConfig', () => {
  it('reads certificates relative to the file and applies the defaults', async () => {
    const config = await configFrom(`${SERVER_TLS}basic_auth_users:\n${usersYaml()}\n`);
    expect(config.tls).toMatchObject({
      cert: pki.serverCert,
      clientCa: undefined,
      clientAuth: 'NoClientCert',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      honorCipherOrder: true,
      ciphers: undefined,
      ecdhCurve: undefined,
    });
    expect(config.http2).toBe(true);
    expect([...config.basicAuthUsers.keys()]).toEqual(['alice', 'bob', 'carol']);
    expect(config.rateLimit).toBeUndefined();
  });

  it('accepts inline cert, key and client_ca, and the RequireClientCert alias', async () => {
    const indent = (pem: string): string => pem.trimEnd().replaceAll('\n', '\n    ');
    const key = await readFile(join(pki.dir, 'server.key'), 'utf8');
    const config = await configFrom(
      `tls_server_config:\n  cert: |\n    ${indent(pki.serverCert)}\n  key: |\n    ${indent(key)}\n` +
        `  client_ca: |\n    ${indent(pki.ca)}\n  client_auth_type: RequireClientCert\n`,
    );
    expect(config.tls?.clientAuth).toBe('RequireAnyClientCert');
    expect(config.tls?.clientCa?.trim()).toBe(pki.ca.trim());
  });

  it('treats an empty file and empty sections as "nothing configured"', async () => {
    for (const yaml of ['', '# nothing\n', 'tls_server_config:\nhttp_server_config:\nbasic_auth_users:\nrate_limit:\n']) {
      const config = await configFrom(yaml);
      expect(config).toMatchObject({ tls: undefined, rateLimit: undefined, http2: true });
      expect(config.basicAuthUsers.size).toBe(0);
      expect(config.headers.size).toBe(0);
    }
  });

  it.each([
    ['0', undefined],
    ['"0s"', undefined],
    ['100ms', { intervalMs: 100, burst: 3 }],
    ['1m30s', { intervalMs: 90_000, burst: 3 }],
    ['1.5h', { intervalMs: 5_400_000, burst: 3 }],
  ])('reads rate_limit.interval %s as Go does', async (interval, expected) => {
    expect((await configFrom(`rate_limit:\n  interval: ${interval}\n  burst: 3\n`)).rateLimit).toEqual(expected);
  });

  it.each([
    ['5', 'rate_limit.interval: invalid duration 5 (expected a Go duration such as 1s or 100ms)'],
    ['1s\n  burst: 0', 'rate_limit.burst: must be at least 1 when interval is set, got 0'],
    ['1s\n  burst: 1.5', 'rate_limit.burst: expected an integer, got 1.5'],
  ])('rejects rate_limit with interval %j', async (rest, message) => {
    await expect(configFrom(`rate_limit:\n  interval: ${rest}\n`)).rejects.toThrow(new ConfigError('web.config.file', message));
  });

  it('keeps the private key out of JSON and inspect output', async () => {
    const key = await readFile(join(pki.dir, 'server.key'), 'utf8');
    const config = await configFrom(SERVER_TLS);
    const body = key.split('\n')[1] ?? '';
    expect(body.length).toBeGreaterThan(20);
    for (const text of [JSON.stringify(config), inspect(config, { depth: 10 })]) {
      expect(text).not.toContain(body);
      expect(text).not.toContain('PRIVATE KEY');
    }
  });

  const fixture = (name: string): string => join(FIXTURES, name);

  it.each([
    ['unknown-top-level-key.yml', 'tls_config: unknown key'],
    ['unknown-nested-key.yml', 'tls_server_config.client_auth: unknown key'],
    ['missing-key-file.yml', 'tls_server_config.key_file: required when cert_file is set'],
    ['tls-without-cert.yml', 'tls_server_config.cert_file: required when tls_server_config is set'],
    ['cert-and-cert-file.yml', 'tls_server_config.cert_file: cannot be set together with cert'],
    ['unreadable-cert-file.yml', `tls_server_config.cert_file: cannot read ${resolve(FIXTURES, 'does-not-exist.crt')}: ENOENT`],
    [
      'bad-client-auth-type.yml',
      'tls_server_config.client_auth_type: invalid value "RequireClientCertificate" (expected one of NoClientCert, ' +
        'RequestClientCert, RequireAnyClientCert, RequireClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)',
    ],
    ['missing-client-ca.yml', 'tls_server_config.client_ca_file: required when client_auth_type is RequireAndVerifyClientCert'],
    [
      'ca-without-client-auth.yml',
      'tls_server_config.client_auth_type: must ask for client certificates when client_ca_file is set (it is NoClientCert)',
    ],
    [
      'allowed-sans-without-client-auth.yml',
      'tls_server_config.client_allowed_sans: needs a client_auth_type that asks for client certificates (it is NoClientCert)',
    ],
    ['bad-min-version.yml', 'tls_server_config.min_version: invalid value "TLS14" (expected one of TLS10, TLS11, TLS12, TLS13)'],
    ['min-above-max.yml', 'tls_server_config.min_version: TLS13 is above max_version TLS12'],
    ['unknown-cipher-suite.yml', /^tls_server_config\.cipher_suites\[1\]: invalid value "ECDHE-RSA-AES128-GCM-SHA256" \(expected one of TLS_RSA_WITH_AES_128_CBC_SHA, /],
    ['unknown-curve.yml', 'tls_server_config.curve_preferences[0]: invalid value "P-256" (expected one of CurveP256, CurveP384, CurveP521, X25519)'],
    ['not-bcrypt.yml', 'basic_auth_users.bob: not a bcrypt hash'],
    ['invalid-yaml.yml', 'invalid YAML at line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    [
      'header-not-allowed.yml',
      'http_server_config.headers.X-Powered-By: header cannot be configured (allowed: Content-Security-Policy, ' +
        'Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection)',
    ],
    ['bad-header-value.yml', 'http_server_config.headers.X-Frame-Options: invalid value "allow-from https://example.com" (expected one of deny, sameorigin)'],
    ['http2-not-boolean.yml', 'http_server_config.http2: expected boolean, got "yes"'],
    ['bad-rate-limit-interval.yml', 'rate_limit.interval: invalid duration "1 second" (expected a Go duration such as 1s or 100ms)'],
    ['not-a-mapping.yml', 'the file must hold a mapping, got a list'],
    ['no-such-file.yml', `cannot read ${resolve(FIXTURES, 'no-such-file.yml')}: ENOENT`],
  ])('rejects %s', async (name, message) => {
    const error = await loadWebConfig(fixture(name)).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe('web.config.file');
    if (typeof message === 'string') expect((error as ConfigError).message).toBe(`web.config.file: ${message}`);
    else expect((error as ConfigError).message.replace(/^web\.config\.file: /, '')).toMatch(message);
  });

  it.each([
    ['a key that does not match the certificate', 'cert_file: server.crt\n  key_file: client.key', 'tls_server_config.key_file: does not match the certificate'],
    ['a certificate file that is not PEM', 'cert_file: server.key\n  key_file: server.key', 'tls_server_config.cert_file: the server certificate holds no PEM certificate'],
    ['a key file that is not a key', 'cert_file: server.crt\n  key_file: server.crt', 'tls_server_config.key_file: not an unencrypted PEM private key'],
    [
      'a client CA file without certificates',
      'cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.key',
      'tls_server_config.client_ca_file: the client CA bundle holds no PEM certificate',
    ],
  ])('rejects %s', async (_case, tls, message) => {
    await expect(configFrom(`tls_server_config:\n  ${tls}\n`)).rejects.toThrow(new ConfigError('web.config.file', message));
  });

  it('never echoes a hash or an inline key in its errors', async () => {
    const hash = USERS.alice.hash;
    await expect(configFrom(`basic_auth_users:\n  alice: "${hash.slice(0, -1)}"\n`)).rejects.toThrow(
      'web.config.file: basic_auth_users.alice: not a bcrypt hash',
    );
    await expect(configFrom('basic_auth_users:\n  alice: 12345\n')).rejects.toThrow(
      /^web\.config\.file: basic_auth_users\.alice: expected string$/,
    );
    await expect(configFrom('tls_server_config:\n  cert_file: server.crt\n  key: "-----BEGIN PRIVATE KEY-----\\nMIGHAgEA"\n')).rejects.toThrow(
      /^web\.config\.file: tls_server_config\.key: not an unencrypted PEM private key$/,
    );
  });

  it('exports the challenge exporter-toolkit sends', () => {
    expect(WWW_AUTHENTICATE).toBe('Basic');
  });
});
