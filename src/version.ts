// Version and git revision of this build, for --version, the status page and wolkvox_exporter_build_info.
import { readFileSync } from 'node:fs';

export type BuildInfo = { version: string; revision: string };

function readJson(url: URL): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Reads package.json for the version and build-info.json (written by `npm run build`) for the
 * revision. Both sit at fixed places relative to this module, in src/ and in dist/ alike.
 */
export function readBuildInfo(): BuildInfo {
  const pkg = readJson(new URL('../package.json', import.meta.url));
  const built = readJson(new URL('./build-info.json', import.meta.url));
  return {
    version: typeof pkg?.version === 'string' ? pkg.version : 'unknown',
    revision: typeof built?.revision === 'string' ? built.revision : 'unknown',
  };
}
