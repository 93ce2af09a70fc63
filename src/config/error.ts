// The one error type for bad flags, env vars and config files (main turns it into exit status 2), and how keys are written.

/** A configuration problem. `key` names the flag, env var or file path at fault (e.g. `accounts[1].timezone`). */
export class ConfigError extends Error {
  readonly key: string;

  constructor(key: string, message: string) {
    super(`${key}: ${message}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

/** Renders a zod issue path the way operators write it: `accounts[1].timezone`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((text, part) => {
    if (typeof part === 'number') return `${text}[${part}]`;
    return text === '' ? String(part) : `${text}.${String(part)}`;
  }, '');
}
