// Bundles src/ into dist/ with esbuild: one entry and lazily loaded chunks, so the exporter starts without resolving hundreds of files.
//
// `node scripts/bundle.mjs [OUTDIR]` (default dist). Type checking is tsc's job (`npm run lint`);
// esbuild only strips the types. What only some runs need (undici, the simulator, the web
// config, the healthcheck and backfill commands) stays behind dynamic imports, in chunks of their
// own. bcryptjs stays in node_modules: the worker thread of basic auth loads it by path; yaml too,
// as config/yaml.ts requires it on first use.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const outdir = resolve(process.argv[2] ?? resolve(root, 'dist'));
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [resolve(root, 'src/main.ts')],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  external: ['bcryptjs', 'yaml'],
  // Bundled CommonJS (prom-client, pino, undici) calls require() for Node's built-ins.
  banner: { js: "import { createRequire as __wolkvoxCreateRequire } from 'node:module'; const require = __wolkvoxCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
