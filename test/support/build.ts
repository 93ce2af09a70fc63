// Compiles the exporter for one test run into .tmp/dist-<pid>/, so runs in the same checkout never share dist/.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { processExists } from './processes.js';

const ROOT = resolve(import.meta.dirname, '../..');

export type RunBuild = {
  /** .tmp/dist-<pid>: package.json beside dist/, as in the repository. */
  dir: string;
  /** dist/main.js inside `dir`. */
  main: string;
  remove(): void;
};

/**
 * `npm run build` (esbuild's bundle) into a folder of this run. It lies inside the repository so that node_modules resolves from it,
 * and holds a copy of package.json ("type": "module", and the version src/version.ts reads from ../package.json).
 * Folders left by runs that were killed before their teardown are removed first.
 */
export function buildForTestRun(): RunBuild {
  const tmp = join(ROOT, '.tmp');
  mkdirSync(tmp, { recursive: true });
  for (const name of readdirSync(tmp)) {
    const pid = Number(/^dist-(\d+)$/.exec(name)?.[1]);
    if (pid > 0 && pid !== process.pid && !processExists(pid)) rmSync(join(tmp, name), { recursive: true, force: true });
  }
  const dir = join(tmp, `dist-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  // The same bundle `npm run build` makes, so the tests run what users run.
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), join(dir, 'dist')], { cwd: ROOT, stdio: 'inherit' });
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  // The script writes dist/build-info.json relative to its working directory.
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'write-build-info.mjs')], { cwd: dir, stdio: 'inherit' });
  return { dir, main: join(dir, 'dist', 'main.js'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
