// Finds promtool and prometheus for the end-to-end tests, installing Debian's package when allowed.
import { execFileSync, spawnSync } from 'node:child_process';

export type PrometheusTools = { promtool: string; prometheus: string };

function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

function lookup(): PrometheusTools | undefined {
  const promtool = which('promtool');
  const prometheus = which('prometheus');
  return promtool && prometheus ? { promtool, prometheus } : undefined;
}

/**
 * Returns the paths of promtool and prometheus. Where they are missing and we run as root,
 * installs Debian's `prometheus` package; otherwise throws one line saying what to install.
 * Never returns without both tools: a test that needs them must fail, not skip.
 */
export function ensurePrometheusTools(): PrometheusTools {
  const present = lookup();
  if (present) return present;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && which('apt-get')) {
    execFileSync('apt-get', ['update'], { stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    const installed = lookup();
    if (installed) return installed;
  }
  throw new Error(
    "promtool and prometheus are required: install Debian's package with 'sudo apt-get install -y prometheus'",
  );
}

/** The paths found by the global setup, handed to the test workers through the environment. */
export function prometheusTools(): PrometheusTools {
  const promtool = process.env.WOLKVOX_TEST_PROMTOOL;
  const prometheus = process.env.WOLKVOX_TEST_PROMETHEUS;
  if (promtool && prometheus) return { promtool, prometheus };
  return ensurePrometheusTools();
}
