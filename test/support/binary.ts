// The compiled exporter that end-to-end tests start, and the address it reports once it listens.
import { existsSync } from 'node:fs';

/** Set by the global setup to the main.js compiled for this test run (see test/support/build.ts). */
export const EXPORTER_BINARY_ENV = 'WOLKVOX_TEST_EXPORTER';

/**
 * The binary of this test run: this tree compiled into a folder of its own, never dist/, so a second `npm test` in
 * the same checkout cannot rewrite it while this one runs. @throws when the global setup did not build it.
 */
export function exporterBinary(): string {
  const main = process.env[EXPORTER_BINARY_ENV];
  if (!main) throw new Error(`${EXPORTER_BINARY_ENV} is not set: the vitest global setup (test/global-setup.ts) builds the exporter`);
  if (!existsSync(main)) throw new Error(`${main} is missing: the vitest global setup builds it and its teardown removes it`);
  return main;
}

/**
 * `host:port` from the exporter's `listening` log line, JSON or logfmt, once a whole such line is in `output`.
 * Start it with `--web.listen-address=127.0.0.1:0` and read the port back: a port found free beforehand may be
 * taken by a concurrent test run before the exporter binds it.
 */
export function listeningAddress(output: string): string | undefined {
  // The last piece has no newline yet: it may be half a line.
  for (const line of output.split('\n').slice(0, -1)) {
    if (line.startsWith('{')) {
      const record = JSON.parse(line) as { msg?: unknown; address?: unknown };
      if (record.msg === 'listening' && typeof record.address === 'string') return record.address;
    } else if (/(?:^| )msg=listening(?: |$)/.test(line)) {
      const address = /(?:^| )address=(\S+)/.exec(line)?.[1];
      if (address !== undefined) return address;
    }
  }
  return undefined;
}
