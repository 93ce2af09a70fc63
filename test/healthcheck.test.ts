// `wolkvox-exporter healthcheck` against a real loopback server: plain HTTP, TLS + basic auth, mTLS, PID 1's flags, failures.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exporterArgvOfPidOne, healthcheck, loopbackHost, type HealthcheckDeps } from '../src/healthcheck.js';
import { createApp } from '../src/http/app.js';
import { webConfigMiddleware, type WebConfigGuard } from '../src/http/guard.js';
import { createWebServer } from '../src/http/tls.js';
import { loadWebConfig } from '../src/http/web-config.js';
import { report } from './http/status-page-fixtures.js';

const PASSWORD = 'hc-SENTINEL-pw-41';
let dir: string;
const running: Array<{ server: Server; guard?: WebConfigGuard }> = [];

function openssl(args: string[]): void {
  const made = spawnSync('openssl', args, { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl ${args[0]} failed: ${made.stderr}`);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wolkvox-healthcheck-'));
  // A CA, a server certificate for a DNS name (not 127.0.0.1, as in most real setups), and a client certificate.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')]);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=exporter.example',
    '-addext', 'subjectAltName=DNS:exporter.example', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.crt')]);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=healthcheck', '-keyout', join(dir, 'client.key'), '-out', join(dir, 'client.csr')]);
  openssl(['x509', '-req', '-in', join(dir, 'client.csr'), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '1', '-out', join(dir, 'client.crt')]);
  const hash = bcrypt.hashSync(PASSWORD, 4).replace(/^\$2[ab]\$/, '$2y$');
  writeFileSync(join(dir, 'tls-auth.yml'), `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: ${hash}\n`);
  writeFileSync(
    join(dir, 'mtls.yml'),
    'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n',
  );
  writeFileSync(join(dir, 'password'), `${PASSWORD}\n`);
  writeFileSync(join(dir, 'wrong-password'), 'nope\n');
});

afterAll(async () => {
  for (const { server, guard } of running) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await guard?.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The exporter's web stack (app, web config guard, TLS) on 127.0.0.1 and a free port. */
async function serve(webConfigFile?: string): Promise<number> {
  const webConfig = webConfigFile ? await loadWebConfig(join(dir, webConfigFile)) : undefined;
  const guard = webConfig ? webConfigMiddleware(webConfig) : undefined;
  const app = createApp({
    scrape: async (_req, res) => void res.end('up 1\n'),
    telemetryPath: '/metrics',
    version: 'test',
    isReady: () => true,
    status: () => report([]),
    ...(guard ? { guard } : {}),
  });
  const server = createWebServer(app, webConfig);
  running.push({ server, ...(guard ? { guard } : {}) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function deps(argv: string[], overrides: Partial<HealthcheckDeps> = {}): HealthcheckDeps {
  return {
    argv,
    env: {},
    readFile: (path) => readFileSync(path, 'utf8'),
    exporterArgv: () => undefined,
    ...overrides,
  };
}

describe('healthcheck', () => {
  it('is healthy when a plain HTTP exporter answers /healthz', async () => {
    const port = await serve();
    const result = await healthcheck(deps([`--web.listen-address=127.0.0.1:${port}`]));
    expect(result).toEqual({ healthy: true, message: `healthy: GET http://127.0.0.1:${port}/healthz answered 200 OK` });
  });

  it('speaks TLS and basic auth as the web config says, with credentials from flags or env, and never prints the password', async () => {
    const port = await serve('tls-auth.yml');
    const web = [`--web.listen-address=:${port}`, `--web.config.file=${join(dir, 'tls-auth.yml')}`];
    const byFlags = await healthcheck(deps([...web, '--healthcheck.username=prometheus', `--healthcheck.password-file=${join(dir, 'password')}`]));
    expect(byFlags).toEqual({ healthy: true, message: `healthy: GET https://127.0.0.1:${port}/healthz answered 200 OK` });
    const byEnv = await healthcheck(
      deps(web, { env: { WOLKVOX_HEALTHCHECK_USERNAME: 'prometheus', WOLKVOX_HEALTHCHECK_PASSWORD_FILE: join(dir, 'password') } }),
    );
    expect(byEnv.healthy).toBe(true);

    const wrong = await healthcheck(deps([...web, '--healthcheck.username=prometheus', `--healthcheck.password-file=${join(dir, 'wrong-password')}`]));
    expect(wrong).toEqual({ healthy: false, message: `unhealthy: GET https://127.0.0.1:${port}/healthz answered 401 Unauthorized` });
    for (const result of [byFlags, byEnv, wrong]) expect(result.message).not.toContain(PASSWORD);
  });

  it('says which flags to set when the web config turns on basic auth and no credentials are given', async () => {
    const port = await serve('tls-auth.yml');
    const result = await healthcheck(deps([`--web.listen-address=127.0.0.1:${port}`, `--web.config.file=${join(dir, 'tls-auth.yml')}`]));
    expect(result.healthy).toBe(false);
    expect(result.message).toBe(
      `unhealthy: GET https://127.0.0.1:${port}/healthz failed: --healthcheck.username: the web config turns on basic auth: set --healthcheck.username and --healthcheck.password-file (or WOLKVOX_HEALTHCHECK_USERNAME and WOLKVOX_HEALTHCHECK_PASSWORD_FILE)`,
    );
  });

  it('presents a client certificate where the web config requires one, and says so when none is given', async () => {
    const port = await serve('mtls.yml');
    const web = [`--web.listen-address=127.0.0.1:${port}`, `--web.config.file=${join(dir, 'mtls.yml')}`];
    const withCert = await healthcheck(deps([...web, `--healthcheck.cert-file=${join(dir, 'client.crt')}`, `--healthcheck.key-file=${join(dir, 'client.key')}`]));
    expect(withCert).toEqual({ healthy: true, message: `healthy: GET https://127.0.0.1:${port}/healthz answered 200 OK` });
    const without = await healthcheck(deps(web));
    expect(without.healthy).toBe(false);
    expect(without.message).toContain('--healthcheck.cert-file: the web config requires a client certificate (RequireAndVerifyClientCert)');
  });

  it('adopts the flags of the exporter in PID 1 when given no exporter flags of its own, and only then', async () => {
    const port = await serve('tls-auth.yml');
    const pidOne = ['--demo', `--web.listen-address=0.0.0.0:${port}`, `--web.config.file=${join(dir, 'tls-auth.yml')}`];
    const exporterArgv = vi.fn(() => pidOne);
    const env = { WOLKVOX_HEALTHCHECK_USERNAME: 'prometheus', WOLKVOX_HEALTHCHECK_PASSWORD_FILE: join(dir, 'password') };
    expect(await healthcheck(deps([], { env, exporterArgv }))).toEqual({
      healthy: true,
      message: `healthy: GET https://127.0.0.1:${port}/healthz answered 200 OK`,
    });
    expect(exporterArgv).toHaveBeenCalledTimes(1);

    // Its own exporter flags win, and PID 1 is not consulted.
    const other = await serve();
    exporterArgv.mockClear();
    expect((await healthcheck(deps([`--web.listen-address=127.0.0.1:${other}`], { env, exporterArgv }))).healthy).toBe(true);
    expect(exporterArgv).not.toHaveBeenCalled();
  });

  it('is unhealthy, with the reason, when nothing listens, nothing answers, or a flag is bad', async () => {
    const refused = await closedPort();
    expect(await healthcheck(deps([`--web.listen-address=127.0.0.1:${refused}`]))).toEqual({
      healthy: false,
      message: `unhealthy: GET http://127.0.0.1:${refused}/healthz failed: ECONNREFUSED`,
    });

    // A server that accepts the connection and never answers: the timeout ends the check.
    const silent = createNetServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    const hung = await healthcheck(deps([`--web.listen-address=127.0.0.1:${silentPort}`, '--healthcheck.timeout=1s']));
    silent.close();
    expect(hung).toEqual({ healthy: false, message: `unhealthy: GET http://127.0.0.1:${silentPort}/healthz failed: no answer within 1s` });

    expect(await healthcheck(deps(['--web.listen-address=nonsense']))).toEqual({
      healthy: false,
      message: 'unhealthy: --web.listen-address: "nonsense" is not a host:port address such as :9867 or 127.0.0.1:9867',
    });
    expect((await healthcheck(deps(['--web.config.file=']))).message).toBe(
      'unhealthy: --web.config.file: is empty: an empty value does not turn anything off; leave the flag out instead',
    );
  });
});

describe('loopbackHost', () => {
  it.each([
    [undefined, '127.0.0.1'],
    ['', '127.0.0.1'],
    ['0.0.0.0', '127.0.0.1'],
    ['::', '::1'],
    ['10.1.2.3', '10.1.2.3'],
    ['localhost', 'localhost'],
  ])('reaches a listener on %j at %j', (host, expected) => {
    expect(loopbackHost(host)).toBe(expected);
  });
});

describe('exporterArgvOfPidOne', () => {
  it('finds nothing when PID 1 is not this script', () => {
    expect(exporterArgvOfPidOne(join(dir, 'not-the-exporter.js'))).toBeUndefined();
    expect(exporterArgvOfPidOne(undefined)).toBeUndefined();
  });
});

/** A port on 127.0.0.1 that refuses connections: bound by us, then closed. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
