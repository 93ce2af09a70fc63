// Tests loading the web config file: defaults, inline and file TLS material, and one fixture per rejected case with its exact message.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/error.js';
import { loadWebConfig, type WebConfig } from '../../src/http/web-config.js';
import { SERVER_TLS, USERS, configIn, makePki, removePki, usersYaml, type Pki } from './web-helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/web-config/', import.meta.url));

let pki: Pki;

const configFrom = (yaml: string): Promise<WebConfig> => configIn(pki.dir, yaml);

beforeAll(async () => {
  pki = await makePki();
});

afterAll(async () => {
  await removePki(pki);
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
    ['invalid-yaml.yml', `${fixture('invalid-yaml.yml')} is not valid YAML at line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]`],
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
});
