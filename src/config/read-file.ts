// Reading a file that the configuration names, with a failure turned into a ConfigError that names the key and the file.
import { readFileSync } from 'node:fs';
import { ConfigError } from './error.js';

/** Reads a whole file as UTF-8; injected so tests and reloads control the file system. */
export type ReadFile = (path: string) => string;

export type ReadOptions = {
  /** What the file is, for the message: "token file" → "cannot read token file /x: ENOENT". */
  what?: string;
  /** Appended to the message, e.g. " (in /etc/wolkvox.yml)" for a file named inside another. */
  note?: string;
  /** The key inside another file that named this one, put before the message: "tls_server_config.cert_file". */
  field?: string;
};

/** The file's text, or a ConfigError `key: [field: ]cannot read [what ]PATH: CODE[note]`; only the errno code is quoted. */
export function readNamedFile(readFile: ReadFile, path: string, key: string, { what, note = '', field }: ReadOptions = {}): string {
  try {
    return readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'unreadable';
    const where = field !== undefined ? `${field}: ` : '';
    throw new ConfigError(key, `${where}cannot read ${what !== undefined ? `${what} ` : ''}${path}: ${code}${note}`);
  }
}

/** Reads a file from disk as UTF-8: the ReadFile of production. */
export const readUtf8: ReadFile = (path) => readFileSync(path, 'utf8');
