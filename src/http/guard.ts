// The request guard of the web config: rate limit, configured response headers and basic auth, before every route.
import type { Guard } from './app.js';
import { sendText } from './respond.js';
import { createBasicAuthVerifier, parseBasicAuth } from './basic-auth.js';
import type { BcryptCompare } from './bcrypt-worker.js';
import type { WebConfig } from './web-config.js';

/** exporter-toolkit sends a bare `Basic` challenge, without a realm (web/handler.go). */
export const WWW_AUTHENTICATE = 'Basic';

/**
 * Seconds a client is told to wait when the bcrypt queue is full: the queue drains in about half a
 * second at cost 10, and Retry-After has whole seconds. Prometheus ignores it (it retries on its
 * next interval); it is for curl loops and other clients that honour it.
 */
export const BUSY_RETRY_AFTER_S = 1;

/** Extra knobs for tests; the main module passes none. */
export type WebConfigMiddlewareOptions = {
  /** Monotonic milliseconds, for the rate limiter and the failed-login cache. */
  now?: () => number;
  /** The bcrypt compare; defaults to one in a worker thread. */
  compare?: BcryptCompare;
  /** bcrypt compares that may wait behind the running one before 503 is answered. */
  maxQueued?: number;
};

/** The guard, plus `close()` to stop its bcrypt worker thread on shutdown. */
export type WebConfigGuard = Guard & { close(): Promise<void> };

/** A token bucket like golang.org/x/time/rate: starts full, one token back every interval. */
function createRateLimiter(limit: { intervalMs: number; burst: number }, now: () => number): () => boolean {
  let tokens = limit.burst;
  let last = now();
  return () => {
    const at = now();
    tokens = Math.min(limit.burst, tokens + (at - last) / limit.intervalMs);
    last = at;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

/**
 * Applies the web config to every request, in exporter-toolkit's order:
 * rate limit (429), configured response headers (also on 401s), then basic auth when users are
 * configured (401 with `WWW-Authenticate: Basic`; 503 with `Retry-After` when the bcrypt queue is
 * full, since the password was not checked at all). Mount it before every route. With no config it
 * only calls next(). Call `close()` on shutdown; an idle worker never keeps the process alive anyway.
 */
export function webConfigMiddleware(config: WebConfig | undefined, options: WebConfigMiddlewareOptions = {}): WebConfigGuard {
  const nothingToClose = async (): Promise<void> => {};
  if (!config) return Object.assign<Guard, { close: () => Promise<void> }>((_req, _res, next) => next(), { close: nothingToClose });
  const now = options.now ?? (() => performance.now());
  const headers = [...config.headers];
  const allow = config.rateLimit ? createRateLimiter(config.rateLimit, now) : undefined;
  const verifier =
    config.basicAuthUsers.size > 0
      ? createBasicAuthVerifier(config.basicAuthUsers, { now, compare: options.compare, maxQueued: options.maxQueued })
      : undefined;

  const handler: Guard = (req, res, next) => {
    if (allow && !allow()) {
      sendText(res, 429, 'Too Many Requests\n');
      return;
    }
    for (const [name, value] of headers) res.setHeader(name, value);
    if (!verifier) {
      next();
      return;
    }
    const unauthorized = (): void => {
      sendText(res, 401, 'Unauthorized\n', { 'WWW-Authenticate': WWW_AUTHENTICATE });
    };
    const credentials = parseBasicAuth(req.headers.authorization);
    if (!credentials) {
      unauthorized();
      return;
    }
    verifier.verify(credentials).then((result) => {
      switch (result) {
        case 'allowed':
          next();
          return;
        case 'denied':
          unauthorized();
          return;
        case 'busy':
          sendText(res, 503, 'Service Unavailable\n', { 'Retry-After': String(BUSY_RETRY_AFTER_S) });
          return;
      }
    }, next);
  };
  return Object.assign(handler, { close: verifier ? () => verifier.close() : nothingToClose });
}
