// The --web.config.file (exporter-toolkit web configuration format): its schema, loading and checking, and its errors.
//
// Follows https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md and its
// web/tls_config.go and web/handler.go. TLS serving lives in tls.ts, the per-request guard (rate
// limit, headers, basic auth) in guard.ts. Where Node cannot do what Go does:
// - The file is read once, by loadWebConfig; exporter-toolkit re-reads it on every request and
//   connection. Restart the exporter to pick up new certificates, users or headers.
// - http_server_config.http2 is validated and ignored: the server speaks HTTP/1.1 only.
// - cipher_suites take Go's names (tls.CipherSuites) and are mapped to OpenSSL's. As in Go they
//   apply up to TLS 1.2; TLS 1.3 suite names are accepted and have no effect.
// - prefer_server_cipher_suites maps to Node's honorCipherOrder (Go ignores it since Go 1.17).
// - curve_preferences map to Node's ecdhCurve (CurveP256 → P-256, ..., X25519).
// - min_version TLS10/TLS11 is accepted, but Node 20's OpenSSL 3 refuses those protocols at its
//   default security level, so in practice the floor is TLS 1.2.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureVersion } from 'node:tls';
import { z } from 'zod';
import { ConfigError, formatPath } from '../config/error.js';
import { readNamedFile, readUtf8 } from '../config/read-file.js';
import { parseYaml } from '../config/yaml.js';
import { BCRYPT_HASH } from './basic-auth.js';
import { secureOptions, type ClientAuthType, type WebTlsConfig } from './tls.js';

/** The flag every load error is reported against (spec: Flags). */
const FLAG = 'web.config.file';

/** Go names → Node names (web/tls_config.go tlsVersions). */
const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const satisfies Record<
  string,
  SecureVersion
>;
type TlsVersionName = keyof typeof TLS_VERSIONS;
const TLS_VERSION_NAMES = Object.keys(TLS_VERSIONS) as [TlsVersionName, ...TlsVersionName[]];

/** RequireClientCert is exporter-toolkit's backward-compatible alias of RequireAnyClientCert. */
const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'RequireClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const satisfies readonly (ClientAuthType | 'RequireClientCert')[];

/** Go's tls.CipherSuites() names → OpenSSL names; null for TLS 1.3 suites, which neither Go nor we let you pick. */
const CIPHER_SUITES = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
} as const;
type CipherSuiteName = keyof typeof CIPHER_SUITES;

/** web/tls_config.go `curves` → OpenSSL group names. */
const CURVES = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' } as const;
type CurveName = keyof typeof CURVES;

/** web/handler.go extraHTTPHeaders: the only headers that may be set, and the values allowed where it lists any. */
const ALLOWED_HEADERS: Readonly<Record<string, readonly string[] | undefined>> = {
  'Content-Security-Policy': undefined,
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
};

/** Paths whose values are never echoed in an error message. */
const SECRET_PATHS = [/^tls_server_config\.key$/, /^basic_auth_users\./];

function keysOf<T extends Record<string, unknown>>(record: T): [keyof T & string, ...(keyof T & string)[]] {
  return Object.keys(record) as [keyof T & string, ...(keyof T & string)[]];
}

const tlsServerConfigSchema = z.strictObject({
  cert: z.string().optional(),
  key: z.string().optional(),
  client_ca: z.string().optional(),
  cert_file: z.string().optional(),
  key_file: z.string().optional(),
  client_auth_type: z.enum(CLIENT_AUTH_TYPES).optional(),
  client_ca_file: z.string().optional(),
  client_allowed_sans: z.array(z.string()).optional(),
  min_version: z.enum(TLS_VERSION_NAMES).optional(),
  max_version: z.enum(TLS_VERSION_NAMES).optional(),
  cipher_suites: z.array(z.enum(keysOf(CIPHER_SUITES))).optional(),
  prefer_server_cipher_suites: z.boolean().optional(),
  curve_preferences: z.array(z.enum(keysOf(CURVES))).optional(),
});

const httpServerConfigSchema = z.strictObject({
  http2: z.boolean().optional(),
  headers: z.record(z.string(), z.string()).nullish(),
});

const rateLimitSchema = z.strictObject({
  // docs: "set to 0 to disable"; a bare 0 is the one number that needs no unit.
  interval: z.union([z.string(), z.number()]).optional(),
  burst: z.number().int().min(0).optional(),
});

