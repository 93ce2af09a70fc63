// Finds the Debian tools the end-to-end tests need (promtool, prometheus, docker-compose, podman, runc, debootstrap, chromium), installing them when allowed.
import { execFileSync, spawnSync } from 'node:child_process';

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

function which(command: string): string | undefined {
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
