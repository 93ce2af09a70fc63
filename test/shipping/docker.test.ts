// The container files, checked statically (image.test.ts builds and runs the image): the Dockerfile's stages, user,
// health check and secrets; the build context whitelist; and the compose stack as Debian's docker-compose resolves it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { shebangFlags } from '../../bench/processes.js';
import { systemTools } from '../support/system-tools.js';

const ROOT = resolve(import.meta.dirname, '../..');

type Instruction = { keyword: string; args: string; line: number };
type Stage = { from: string; name?: string; instructions: Instruction[] };

/** Instructions of a Dockerfile: comments dropped, backslash continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const match = /^(\S+)\s*(.*)$/.exec(full);
    if (match?.[1]) instructions.push({ keyword: match[1].toUpperCase(), args: match[2] ?? '', line: start });
  }
  return instructions;
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/);
      stages.push({ from: image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** The node flags of the binary's #! line: `#!/usr/bin/env -S node <flags>`. */
const SHEBANG_FLAGS = shebangFlags(join(ROOT, 'src/bin.ts'));

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const stages = stagesOf(dockerfile);
const runtime = stages.at(-1)!;
const inRuntime = (keyword: string): Instruction[] => runtime.instructions.filter((i) => i.keyword === keyword);
const execForm = (args: string): string[] => JSON.parse(args) as string[];

/** .dockerignore semantics: the last matching pattern wins, `!` re-includes, a match on a directory covers its contents. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = (negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
      let source = '';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i]!;
        if (c === '*' && pattern[i + 1] === '*') {
          const slash = pattern[i + 2] === '/';
          source += slash ? '(?:.*/)?' : '.*';
          i += slash ? 2 : 1;
        } else if (c === '*') source += '[^/]*';
        else if (c === '?') source += '[^/]';
        else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negated, regex: new RegExp(`^${source}$`) };
    });
  return (path: string): boolean => {
    const parts = path.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) if (prefixes.some((prefix) => rule.regex.test(prefix))) ignored = !rule.negated;
    return ignored;
  };
}
const ignored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));

/** Files on disk under `path` (itself, if it is a file), relative to the repository. */
function filesUnder(path: string): string[] {
  if (!statSync(join(ROOT, path)).isDirectory()) return [path];
  return readdirSync(join(ROOT, path), { recursive: true, encoding: 'utf8' })
    .map((entry) => `${path}/${entry}`)
    .filter((entry) => !entry.split('/').includes('node_modules') && statSync(join(ROOT, entry)).isFile());
}

const buildStage = stages.find((stage) => stage.name === 'build');
/** COPY sources from the context (not from another stage) among `instructions`. */
const copySources = (instructions: Instruction[]): string[] =>
  instructions
    .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
    .flatMap((i) => i.args.split(/\s+/).filter((arg) => !arg.startsWith('--')).slice(0, -1));

