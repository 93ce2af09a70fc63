// bcrypt basic auth for the web config file: header parsing, constant-time user lookup, a bounded cache of good logins.
import { createHash, timingSafeEqual } from 'node:crypto';
import { compare, getRounds } from 'bcryptjs';

/**
 * A bcrypt hash as htpasswd and the exporter-toolkit docs produce it: `$2a$`, `$2b$` or `$2y$`
 * (the same algorithm; bcryptjs accepts all three), a cost of 04..31, then 53 bcrypt-base64 chars.
 */
export const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/** Good logins remembered (exporter-toolkit's web/cache.go also keeps 100). Only successes are stored, so
 * in practice it holds one entry per user; the bound is a safety net. */
export const AUTH_CACHE_SIZE = 100;

export type Credentials = { user: string; password: string };

/** Resolves true only for a configured user with the right password; never rejects for bad input. */
export type BasicAuthVerifier = (credentials: Credentials) => Promise<boolean>;

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

/**
 * Checks credentials against `users` (name → bcrypt hash, already validated with BCRYPT_HASH).
 *
 * Timing reveals neither which users exist nor how close a guess was: every configured name is
 * compared with `timingSafeEqual` on SHA-256 digests (equal length whatever the input), and every
 * attempt that is not a cached success pays one bcrypt compare; an unknown user is compared against
 * the costliest configured hash, so it takes as long as the slowest real user. Successes are cached
 * under a SHA-256 of (user, hash, password), so the cache holds no plaintext and a changed hash
 * misses; failures are never cached, so guessing always costs a bcrypt round.
 */
export function createBasicAuthVerifier(users: ReadonlyMap<string, string>): BasicAuthVerifier {
  const entries = [...users].map(([user, hash]) => ({ digest: sha256(user), hash }));
  const decoy = entries.reduce<string | undefined>(
    (costliest, { hash }) => (costliest === undefined || getRounds(hash) > getRounds(costliest) ? hash : costliest),
    undefined,
  );
  if (decoy === undefined) throw new Error('createBasicAuthVerifier needs at least one user');
  const cache = new Map<string, true>();

  return async ({ user, password }) => {
    const given = sha256(user);
    let hash: string | undefined;
    for (const entry of entries) {
      // No early exit: the loop takes as long for the first user as for no user at all.
      if (timingSafeEqual(entry.digest, given)) hash = entry.hash;
    }
    const key = sha256(user, hash ?? decoy, password).toString('hex');
    if (hash !== undefined && cache.has(key)) {
      cache.delete(key); // re-insert: Map order is the eviction order, oldest first
      cache.set(key, true);
      return true;
    }
    let matches: boolean;
    try {
      matches = await compare(password, hash ?? decoy);
    } catch {
      matches = false; // bcryptjs throws only on malformed input, which is a failed login
    }
    if (hash === undefined || !matches) return false;
    if (cache.size >= AUTH_CACHE_SIZE) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(key, true);
    return true;
  };
}
