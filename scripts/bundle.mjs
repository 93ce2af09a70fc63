// Bundles src/ into dist/ with esbuild, then primes the V8 code cache the binary starts from.
//
// `node scripts/bundle.mjs [OUTDIR]` (default dist) writes:
// - exporter.cjs: src/main.ts and every dependency but bcryptjs, one CommonJS file. src/bin.ts compiles it with
//   vm.Script, which takes a code cache for classic scripts only. What only some runs need (node:https, the
//   simulator, the web config, the healthcheck and backfill commands) is still initialised only when imported,
//   and V8 compiles a function only when it first runs, so the parts unused stay cheap.
// - main.js: src/bin.ts, the command; its #! line carries the exporter's V8 flags.
// - package.json: "type": "commonjs", for both (the repository's package.json says "module").
// - exporter.cjs.cache: the code cache (scripts/prime-code-cache.mjs).
// Type checking is tsc's job (`npm run lint`); esbuild only strips the types. bcryptjs stays in node_modules: the
// worker thread of basic auth loads it by path. yaml is bundled: from node_modules it took some 80 files to resolve
// and load at every start (30-40 ms).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { primeCodeCache } from './prime-code-cache.mjs';

const root = resolve(import.meta.dirname, '..');

/**
 * prom-client's index requires its Pushgateway, and that requires node:https, which loads node:tls: about 1 MB and
 * 5 ms at every start, for a class the exporter never uses. In the bundle the index gets a Pushgateway that says so.
 */
const withoutPushgateway = {
  name: 'prom-client-without-pushgateway',
  setup(bundle) {
    bundle.onResolve({ filter: /^\.\/lib\/pushgateway$/ }, (args) =>
      args.importer.includes('/node_modules/prom-client/') ? { path: 'pushgateway', namespace: 'unused-pushgateway' } : undefined,
    );
    bundle.onLoad({ filter: /.*/, namespace: 'unused-pushgateway' }, () => ({
      contents: "module.exports = class Pushgateway { constructor() { throw new Error('prom-client Pushgateway is left out of the wolkvox-exporter bundle'); } };",
      loader: 'js',
    }));
  },
};

/** esbuild's warnings fail the build: one about import.meta in CommonJS output means code that breaks at run time. */
async function buildOrFail(options) {
  const result = await build({ bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, keepNames: true, logLevel: 'warning', ...options });
  if (result.warnings.length > 0) throw new Error(`esbuild warned ${result.warnings.length} time(s) building ${options.outfile}; see above`);
}

const outdir = resolve(process.argv[2] ?? resolve(root, 'dist'));
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await buildOrFail({
  entryPoints: [resolve(root, 'src/main.ts')],
  outfile: resolve(outdir, 'exporter.cjs'),
  sourcemap: 'linked',
  external: ['bcryptjs'],
  // The file is one function expression, the wrapper Node.js gives every CommonJS module: src/bin.ts compiles it as
  // read, where wrapping it there would copy its 860 KB once more. 'use strict' first, as src/ is ES modules and so
  // always strict; it covers the bundled CommonJS dependencies too, as when the bundle was an ES module. The only
  // use of import.meta in src/ is its url (version.ts finds package.json by it).
  banner: { js: "(function (exports, require, module, __filename, __dirname) {'use strict';var __wolkvoxModuleUrl=require('node:url').pathToFileURL(__filename).href;" },
  footer: { js: '})' },
  define: { 'import.meta.url': '__wolkvoxModuleUrl' },
  plugins: [withoutPushgateway],
  // import() as require(): code that vm.Script compiled has no loader for import() (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING).
  supported: { 'dynamic-import': false },
});
// V8 holds a script's source for as long as the script lives, in one byte per character only if every character is
// ASCII. One other (a µ in a regular expression, which esbuild keeps as written) doubles the 860 KB to 1.7 MB.
const outsideAscii = /[^\x00-\x7f]/.exec(readFileSync(resolve(outdir, 'exporter.cjs'), 'latin1'));
if (outsideAscii) throw new Error(`exporter.cjs has a character outside ASCII at offset ${outsideAscii.index}: write it as an escape in src/`);
// src/bin.ts imports Node.js built-ins and src/read-outside-malloc.ts only; the exporter it loads is exporter.cjs.
await buildOrFail({ entryPoints: [resolve(root, 'src/bin.ts')], outfile: resolve(outdir, 'main.js') });
writeFileSync(resolve(outdir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
await primeCodeCache(outdir);
