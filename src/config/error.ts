// The one error type for bad flags, env vars and config files; main turns it into exit status 2.

/** A configuration problem. `key` names the flag, env var or file path at fault (e.g. `accounts[1].timezone`). */
export class ConfigError extends Error {
  readonly key: string;

  constructor(key: string, message: string) {
    super(`${key}: ${message}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}
