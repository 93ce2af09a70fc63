// Shared by the web config, TLS and guard tests: a throwaway PKI, bcrypt users, config files, loopback servers and a raw client.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecureVersion, TLSSocket } from 'node:tls';
import { hashSync } from 'bcryptjs';
import { createApp, type RequestListener } from '../../src/http/app.js';
import { webConfigMiddleware, type WebConfigGuard, type WebConfigMiddlewareOptions } from '../../src/http/guard.js';
import { createWebServer } from '../../src/http/tls.js';
import { loadWebConfig, type WebConfig } from '../../src/http/web-config.js';
import { account, report } from './status-page-fixtures.js';

const OPENSSL = '/usr/bin/openssl';

/** Cost 4 keeps the suite fast; the prefix is rewritten to test every variant htpasswd and friends emit. */
export function bcryptWithPrefix(password: string, prefix: '$2a$' | '$2b$' | '$2y$', cost = 4): string {
  return `${prefix}${hashSync(password, cost).slice(4)}`;
}

export const USERS = {
  alice: { password: 'alice-secret', hash: bcryptWithPrefix('alice-secret', '$2y$') },
  bob: { password: 'bob:with:colons', hash: bcryptWithPrefix('bob:with:colons', '$2a$') },
  carol: { password: 'carol-ñandú', hash: bcryptWithPrefix('carol-ñandú', '$2b$') },
};

export function usersYaml(): string {
  return Object.entries(USERS)
    .map(([user, { hash }]) => `  ${user}: "${hash}"`)
    .join('\n');
}

export type Pki = {
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

export async function makePki(): Promise<Pki> {
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

export async function removePki(pki: Pki | undefined): Promise<void> {
  if (pki) await rm(pki.dir, { recursive: true, force: true });
}

let configCount = 0;

/** Writes a web config into `dir` (so relative paths resolve there) and loads it. */
export async function configIn(dir: string, yaml: string): Promise<WebConfig> {
  configCount += 1;
  const path = join(dir, `web-${process.pid}-${configCount}.yml`);
  await writeFile(path, yaml);
  return loadWebConfig(path);
}

export const SERVER_TLS = 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n';

export const METRICS_BODY = 'wolkvox_up{account="demo",window="1h"} 1\n';

/** Every guard made by appWith, so afterEach can stop their bcrypt worker threads. */
const guards: WebConfigGuard[] = [];

/** The exporter's own HTTP handler behind the guard, with a fixed /metrics body; `onError` sees what a route threw. */
export function appWith(config: WebConfig | undefined, options?: WebConfigMiddlewareOptions & { onError?: (error: unknown) => void }): RequestListener {
  const guard = webConfigMiddleware(config, options);
  guards.push(guard);
  return createApp({
    scrape: async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(METRICS_BODY);
    },
    telemetryPath: '/metrics',
    version: 'test',
    isReady: () => true,
    status: () => report([account()]),
    guard,
    ...(options?.onError ? { onError: options.onError } : {}),
  });
}

const servers: Server[] = [];

export async function start(config: WebConfig | undefined): Promise<{ port: number; server: Server }> {
  const server = createWebServer(appWith(config), config);
  servers.push(server);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  return { port: (server.address() as AddressInfo).port, server };
}

/** For afterEach: closes every server and guard made since the last call. */
export async function closeAll(): Promise<void> {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolveClose) => {
          server.closeAllConnections();
          server.close(() => resolveClose());
        }),
    ),
  );
  await Promise.all(guards.splice(0).map((guard) => guard.close()));
}

export type Reply = {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  protocol?: string | null;
  cipher?: string;
  curve?: string | undefined;
};

export type ClientOptions = {
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
export function get(port: number, options: ClientOptions = {}): Promise<Reply> {
  return new Promise((resolveReply, reject) => {
    const common = {
      host: '127.0.0.1',
      port,
      path: options.path ?? '/metrics',
      agent: false as const,
      headers: options.authorization === undefined ? {} : { authorization: options.authorization },
      ...(options.auth === undefined ? {} : { auth: options.auth }),
    };
    const req = options.tls ? httpsRequest({ ...common, ...options.tls }) : httpRequest(common);
    req.on('response', (res) => {
      const socket = res.socket as TLSSocket;
      const tlsInfo = options.tls ? { protocol: socket.getProtocol(), cipher: socket.getCipher().name, curve: curveOf(socket) } : {};
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
