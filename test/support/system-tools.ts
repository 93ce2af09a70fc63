// Finds the Debian tools the end-to-end tests need (promtool, prometheus, docker-compose), installing them when allowed.
import { execFileSync, spawnSync } from 'node:child_process';

export type SystemTools = { promtool: string; prometheus: string; dockerCompose: string };

/** Command → the Debian package that ships it. */
const PACKAGES = { promtool: 'prometheus', prometheus: 'prometheus', 'docker-compose': 'docker-compose' } as const;
type Command = keyof typeof PACKAGES;

function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

function missing(): Command[] {
  return (Object.keys(PACKAGES) as Command[]).filter((command) => which(command) === undefined);
}

/**
 * Returns the paths of promtool, prometheus and docker-compose. Where any is missing and we run
 * as root, installs its Debian package; otherwise throws one line saying what to install.
 * Never returns without all of them: a test that needs them must fail, not skip.
 */
export function ensureSystemTools(): SystemTools {
  let absent = missing();
  const packages = [...new Set(absent.map((command) => PACKAGES[command]))];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (packages.length > 0 && isRoot && which('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'ignore', env });
    absent = missing();
  }
  if (absent.length > 0) {
    const needed = [...new Set(absent.map((command) => PACKAGES[command]))].join(' ');
    throw new Error(`the end-to-end tests need ${absent.join(', ')}: install Debian's packages with 'sudo apt-get install -y ${needed}'`);
  }
  return { promtool: which('promtool') ?? '', prometheus: which('prometheus') ?? '', dockerCompose: which('docker-compose') ?? '' };
}

/** The paths found by the global setup, handed to the test workers through the environment. */
export function systemTools(): SystemTools {
  const { WOLKVOX_TEST_PROMTOOL: promtool, WOLKVOX_TEST_PROMETHEUS: prometheus, WOLKVOX_TEST_DOCKER_COMPOSE: dockerCompose } = process.env;
  if (promtool && prometheus && dockerCompose) return { promtool, prometheus, dockerCompose };
  return ensureSystemTools();
}
