// bcrypt basic auth for the web config file: header parsing, constant-time user lookup, caches of good and failed logins.
import { createHash, timingSafeEqual } from 'node:crypto';
import { getRounds } from 'bcryptjs';
import { createSerialQueue } from './bcrypt-queue.js';
import { createBcryptWorker, type BcryptCompare } from './bcrypt-worker.js';

/**
 * A bcrypt hash as htpasswd and the exporter-toolkit docs produce it: `$2a$`, `$2b$` or `$2y$`
 * (the same algorithm; bcryptjs accepts all three), a cost of 04..31, then 53 bcrypt-base64 chars.
 */
export const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/** Good logins remembered (exporter-toolkit's web/cache.go also keeps 100). In practice it holds one entry per
 * user; the bound is a safety net. */
export const AUTH_CACHE_SIZE = 100;

/** Failed logins remembered, in a cache of their own so that failures never evict a good login. */
export const FAILURE_CACHE_SIZE = 1_000;

/**
 * How long a failed login is remembered: long enough to cover a misconfigured scraper's interval
 * (15 s to 1 min), short enough that the cache stays small. The outcome of a (user, hash, password)
 * never changes while the process runs, so a longer TTL would not be wrong, only bigger.
 */
export const FAILURE_CACHE_TTL_MS = 60_000;

export type Credentials = { user: string; password: string };

/** `busy`: the bcrypt queue was full and the password was not checked; answer 503, not 401. */
export type AuthResult = 'allowed' | 'denied' | 'busy';

export type BasicAuthVerifier = {
  /** Never rejects for bad input; rejects only if the compare itself broke (e.g. the worker died). */
  verify(credentials: Credentials): Promise<AuthResult>;
  /** Stops the bcrypt worker thread, if this verifier started one. */
  close(): Promise<void>;
};

export type BasicAuthOptions = {
  /** The bcrypt compare; defaults to one in a worker thread. Tests pass a counting one. */
  compare?: BcryptCompare;
  /** Monotonic milliseconds, for the failure cache's TTL. */
  now?: () => number;
  /** Compares that may wait behind the running one before `busy` is answered. */
  maxQueued?: number;
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads `Authorization: Basic <base64(user:password)>` the way Go's `Request.BasicAuth` does
 * (scheme case-insensitive, strict base64, split at the first colon). Undefined when the header
 * is absent or malformed, including credentials that are not valid UTF-8, which no hash could match.
 */
export function parseBasicAuth(header: string | undefined): Credentials | undefined {
  if (header === undefined || header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const encoded = header.slice(6);
  if (!BASE64.test(encoded)) return undefined;
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(encoded, 'base64'));
  } catch {
    return undefined; // not UTF-8: treated exactly like a missing header
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sha256(...parts: string[]): Buffer {
  // JSON keeps the parts apart, so ("a:b", "c") and ("a", "b:c") never share a digest.
  return createHash('sha256').update(JSON.stringify(parts)).digest();
}

/** Good logins, least recently used evicted first (Set order is the eviction order). */
function createSuccessCache(size: number): { has(key: string): boolean; add(key: string): void } {
  const entries = new Set<string>();
  return {
    has(key) {
      if (!entries.has(key)) return false;
      entries.delete(key); // re-insert: most recently used last
      entries.add(key);
      return true;
    },
    add(key) {
      entries.delete(key);
      if (entries.size >= size) {
        const oldest = entries.values().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.add(key);
    },
  };
}

/**
 * Failed logins for `ttlMs`, at most `size`, oldest dropped first. Every entry lives equally long and
 * `now` never goes back, so insertion order is also expiry order: expired entries sit at the front.
 */
function createFailureCache(size: number, ttlMs: number, now: () => number): { has(key: string): boolean; add(key: string): void } {
  const expiries = new Map<string, number>();
  const dropExpired = (at: number): void => {
    for (const [key, expiry] of expiries) {
      if (expiry > at) break;
      expiries.delete(key);
    }
  };
  return {
    has(key) {
      dropExpired(now());
      return expiries.has(key);
    },
    add(key) {
      const at = now();
      dropExpired(at);
      expiries.delete(key);
      if (expiries.size >= size) {
        const oldest = expiries.keys().next();
        if (!oldest.done) expiries.delete(oldest.value);
      }
      expiries.set(key, at + ttlMs);
    },
  };
}

/**
 * Checks credentials against `users` (name → bcrypt hash, already validated with BCRYPT_HASH).
 *
 * Timing reveals neither which users exist nor how close a guess was: every configured name is
 * compared with `timingSafeEqual` on SHA-256 digests (equal length whatever the input), and every
 * attempt that is not cached pays one bcrypt compare; an unknown user is compared against the
 * costliest configured hash, so it takes as long as the slowest real user.
 *
 * Both outcomes are cached under a SHA-256 of (user, hash, password), so no plaintext is kept and a
 * changed hash misses, as exporter-toolkit caches both: successes in an LRU of AUTH_CACHE_SIZE,
 * failures for FAILURE_CACHE_TTL_MS in a separate cache, so a flood of guesses cannot push out a good
 * login. Repeating a guess is free; every new guess still costs a bcrypt round.
 *
 * The compares run in a worker thread (the event loop keeps serving scrapes and polling), one at a
 * time, with at most `maxQueued` waiting; past that `busy` is answered without running bcrypt. The
 * same (user, hash, password) already being compared is awaited, not queued again.
 */
export function createBasicAuthVerifier(users: ReadonlyMap<string, string>, options: BasicAuthOptions = {}): BasicAuthVerifier {
  const entries = [...users].map(([user, hash]) => ({ digest: sha256(user), hash }));
  const decoy = entries.reduce<string | undefined>(
    (costliest, { hash }) => (costliest === undefined || getRounds(hash) > getRounds(costliest) ? hash : costliest),
    undefined,
  );
  if (decoy === undefined) throw new Error('createBasicAuthVerifier needs at least one user');
  // The worker starts no thread until its first compare, so a verifier that never checks a password costs nothing.
  const { compare, close } = options.compare ? { compare: options.compare, close: async () => {} } : createBcryptWorker();
  const queue = createSerialQueue(options.maxQueued);
  const successes = createSuccessCache(AUTH_CACHE_SIZE);
  const failures = createFailureCache(FAILURE_CACHE_SIZE, FAILURE_CACHE_TTL_MS, options.now ?? (() => performance.now()));
  const inFlight = new Map<string, Promise<boolean>>();

  const verify = async ({ user, password }: Credentials): Promise<AuthResult> => {
    const given = sha256(user);
    let hash: string | undefined;
    for (const entry of entries) {
      // No early exit: the loop takes as long for the first user as for no user at all.
      if (timingSafeEqual(entry.digest, given)) hash = entry.hash;
    }
    const key = sha256(user, hash ?? decoy, password).toString('hex');
    if (hash !== undefined && successes.has(key)) return 'allowed';
    if (failures.has(key)) return 'denied';

    let matching = inFlight.get(key);
    if (!matching) {
      const queued = queue.run(() => compare(password, hash ?? decoy));
      if (!queued) return 'busy';
      matching = queued;
      inFlight.set(key, queued);
      const forget = (): void => {
        inFlight.delete(key);
      };
      queued.then(forget, forget);
    }
    const matches = await matching;
    if (hash !== undefined && matches) {
      successes.add(key);
      return 'allowed';
    }
    failures.add(key);
    return 'denied';
  };

  return { verify, close };
}