/** The file's shape, key for key as exporter-toolkit's `web.Config` (UnmarshalStrict: unknown keys fail). */
export const webConfigFileSchema = z.strictObject({
  tls_server_config: tlsServerConfigSchema.nullish(),
  http_server_config: httpServerConfigSchema.nullish(),
  basic_auth_users: z.record(z.string(), z.string()).nullish(),
  rate_limit: rateLimitSchema.nullish(),
});
export type WebConfigFile = z.infer<typeof webConfigFileSchema>;
type TlsServerConfigFile = z.infer<typeof tlsServerConfigSchema>;

/** A loaded, validated web config: what loadWebConfig returns and the middleware and server consume. */
export type WebConfig = {
  /** Absolute path of the file it came from. */
  readonly path: string;
  /** Undefined: plain HTTP. */
  readonly tls: WebTlsConfig | undefined;
  /** Validated, not acted on: see the note at the top of this file. */
  readonly http2: boolean;
  /** Response headers to set; blank values were dropped ("Unset if blank"). */
  readonly headers: ReadonlyMap<string, string>;
  /** User name → bcrypt hash; empty means no basic auth. */
  readonly basicAuthUsers: ReadonlyMap<string, string>;
  /** Token bucket: `burst` requests at once, refilled one per `intervalMs`; undefined when disabled. */
  readonly rateLimit: { readonly intervalMs: number; readonly burst: number } | undefined;
};

