#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size --no-memory-reducer --v8-pool-size=1
// The installed command, dist/main.js: compiles the bundled exporter (dist/exporter.cjs) with the V8 code cache
// that `npm run build` wrote beside it, then runs it.
//
// --max-semi-space-size=1 (MB) keeps V8's young generation small: a scrape allocates little, and the default 16 MB
// semi-spaces would cost about 20 MB of RSS under load for no gain (README: Performance).
//
// --no-memory-reducer and --v8-pool-size=1 keep the event loop free while 1,000 accounts' first polls run (issue 10).
// V8's memory reducer starts collections when allocation slows; under --optimize-for-size they compact, and their
// pauses took 18-33 ms. V8's four helper threads (a Node option: the default is 4) share a single CPU with the main
// thread: while a collection ran, `perf sched timehist` showed the kernel giving the five threads 4 ms turns, so the
// main thread got 1 ms in 5. With one helper the longest delay of the first polls fell from 28-41 ms to 11-16 ms,
// and RSS by 3 MB (README: Performance). Lowering the helpers' priority instead did as well on an idle CPU, but with
// any other busy process on that CPU the main thread waited on starved helpers for up to 400 ms.
//
// Why a code cache: parsing and compiling the bundle's code was a third of a cold start, and Node.js 20 has no
// compile cache of its own (module.enableCompileCache() came in 22.1). vm.Script takes V8's cached bytecode for
// classic scripts only, hence one CommonJS bundle and this file. V8 accepts the cache only from the same Node.js
// build run with the same V8 flags; anywhere else it rejects it, and the exporter compiles as it would without.
//
// dist/main.js is CommonJS (dist/package.json), so __dirname is this file's folder.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import type { CodeCacheUse, runAsBinary } from './main.js';
import { readOutsideMalloc } from './read-outside-malloc.js';

/**
 * Set by scripts/prime-code-cache.mjs only: the file this run writes its code cache to as it exits, with the bytecode
 * of everything a start and a scrape compiled.
 */
const WRITE_CODE_CACHE_ENV = 'WOLKVOX_EXPORTER_WRITE_CODE_CACHE';

const bundle = join(__dirname, 'exporter.cjs');

/** A cache that cannot be read is as good as none: the exporter starts without it. */
function readCodeCache(): Uint8Array | undefined {
  try {
    return readOutsideMalloc(`${bundle}.cache`);
  } catch {
    return undefined;
  }
}

/** The bundle is the function Node.js would wrap a CommonJS module in, in ASCII only (scripts/bundle.mjs). */
function compileBundle(): { script: Script; codeCache: CodeCacheUse } {
  const cachedData = readCodeCache();
  const source = readOutsideMalloc(bundle);
  const script = new Script(Buffer.from(source.buffer, 0, source.length).toString('latin1'), { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  return { script, codeCache: cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used' };
}

const { script, codeCache } = compileBundle();

const writeTo = process.env[WRITE_CODE_CACHE_ENV];
if (writeTo) process.once('exit', () => writeFileSync(writeTo, script.createCachedData()));

const exporter = { exports: {} as { runAsBinary: typeof runAsBinary } };
(script.runInThisContext() as (...args: unknown[]) => void)(exporter.exports, createRequire(bundle), exporter, bundle, __dirname);
exporter.exports.runAsBinary({ codeCache });
