// What each runtime dependency costs at start: RSS and time of `node -e "import('x')"` against a bare node, run side by side.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runToEnd, shebangFlags } from './processes.js';

/**
 * The dependencies of package.json, and two the exporter left for node:http because of what this
 * table showed: express (the server, commit cb1a70f) and undici (the chat_15 client). Those two are
 * measured when still in node_modules, or in BENCH_DEP_DIR (a directory with a node_modules of its
 * own, e.g. after `npm install --prefix DIR express@5 undici@7`).
 */
const MODULES = ['express', 'undici', 'zod', 'yaml', 'pino', 'prom-client', 'bcryptjs'] as const;

/** The former dependencies, and what took their place. */
const REPLACED: Partial<Record<string, string>> = {
  express: 'the HTTP server is node:http since commit cb1a70f',
  undici: 'the chat_15 client is node:http(s) since commit cbf9b8e',
};

/** Runs per module; the median is reported. Rounds interleave bare node and every module, so noise weighs on all alike. */
const RUNS = Number(process.env.BENCH_DEP_RUNS ?? 9);

/**
 * The child prints its RSS one turn after the import, and how long the import took inside it.
 * Bare node runs the same script with nothing to import. `expression` is what is awaited.
 */
const script = (expression: string): string => `
const t0 = performance.now();
(${expression}).then(() => {
  const ms = performance.now() - t0;
  setImmediate(() => console.log(JSON.stringify({ rss: process.memoryUsage().rss, ms })));
});
`;

type Run = { rssMb: number; importMs: number; wallMs: number };

/** The V8 flags of the exporter's #! line (dist/main.js), so a dependency costs what it costs in the exporter. */
function exporterFlags(root: string): string[] {
  const main = join(root, 'dist', 'main.js');
  return existsSync(main) ? shebangFlags(main) : [];
}

async function runOnce(expression: string, cwd: string, flags: readonly string[]): Promise<Run> {
  const started = performance.now();
  const { code, out, err } = await runToEnd(process.execPath, [...flags, '-e', script(expression)], { cwd, env: { ...process.env, NODE_OPTIONS: '' } });
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`node -e "${expression}" exited ${code}: ${err.trim()}`);
  const { rss, ms } = JSON.parse(out) as { rss: number; ms: number };
  return { rssMb: rss / 2 ** 20, importMs: ms, wallMs };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** The directory to run a module's import from (its node_modules resolves it), or undefined when it is not installed. */
function whereInstalled(name: string, root: string, extraDir: string | undefined): string | undefined {
  for (const dir of [root, extraDir]) {
    if (dir === undefined) continue;
    try {
      createRequire(join(dir, 'package.json')).resolve(`${name}/package.json`);
      return dir;
    } catch {
      // Packages whose exports map hides package.json: look for the folder itself.
      if (existsSync(join(dir, 'node_modules', name, 'package.json'))) return dir;
    }
  }
  return undefined;
}

function versionOf(name: string, dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

export type DependencyCost = { name: string; version: string; rssDeltaMb: number; importMs: number; wallDeltaMs: number };

export type DependencyCosts = { flags: string[]; bare: { rssMb: number; wallMs: number }; costs: DependencyCost[]; missing: string[]; runs: number };

/** Rows beside the dependencies: what any first import costs, and Node's own undici (see below). */
const REFERENCES = [
  // Node's module loaders start with the first import of a file, whichever it is.
  { name: '(an empty module)', version: '', expression: (emptyModule: string) => `import(${JSON.stringify(emptyModule)})` },
  // The first touch of fetch, Headers or Response loads the undici inside Node, with a WebAssembly
  // llhttp of its own. undici 7 does that as it loads (lib/web/cookies), so it is part of undici's row;
  // the exporter itself touches none of them (test/integration/binary.test.ts holds it to that).
  { name: "(globalThis.Headers: Node's own undici)", version: process.versions.undici ?? '', expression: () => 'Promise.resolve(globalThis.Headers)' },
] as const;

export async function measureDependencyCosts(root = resolve('.'), extraDir = process.env.BENCH_DEP_DIR): Promise<DependencyCosts> {
  const flags = exporterFlags(root);
  const scratch = mkdtempSync(join(tmpdir(), 'wolkvox-bench-deps-'));
  const emptyModule = join(scratch, 'empty.cjs');
  writeFileSync(emptyModule, '');
  try {
    const installed = MODULES.flatMap((name) => {
      const dir = whereInstalled(name, root, extraDir);
      return dir === undefined ? [] : [{ name, version: versionOf(name, dir), dir, expression: `import(${JSON.stringify(name)})` }];
    });
    const cases = [...REFERENCES.map((reference) => ({ name: reference.name, version: reference.version, dir: root, expression: reference.expression(emptyModule) })), ...installed];
    const missing = MODULES.filter((name) => !installed.some((each) => each.name === name));
    const bare: Run[] = [];
    const runs = new Map<string, Run[]>(cases.map(({ name }) => [name, []]));
    for (let round = 0; round < RUNS; round++) {
      bare.push(await runOnce('Promise.resolve()', root, flags));
      for (const { name, dir, expression } of cases) runs.get(name)?.push(await runOnce(expression, dir, flags));
    }
    const bareRss = median(bare.map((run) => run.rssMb));
    const bareWall = median(bare.map((run) => run.wallMs));
    const costs = cases.map(({ name, version }): DependencyCost => {
      const own = runs.get(name) ?? [];
      return {
        name,
        version,
        rssDeltaMb: median(own.map((run) => run.rssMb)) - bareRss,
        importMs: median(own.map((run) => run.importMs)),
        wallDeltaMs: median(own.map((run) => run.wallMs)) - bareWall,
      };
    });
    return { flags, bare: { rssMb: bareRss, wallMs: bareWall }, costs, missing, runs: RUNS };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function printDependencyCosts(result: DependencyCosts): void {
  const node = ['node', ...result.flags].join(' ');
  console.log(
    `\n== What each dependency costs at start: ${node} -e "import('x')" vs bare ${node} (${process.version}), median of ${result.runs} runs each, interleaved ==`,
  );
  console.log(`  bare node: RSS ${result.bare.rssMb.toFixed(1)} MB, ${result.bare.wallMs.toFixed(0)} ms from spawn to exit; RSS delta and spawn-to-exit delta are against it`);
  const header = ['module', 'version', 'RSS delta MB', 'import ms', 'spawn-to-exit delta ms'];
  const rows = result.costs.map((cost) => [cost.name, cost.version, cost.rssDeltaMb.toFixed(1), cost.importMs.toFixed(1), cost.wallDeltaMs.toFixed(0)]);
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => (row[index] ?? '').length)));
  for (const row of [header, ...rows]) {
    console.log(`  ${row.map((cell, index) => (index < 2 ? cell.padEnd(widths[index] ?? 0) : cell.padStart(widths[index] ?? 0))).join('  ')}`);
  }
  for (const name of result.missing) {
    console.log(`  ${name}: not installed, not measured${REPLACED[name] ? ` (no longer a dependency: ${REPLACED[name]})` : ''}`);
  }
}

if (process.argv[1]?.endsWith('dependency-cost.ts')) {
  measureDependencyCosts()
    .then(printDependencyCosts)
    .catch((error: unknown) => {
      console.error(`dependency-cost: ${(error as Error).message}`);
      process.exit(1);
    });
}