function fail(path: string, message: string): never {
  throw new ConfigError(FLAG, `${path}: ${message}`);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

/** zod's type names in YAML words. */
const TYPE_NAMES: Readonly<Record<string, string>> = { object: 'a mapping', array: 'a list', int: 'an integer', record: 'a mapping' };

/** One zod issue as `path: problem`, never echoing a secret value. */
function describeIssue(issue: z.core.$ZodIssue): { path: string; message: string } {
  const path = formatPath(issue.path);
  const secret = SECRET_PATHS.some((pattern) => pattern.test(path));
  const input: unknown = issue.input;
  switch (issue.code) {
    case 'unrecognized_keys':
      return { path: formatPath([...issue.path, issue.keys[0] ?? '']), message: 'unknown key' };
    case 'invalid_value':
      return {
        path,
        message: `invalid value ${secret ? '' : `${describeValue(input)} `}(expected one of ${issue.values.map(String).join(', ')})`,
      };
    case 'invalid_type': {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      return { path, message: secret ? `expected ${expected}` : `expected ${expected}, got ${describeValue(input)}` };
    }
    case 'too_small':
      return { path, message: `must be at least ${String(issue.minimum)}, got ${describeValue(input)}` };
    default:
      return { path, message: `${issue.message}${secret ? '' : `, got ${describeValue(input)}`}` };
  }
}

function parseFile(text: string, filePath: string): WebConfigFile {
  const result = webConfigFileSchema.safeParse(parseYaml(text, FLAG, filePath) ?? {}, { reportInput: true });
  if (result.success) return result.data;
  // An unknown key is most likely a typo of the key that is then missing: report it first.
  const issues = [...result.error.issues].sort(
    (a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'),
  );
  const first = issues[0];
  if (!first) throw new ConfigError(FLAG, 'invalid web config');
  const { path, message } = describeIssue(first);
  if (path === '') throw new ConfigError(FLAG, `the file must hold ${message.replace(/^expected /, '')}`);
  return fail(path, message);
}

/** Go's time.ParseDuration, for rate_limit.interval ("100ms", "1m30s"); milliseconds, or undefined if malformed. */
function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, '\u00b5s': 1e-3, '\u03bcs': 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  // µs (micro sign) and μs (Greek mu) as escapes: esbuild keeps regular expressions as written, and one character
  // outside ASCII makes V8 hold the whole bundle's source as UTF-16, twice its size (scripts/bundle.mjs).
  if (!/^(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/u.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/gu)) {
    total += Number(match[1]) * (units[match[2] ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(total) ? total : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function readPem(configPath: string, dir: string, file: string): string {
  return readNamedFile(readUtf8, resolve(dir, file), FLAG, { field: configPath });
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function parseCertificates(pem: string, path: string, what: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) fail(path, `${what} holds no PEM certificate`);
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      return fail(path, `${what}: certificate ${index + 1} cannot be parsed: ${(error as Error).message}`);
    }
  });
}

/** Checks that need no file: which keys go together (web/tls_config.go validateTLSPaths, ConfigToTLSConfig). */
function checkTlsKeys(tls: TlsServerConfigFile): void {
  const p = 'tls_server_config';
  const pairs = [
    ['cert', 'cert_file'],
    ['key', 'key_file'],
    ['client_ca', 'client_ca_file'],
  ] as const;
  for (const [inline, file] of pairs) {
    if (nonEmpty(tls[inline]) !== undefined && nonEmpty(tls[file]) !== undefined) {
      fail(`${p}.${file}`, `cannot be set together with ${inline}`);
    }
  }
  const certKey = nonEmpty(tls.cert_file) !== undefined ? 'cert_file' : nonEmpty(tls.cert) !== undefined ? 'cert' : undefined;
  const keyKey = nonEmpty(tls.key_file) !== undefined ? 'key_file' : nonEmpty(tls.key) !== undefined ? 'key' : undefined;
  if (certKey === undefined) fail(`${p}.cert_file`, `required when ${keyKey ?? p} is set`);
  if (keyKey === undefined) fail(`${p}.key_file`, `required when ${certKey} is set`);

  const clientAuth = tls.client_auth_type ?? 'NoClientCert';
  const caKey =
    nonEmpty(tls.client_ca_file) !== undefined ? 'client_ca_file' : nonEmpty(tls.client_ca) !== undefined ? 'client_ca' : undefined;
  if ((clientAuth === 'RequireAndVerifyClientCert' || clientAuth === 'VerifyClientCertIfGiven') && caKey === undefined) {
    // Go would fall back to the system roots; for client auth that trusts every public CA.
    fail(`${p}.client_ca_file`, `required when client_auth_type is ${clientAuth}`);
  }
  if (caKey !== undefined && clientAuth === 'NoClientCert') {
    fail(`${p}.client_auth_type`, `must ask for client certificates when ${caKey} is set (it is NoClientCert)`);
  }
  if (tls.client_allowed_sans !== undefined && clientAuth === 'NoClientCert') {
    fail(`${p}.client_allowed_sans`, 'needs a client_auth_type that asks for client certificates (it is NoClientCert)');
  }
  const min = tls.min_version ?? 'TLS12';
  const max = tls.max_version ?? 'TLS13';
  if (TLS_VERSION_NAMES.indexOf(min) > TLS_VERSION_NAMES.indexOf(max)) {
    fail(`${p}.min_version`, `${min} is above max_version ${max}`);
  }
}

async function loadTls(tls: TlsServerConfigFile, dir: string): Promise<WebTlsConfig> {
  const p = 'tls_server_config';
  checkTlsKeys(tls);
  const certFile = nonEmpty(tls.cert_file);
  const keyFile = nonEmpty(tls.key_file);
  const caFile = nonEmpty(tls.client_ca_file);
  const cert = certFile !== undefined ? readPem(`${p}.cert_file`, dir, certFile) : (tls.cert ?? '');
  const keyPem = keyFile !== undefined ? readPem(`${p}.key_file`, dir, keyFile) : (tls.key ?? '');
  const clientCa = caFile !== undefined ? readPem(`${p}.client_ca_file`, dir, caFile) : nonEmpty(tls.client_ca);

  const certPath = certFile !== undefined ? `${p}.cert_file` : `${p}.cert`;
  const keyPath = keyFile !== undefined ? `${p}.key_file` : `${p}.key`;
  const [leaf] = parseCertificates(cert, certPath, 'the server certificate');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    // The OpenSSL message can quote the input; say only what is wrong.
    return fail(keyPath, 'not an unencrypted PEM private key');
  }
  if (leaf && !leaf.checkPrivateKey(key)) fail(keyPath, 'does not match the certificate');
  if (clientCa !== undefined) {
    parseCertificates(clientCa, caFile !== undefined ? `${p}.client_ca_file` : `${p}.client_ca`, 'the client CA bundle');
  }

  const clientAuthType = tls.client_auth_type ?? 'NoClientCert';
  const ciphers = (tls.cipher_suites ?? [])
    .map((name: CipherSuiteName) => CIPHER_SUITES[name])
    .filter((name): name is NonNullable<typeof name> => name !== null);
  const config: WebTlsConfig = {
    cert,
    key,
    clientCa,
    clientAuth: clientAuthType === 'RequireClientCert' ? 'RequireAnyClientCert' : clientAuthType,
    clientAllowedSans: tls.client_allowed_sans,
    minVersion: TLS_VERSIONS[tls.min_version ?? 'TLS12'],
    maxVersion: TLS_VERSIONS[tls.max_version ?? 'TLS13'],
    ciphers: ciphers.length > 0 ? ciphers.join(':') : undefined,
    honorCipherOrder: tls.prefer_server_cipher_suites ?? true,
    ecdhCurve:
      tls.curve_preferences && tls.curve_preferences.length > 0
        ? tls.curve_preferences.map((name: CurveName) => CURVES[name]).join(':')
        : undefined,
  };
  try {
    // Whatever OpenSSL would refuse at listen time (a cipher or curve it lacks) fails now instead.
    createSecureContext(secureOptions(config));
  } catch (error) {
    fail(p, `OpenSSL refuses these settings: ${(error as Error).message}`);
  }
  return config;
}

function loadHeaders(headers: Readonly<Record<string, string>>): Map<string, string> {
  const result = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const path = `http_server_config.headers.${name}`;
    if (!Object.hasOwn(ALLOWED_HEADERS, name)) {
      fail(path, `header cannot be configured (allowed: ${Object.keys(ALLOWED_HEADERS).join(', ')})`);
    }
    if (value === '') continue; // docs: "Unset if blank"
    const allowed = ALLOWED_HEADERS[name];
    if (allowed && !allowed.includes(value)) {
      fail(path, `invalid value ${JSON.stringify(value)} (expected one of ${allowed.join(', ')})`);
    }
    // Node would throw on these at response time; refuse them at start.
    if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) fail(path, `invalid header value ${JSON.stringify(value)}`);
    result.set(name, value);
  }
  return result;
}

