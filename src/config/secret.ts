// A wrapper that keeps the Wolkvox token out of logs, errors, JSON and util.inspect output.
import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

/**
 * Holds a secret string. Every way of turning it into text other than `reveal()` prints
 * `[REDACTED]`, so a config object can be logged or thrown without leaking the token.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself; call it only where it leaves the process (the request header). */
  reveal(): string {
    return this.#value;
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
