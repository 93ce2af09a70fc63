// Bundles src/ into dist/ with esbuild: one entry and lazily loaded chunks, so the exporter starts without resolving hundreds of files.
//
// `node scripts/bundle.mjs [OUTDIR]` (default dist). Type checking is tsc's job (`npm run lint`);
// esbuild only strips the types. What only some runs need (node:https, the simulator, the web
// config, the healthcheck and backfill commands) stays behind dynamic imports, in chunks of their
// own. bcryptjs stays in node_modules: the worker thread of basic auth loads it by path. yaml is
// bundled: from node_modules it took some 80 files to resolve and load at every start (30-40 ms).
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';

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
  external: ['bcryptjs'],
  // Bundled CommonJS (prom-client, pino) calls require() for Node's built-ins.
  banner: { js: "import { createRequire as __wolkvoxCreateRequire } from 'node:module'; const require = __wolkvoxCreateRequire(import.meta.url);" },
  plugins: [withoutPushgateway],
  logLevel: 'warning',
});