function loadUsers(users: Readonly<Record<string, string>>): Map<string, string> {
  const result = new Map<string, string>();
  for (const [user, hash] of Object.entries(users)) {
    // The hash is not printed: it is not the password, but it is what a brute force would start from.
    if (!BCRYPT_HASH.test(hash)) fail(`basic_auth_users.${user}`, 'not a bcrypt hash');
    result.set(user, hash);
  }
  return result;
}

function loadRateLimit(rateLimit: WebConfigFile['rate_limit']): WebConfig['rateLimit'] {
  if (!rateLimit || rateLimit.interval === undefined) return undefined;
  const { interval } = rateLimit;
  const intervalMs = typeof interval === 'number' ? (interval === 0 ? 0 : undefined) : parseGoDuration(interval);
  if (intervalMs === undefined) {
    fail('rate_limit.interval', `invalid duration ${JSON.stringify(interval)} (expected a Go duration such as 1s or 100ms)`);
  }
  if (intervalMs === 0) return undefined; // docs: "set to 0 to disable rate limiter"
  const burst = rateLimit.burst ?? 0;
  // Go's rate.Limiter with burst 0 refuses every request; that is never what was meant.
  if (burst < 1) fail('rate_limit.burst', `must be at least 1 when interval is set, got ${burst}`);
  return { intervalMs, burst };
}

/**
 * Reads and validates the web config file, then reads and checks the certificate, key and client CA
 * files it names (relative paths resolve against the file's directory, as exporter-toolkit does).
 * Throws ConfigError with key `web.config.file` and a message naming the offending key, e.g.
 * `web.config.file: tls_server_config.cert_file: cannot read /x/y.crt: ENOENT`. Unknown keys fail.
 */
export async function loadWebConfig(path: string): Promise<WebConfig> {
  const absolute = resolve(path);
  const file = parseFile(readNamedFile(readUtf8, absolute, FLAG), absolute);
  const tlsFile = file.tls_server_config;
  // exporter-toolkit serves plain HTTP when tls_server_config sets nothing; a section that sets
  // anything (even only min_version) must name a certificate, or the operator thinks TLS is on.
  const tlsWanted = tlsFile !== null && tlsFile !== undefined && Object.values(tlsFile).some((v) => v !== undefined && v !== '');
  return {
    path: absolute,
    tls: tlsWanted ? await loadTls(tlsFile, dirname(absolute)) : undefined,
    http2: file.http_server_config?.http2 ?? true,
    headers: loadHeaders(file.http_server_config?.headers ?? {}),
    basicAuthUsers: loadUsers(file.basic_auth_users ?? {}),
    rateLimit: loadRateLimit(file.rate_limit),
  };
}
