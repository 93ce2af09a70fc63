// npm run test:hours (tsx test/run-at-hours.ts): the tests that read the real clock, run again at chosen hours under libfaketime.
//
// Windows, quota pauses and the simulator's chats all follow the local time of day, so a test can pass
// every daytime run and fail at night: twice it took a CI run at the wrong hour to find one (the history
// counters at 22:38 in Bogota, the status page's quota pause 57 min before Bogota's midnight). Here the
// clock is set to those hours on purpose. libfaketime shifts the clock of every process that loads
// libc's time functions: Node, vitest's workers, the exporters the tests start, Chromium. Go programs
// read the clock without libc, so the tests that run Prometheus, promtool, podman or docker-compose stay
// out: under a shifted clock they would compare two times. They run in `npm test` at the real hour.
// (kubectl is Go as well, but what its kustomize renders does not depend on the time.)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { which } from './support/system-tools.js';

const ROOT = resolve(import.meta.dirname, '..');

/** When to run, in UTC; each instant is far enough from the next boundary that no run crosses it. */
export const INSTANTS: ReadonlyArray<{ utc: string; why: string }> = [
  // 23:30 in Bogota on Sunday 31 January 2027: the last half hour of a day, a week and a month, where
  // the status page test once failed (the quota pause ends at midnight, in minutes rather than hours).
  { utc: '2027-02-01T04:30:00Z', why: 'Bogota 23:30, Sunday 31 January: half an hour before a new day, week and month' },
  // 03:00 in Bogota on Monday 1 February 2027: the small hours, when the simulator has few chats, at the
  // start of a week and a month, whose windows are three hours old.
  { utc: '2027-02-01T08:00:00Z', why: 'Bogota 03:00, Monday 1 February: the small hours of a new week and month' },
];

/** Test files that run Prometheus, promtool, podman or docker-compose: Go programs, whose clock libfaketime cannot shift. */
export const GO_CLOCK_TESTS: readonly string[] = [
  'test/backfill/command.test.ts',
  'test/cli.test.ts',
  'test/integration/history.test.ts',
  'test/integration/promtool.test.ts',
  'test/metrics/metrics.test.ts',
  'test/shipping/dashboard.test.ts',
  'test/shipping/docker.test.ts',
  'test/shipping/image.test.ts',
  'test/shipping/rules.test.ts',
];

/** Every test file under test/, relative to the root, sorted. */
export function testFiles(root = ROOT): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.test.ts')) found.push(relative(root, path));
    }
  };
  walk(join(root, 'test'));
  return found.sort();
}

/** libfaketime's relative form, "+N" seconds from now: unlike "@date", it does not depend on the machine's zone. */
export function faketimeOffset(utc: string, nowMs: number): string {
  const seconds = Math.round((Date.parse(utc) - nowMs) / 1000);
  return seconds >= 0 ? `+${seconds}` : String(seconds);
}

function main(): void {
  const faketime = which('faketime');
  if (faketime === undefined) {
    process.stderr.write("test:hours needs faketime: install Debian's package with 'sudo apt-get install -y faketime'\n");
    process.exit(1);
  }
  const files = testFiles().filter((file) => !GO_CLOCK_TESTS.includes(file));
  let failed = 0;
  for (const { utc, why } of INSTANTS) {
    process.stdout.write(`\ntest:hours: ${files.length} test files at ${utc} (${why})\n`);
    const run = spawnSync(faketime, ['-f', faketimeOffset(utc, Date.now()), 'npx', 'vitest', 'run', '--reporter=default', ...files], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (run.status !== 0) {
      failed++;
      process.stdout.write(`test:hours: FAILED at ${utc} (${why})\n`);
    }
  }
  process.stdout.write(`\ntest:hours: ${INSTANTS.length - failed} of ${INSTANTS.length} hours passed\n`);
  process.exit(failed === 0 ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
