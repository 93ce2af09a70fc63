// A wrapper that keeps the Wolkvox token out of logs, errors, JSON and util.inspect output.
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

/**
 * Holds a secret string. Every way of turning it into text other than `reveal()` prints
 * `[REDACTED]`, so a config object can be logged or thrown without leaking the token.
 */
export class Secret {
  readonly #value: string;
  #fingerprint: string | undefined;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself; call it only where it leaves the process (the request header). */
  reveal(): string {
    return this.#value;
  }

  /**
   * A short, stable name for the secret that does not reveal it: the first 16 hex digits of its
   * SHA-256. Used to key per-token state (quota pauses, limiters) and to tell tokens apart on pages.
   */
  fingerprint(): string {
    this.#fingerprint ??= createHash('sha256').update(this.#value).digest('hex').slice(0, 16);
    return this.#fingerprint;
  }

  equals(other: Secret): boolean {
    return this.#value === other.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