describe('Dockerfile', () => {
  it('is multi-stage: a build stage with dev dependencies, a runtime stage with production ones only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(buildStage, 'a stage named build').toBeDefined();
    const buildRuns = buildStage!.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(buildRuns.some((run) => /\bnpm ci\b/.test(run) && !run.includes('--omit=dev'))).toBe(true);
    expect(buildRuns.some((run) => run.includes('npm run build'))).toBe(true);
    const runtimeRuns = inRuntime('RUN').map((i) => i.args);
    expect(runtimeRuns.some((run) => /\bnpm ci\b.*--omit=dev/.test(run))).toBe(true);
    expect(runtimeRuns.join('\n')).not.toMatch(/npm (install|ci)(?!.*--omit=dev)/);
    expect(inRuntime('COPY').map((i) => i.args)).toContain('--from=build /app/dist ./dist');
  });

  it('runs on node 20 bookworm-slim', () => {
    const images = dockerfile.filter((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE=')).map((i) => i.args);
    expect(images).toEqual(['NODE_IMAGE=node:20-bookworm-slim']);
    for (const stage of stages) expect(stage.from).toBe('${NODE_IMAGE}');
  });

  it('runs as a non-root user in the final stage', () => {
    const users = inRuntime('USER').map((i) => i.args.trim());
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
  });

  it('exposes 9867 and enters the exporter', () => {
    expect(inRuntime('EXPOSE').map((i) => i.args)).toEqual(['9867']);
    const [entrypoint] = inRuntime('ENTRYPOINT');
    // The V8 flags of the binary's own #! line, so the image runs the exporter as `wolkvox-exporter` does.
    expect(execForm(entrypoint!.args)).toEqual(['node', ...SHEBANG_FLAGS, 'dist/main.js']);
    expect(SHEBANG_FLAGS).toEqual(['--max-semi-space-size=1', '--optimize-for-size', '--no-memory-reducer', '--v8-pool-size=1']);
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toBe(`node ${SHEBANG_FLAGS.join(' ')} dist/main.js`);
    expect(scripts.demo).toContain(`exec node ${SHEBANG_FLAGS.join(' ')} dist/main.js --demo`);
    const [cmd] = inRuntime('CMD');
    expect(execForm(cmd!.args).every((arg) => arg.startsWith('--'))).toBe(true);
  });

  it("checks health with the exporter's own healthcheck subcommand (same flags and web config; no curl in slim)", () => {
    const healthchecks = inRuntime('HEALTHCHECK');
    expect(healthchecks).toHaveLength(1);
    const args = healthchecks[0]!.args;
    // The subcommand gives up after 4 s by default: --timeout must leave it that long plus Node's start-up.
    const timeout = /^--interval=\S+ --timeout=(\d+)s .*CMD \[/.exec(args)?.[1];
    expect(Number(timeout)).toBeGreaterThanOrEqual(8);
    const [entrypoint] = inRuntime('ENTRYPOINT');
    expect(execForm(args.slice(args.indexOf('CMD ') + 4))).toEqual([...execForm(entrypoint!.args), 'healthcheck']);
    // A fixed URL cannot follow --web.listen-address or --web.config.file (TLS, basic auth).
    expect(args).not.toMatch(/curl|wget|https?:|WOLKVOX_HEALTHCHECK_URL/);
  });

  it('hands the REVISION build argument to `npm run build`, so build info and --version carry it', () => {
    const instructions = buildStage!.instructions;
    const buildAt = instructions.findIndex((i) => i.keyword === 'RUN' && i.args.includes('npm run build'));
    const argAt = instructions.findIndex((i) => i.keyword === 'ARG' && /^REVISION(=|$)/.test(i.args));
    expect(argAt, 'ARG REVISION in the build stage').toBeGreaterThanOrEqual(0);
    expect(argAt).toBeLessThan(buildAt);
    expect(instructions[buildAt]!.args).toMatch(/^WOLKVOX_EXPORTER_REVISION="\$REVISION" npm run build$/);
    // As a RUN-scoped variable, not ENV: the revision is a build input, not configuration of the running image.
    expect(dockerfile.filter((i) => i.keyword === 'ENV').map((i) => i.args).join('\n')).not.toContain('WOLKVOX_EXPORTER_REVISION');
  });

  it('brings into the build stage, before `npm run build`, every file the build script names, and what those import', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { build: string } };
    const scripts = pkg.scripts.build.split(/\s+/).filter((word) => /[./]/.test(word) && existsSync(join(ROOT, word)));
    expect(scripts).toEqual(['scripts/bundle.mjs', 'scripts/write-build-info.mjs']);
    const imported = scripts.flatMap((script) =>
      [...readFileSync(join(ROOT, script), 'utf8').matchAll(/^import .* from '(\.[^']+)';$/gm)].map((match) => join(dirname(script), match[1]!)),
    );
    expect(imported).toEqual(['scripts/prime-code-cache.mjs']);
    const named = [...scripts, ...imported];
    const instructions = buildStage!.instructions;
    const copied = copySources(instructions.slice(0, instructions.findIndex((i) => i.args.includes('npm run build'))));
    for (const file of named) {
      expect(ignored(file), `${file} in the build context`).toBe(false);
      expect(copied.some((source) => file === source || file.startsWith(`${source}/`)), `${file} copied before the build`).toBe(true);
    }
  });

  it('write-build-info.mjs records WOLKVOX_EXPORTER_REVISION, as the image build passes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wolkvox-build-info-'));
    try {
      const run = (revision: string) => {
        const result = spawnSync(process.execPath, [join(ROOT, 'scripts/write-build-info.mjs')], {
          cwd: dir,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WOLKVOX_EXPORTER_REVISION: revision },
          encoding: 'utf8',
        });
        expect(result.status, result.stderr).toBe(0);
        return JSON.parse(readFileSync(join(dir, 'dist/build-info.json'), 'utf8')) as unknown;
      };
      expect(run('0123456789ab')).toEqual({ revision: '0123456789ab' });
      // An empty --build-arg REVISION= means "not given", as in a tmp folder outside git: unknown, never "".
      expect(run('')).toEqual({ revision: 'unknown' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('carries OCI labels', () => {
    const labels = inRuntime('LABEL').map((i) => i.args).join(' ');
    for (const key of ['title', 'description', 'source', 'licenses', 'version', 'revision']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
    expect(labels).toContain('org.opencontainers.image.licenses="Apache-2.0"');
  });

  it('bakes no token or other secret into the image', () => {
    for (const instruction of dockerfile.filter((i) => ['ENV', 'ARG', 'LABEL'].includes(i.keyword))) {
      expect(instruction.args, `line ${instruction.line}`).not.toMatch(/token|secret|passw|api[_-]?key/i);
    }
    for (const copy of dockerfile.filter((i) => ['COPY', 'ADD'].includes(i.keyword))) {
      expect(copy.args, `line ${copy.line}`).not.toMatch(/secret|\.env|token/i);
    }
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const sources = copySources(dockerfile);
    expect(sources).toEqual(['package.json', 'package-lock.json', 'scripts', 'src', 'package.json', 'package-lock.json']);
    for (const source of sources) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      // A folder is in the context when its files are (Docker keeps the parents of re-included files).
      const files = filesUnder(source);
      expect(files.length, source).toBeGreaterThan(0);
      for (const file of files) expect(ignored(file), file).toBe(false);
    }
  });
});

describe('.dockerignore', () => {
  it.each(['node_modules', 'node_modules/express/index.js', '.git', '.git/HEAD', 'dist/main.js', 'secrets/wolkvox_token',
    '.env', 'src/node_modules/x.js', 'test/shipping/docker.test.ts', 'coverage/index.html', 'wolkvox.token', '.tmp/dist-1/dist/main.js',
    'scripts/release.sh', 'bench/bench.ts'])('keeps %s out of the context', (path) => {
    expect(ignored(path)).toBe(true);
  });

  it.each(['package.json', 'package-lock.json', 'src/main.ts', 'src/bin.ts', 'src/wolkvox/client.ts', 'scripts/bundle.mjs', 'scripts/prime-code-cache.mjs', 'scripts/write-build-info.mjs'])('lets %s in', (path) => {
    expect(ignored(path)).toBe(false);
  });
});

describe('docker-compose.yml', () => {
  type Service = {
    build?: { context: string; args?: Record<string, string> };
    image?: string;
    command?: string[];
    environment?: Record<string, string>;
    volumes?: (string | { type: string; source: string; target: string; read_only?: boolean })[];
    ports?: (string | { published: number; target: number; host_ip?: string })[];
    secrets?: unknown[];
  };

  function dockerCompose(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(systemTools().dockerCompose, ['-f', join(ROOT, 'docker-compose.yml'), ...args], { cwd: ROOT, encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('is valid for docker-compose config -q', () => {
    const { status, stdout, stderr } = dockerCompose(['config', '-q']);
    expect(status, stderr).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).not.toMatch(/warn|error/i);
  });

  describe('as resolved by docker-compose config', () => {
    const resolved = (): { services: Record<string, Service>; volumes?: Record<string, unknown> } => {
      const { status, stdout, stderr } = dockerCompose(['config']);
      expect(status, stderr).toBe(0);
      return parseYaml(stdout) as { services: Record<string, Service> };
    };
    const binds = (service: Service): { source: string; target: string; readOnly: boolean }[] =>
      (service.volumes ?? []).flatMap((volume) => {
        if (typeof volume !== 'string') return volume.type === 'bind' ? [{ source: volume.source, target: volume.target, readOnly: volume.read_only === true }] : [];
        const [source = '', target = '', mode = ''] = volume.split(':');
        return source.startsWith('/') ? [{ source, target, readOnly: mode.includes('ro') }] : [];
      });
    const published = (service: Service): string[] =>
      (service.ports ?? []).map((port) => (typeof port === 'string' ? port.replace(/\/tcp$/, '') : `${port.host_ip ?? ''}:${port.published}:${port.target}`));

    it('runs the exporter from this Dockerfile in demo mode, with no token in its environment', () => {
      const { services } = resolved();
      expect(Object.keys(services).sort()).toEqual(['grafana', 'prometheus', 'wolkvox-exporter']);
      const exporter = services['wolkvox-exporter']!;
      expect(exporter.build?.context).toBe(ROOT);
      // The build context has no .git: the revision can only come in as the build argument.
      expect(Object.keys(exporter.build?.args ?? {})).toEqual(['REVISION']);
      expect(exporter.command).toEqual(['--demo']);
      expect(JSON.stringify(exporter.environment ?? {})).not.toMatch(/token/i);
      expect(published(exporter)).toEqual(['127.0.0.1:9867:9867']);
    });

    it('mounts the example Prometheus config and the rules that exist on disk; the config scrapes the exporter service', () => {
      const prometheus = resolved().services.prometheus!;
      const mounts = binds(prometheus);
      expect(mounts).toEqual(
        expect.arrayContaining([
          { source: join(ROOT, 'prometheus/prometheus.yml'), target: '/etc/prometheus/prometheus.yml', readOnly: true },
          { source: join(ROOT, 'prometheus/rules'), target: '/etc/prometheus/rules', readOnly: true },
        ]),
      );
      for (const mount of mounts) expect(existsSync(mount.source), mount.source).toBe(true);
      expect(prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
      // rule_files are relative to the config file: rules/*.yml is the mounted /etc/prometheus/rules.
      const config = parseYaml(readFileSync(join(ROOT, 'prometheus/prometheus.yml'), 'utf8')) as {
        rule_files: string[];
        scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
      };
      expect(config.rule_files).toEqual(['rules/*.yml']);
      expect(config.scrape_configs).toEqual([{ job_name: 'wolkvox', static_configs: [{ targets: ['wolkvox-exporter:9867'] }] }]);
    });

    it('provisions Grafana on localhost:3000 with the data source and the dashboard folder the provider reads', () => {
      const grafana = resolved().services.grafana!;
      expect(published(grafana)).toEqual(['127.0.0.1:3000:3000']);
      const mounts = binds(grafana);
      expect(mounts).toEqual(
        expect.arrayContaining([
          { source: join(ROOT, 'grafana/provisioning'), target: '/etc/grafana/provisioning', readOnly: true },
          { source: join(ROOT, 'grafana/dashboards'), target: '/var/lib/grafana/dashboards', readOnly: true },
        ]),
      );
      for (const mount of mounts) expect(existsSync(mount.source), mount.source).toBe(true);
      expect(grafana.environment).toMatchObject({ GF_AUTH_ANONYMOUS_ENABLED: 'true', GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer' });

      const provider = parseYaml(readFileSync(join(ROOT, 'grafana/provisioning/dashboards/wolkvox.yml'), 'utf8')) as {
        apiVersion: number;
        providers: { type: string; options: { path: string } }[];
      };
      expect(provider.apiVersion).toBe(1);
      expect(provider.providers).toEqual([expect.objectContaining({ type: 'file', options: expect.objectContaining({ path: '/var/lib/grafana/dashboards' }) })]);
      const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '';
      expect(existsSync(join(ROOT, 'grafana/dashboards', home.replace('/var/lib/grafana/dashboards/', ''))), home).toBe(true);

      const datasources = parseYaml(readFileSync(join(ROOT, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
        apiVersion: number;
        datasources: { type: string; url: string; uid: string }[];
      };
      expect(datasources.apiVersion).toBe(1);
      expect(datasources.datasources).toEqual([expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', uid: 'prometheus' })]);
    });
  });
});
