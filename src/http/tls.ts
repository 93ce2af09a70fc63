// TLS for the web server: Node server options from the web config, client-certificate and SAN checks, and a rate-limited handshake warning.
//
// RequireAnyClientCert, VerifyClientCertIfGiven and client_allowed_sans are checked right after the
// handshake (Node has no VerifyPeerCertificate hook): a failing connection is destroyed before any
// request is read, and the server emits 'tlsClientError' for it.
import { type KeyObject } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIPv6 } from 'node:net';
import type { SecureVersion, TLSSocket, TlsOptions } from 'node:tls';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';

/** exporter-toolkit's client_auth_type values, after mapping its RequireClientCert alias. */
export type ClientAuthType =
  | 'NoClientCert'
  | 'RequestClientCert'
  | 'RequireAnyClientCert'
  | 'VerifyClientCertIfGiven'
  | 'RequireAndVerifyClientCert';

/** TLS settings with the certificate, key and client CAs already read and checked. */
export type WebTlsConfig = {
  /** PEM server certificate (chain). */
  readonly cert: string;
  /** The private key as a KeyObject, which prints as `{}` in JSON and logs: never a PEM string here. */
  readonly key: KeyObject;
  /** PEM CA bundle that client certificates are verified against. */
  readonly clientCa: string | undefined;
  readonly clientAuth: ClientAuthType;
  /** A client certificate must carry one of these DNS, IP, email or URI SANs; undefined means no check. */
  readonly clientAllowedSans: readonly string[] | undefined;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** OpenSSL cipher list for TLS ≤ 1.2; undefined keeps Node's defaults. */
  readonly ciphers: string | undefined;
  readonly honorCipherOrder: boolean;
  /** OpenSSL group list; undefined keeps Node's defaults. */
  readonly ecdhCurve: string | undefined;
};

/** At most one handshake warning per interval; the next one says how many were left out. */
export const TLS_WARNING_INTERVAL_MS = 10_000;

/** Node's TLS server options for a loaded config; pure. */
export function secureOptions(tls: WebTlsConfig): TlsOptions {
  const options: TlsOptions = {
    cert: tls.cert,
    key: tls.key.export({ format: 'pem', type: 'pkcs8' }),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    honorCipherOrder: tls.honorCipherOrder,
    requestCert: tls.clientAuth !== 'NoClientCert',
    // Only this policy can be left to OpenSSL; the others are checked after the handshake.
    rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
  };
  if (tls.clientCa !== undefined) options.ca = tls.clientCa;
  if (tls.ciphers !== undefined) options.ciphers = tls.ciphers;
  if (tls.ecdhCurve !== undefined) options.ecdhCurve = tls.ecdhCurve;
  return options;
}

/** The DNS, IP, email and URI entries of Node's subjectAltName text; quoted entries are JSON strings. */
function subjectAltNames(text: string): string[] {
  const values: string[] = [];
  let at = 0;
  while (at < text.length) {
    const colon = text.indexOf(':', at);
    if (colon < 0) break;
    const type = text.slice(at, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      end += 1;
      value = JSON.parse(text.slice(colon + 1, end)) as string;
    } else {
      const comma = text.indexOf(', ', colon);
      end = comma < 0 ? text.length : comma;
      value = text.slice(colon + 1, end);
    }
    if (type === 'IP Address') values.push(canonicalIp(value));
    else if (type === 'DNS' || type === 'email' || type === 'URI') values.push(value);
    at = end + 2;
  }
  return values;
}

/** Go prints IPv6 SANs compressed (`::1`), Node expanded; compare both compressed. */
function canonicalIp(ip: string): string {
  return isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** Why a client certificate is refused after the handshake, or undefined if it is fine. */
function checkPeer(tls: WebTlsConfig, socket: TLSSocket): string | undefined {
  const peer = socket.getPeerX509Certificate();
  if (!peer) {
    if (tls.clientAuth === 'RequireAnyClientCert') return 'client certificate required';
    if (tls.clientAllowedSans) return 'client certificate required for client_allowed_sans';
    return undefined;
  }
  if (tls.clientAuth === 'VerifyClientCertIfGiven' && !socket.authorized) {
    return `client certificate not verified: ${String(socket.authorizationError)}`;
  }
  if (tls.clientAllowedSans) {
    const allowed = new Set(tls.clientAllowedSans.map((san) => canonicalIp(san)));
    const sans = subjectAltNames(peer.subjectAltName ?? '');
    if (!sans.some((san) => allowed.has(san))) return 'client certificate has none of client_allowed_sans';
  }
  return undefined;
}

/**
 * An http.Server, or an https.Server when the web config has TLS, with `app` as its request
 * listener. The caller listens and closes. TLS honours client_auth_type, client CAs, allowed SANs,
 * min/max version, cipher suites and curves; refused clients are reported as 'tlsClientError'.
 * Takes a WebConfig (only its `tls` is read).
 */
export function createWebServer(app: (req: any, res: any) => void, config: { readonly tls: WebTlsConfig | undefined } | undefined): Server {
  const tls = config?.tls;
  if (!tls) return createHttpServer(app);
  const server = createHttpsServer(secureOptions(tls), app);
  const needsCheck =
    tls.clientAuth === 'RequireAnyClientCert' || tls.clientAuth === 'VerifyClientCertIfGiven' || tls.clientAllowedSans !== undefined;
  if (needsCheck) {
    server.on('secureConnection', (socket: TLSSocket) => {
      const problem = checkPeer(tls, socket);
      if (problem === undefined) return;
      socket.destroy();
      server.emit('tlsClientError', new Error(problem), socket);
    });
  }
  return server;
}

/** What to do with one more event: log it (with how many were left out since the last line), or only count it. */
export type LogDecision = { readonly log: true; readonly suppressed: number } | { readonly log: false };

/**
 * A limiter for a log line anyone can trigger: the first event of an interval is logged, later
 * ones in the same interval are counted, and the next logged line carries that count. No timer, so
 * nothing to stop: a count is reported with the next event after the interval, never on its own.
 */
export function createLogLimiter(intervalMs: number, clock: Clock): () => LogDecision {
  let windowStart: number | undefined;
  let suppressed = 0;
  return () => {
    const now = clock.now();
    // A wall clock set back counts as a new interval, rather than silencing the line until it catches up.
    if (windowStart !== undefined && now >= windowStart && now - windowStart < intervalMs) {
      suppressed += 1;
      return { log: false };
    }
    windowStart = now;
    const decision = { log: true, suppressed } as const;
    suppressed = 0;
    return decision;
  };
}

/**
 * Logs failed TLS handshakes (bad client certificates, port scanners, plain HTTP on the TLS port) as
 * warnings, at most one per `intervalMs`: any client can cause one, so unlimited lines would let
 * anyone flood the log. Replaces a bare `server.on('tlsClientError', ...)`.
 */
export function reportTlsClientErrors(server: Server, logger: Logger, clock: Clock, intervalMs = TLS_WARNING_INTERVAL_MS): void {
  const next = createLogLimiter(intervalMs, clock);
  server.on('tlsClientError', (error: Error) => {
    const decision = next();
    if (!decision.log) return;
    const fields = decision.suppressed > 0 ? { err: error.message, suppressed: decision.suppressed } : { err: error.message };
    logger.warn(fields, 'TLS handshake with a client failed');
  });
}
