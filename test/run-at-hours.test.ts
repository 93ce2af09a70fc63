// npm run test:hours (test/run-at-hours.ts): the hours it picks, the tests it leaves out, and that CI runs it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { faketimeOffset, GO_CLOCK_TESTS, INSTANTS, testFiles } from './run-at-hours.js';
import { wallTimeAt } from '../src/wolkvox/window.js';

const ROOT = resolve(import.meta.dirname, '..');
const BOGOTA = 'America/Bogota';
const MINUTE_MS = 60_000;

describe('the hours of npm run test:hours', () => {
  it('are the Bogota hours each one says, at least 20 minutes before a local midnight, so no run crosses one', () => {
    expect(INSTANTS.length).toBeGreaterThan(0);
    for (const { utc, why } of INSTANTS) {
      const at = Date.parse(utc);
      const wall = wallTimeAt(at, BOGOTA);
      const clock = `${String(wall.hour).padStart(2, '0')}:${String(wall.minute).padStart(2, '0')}`;
      expect(why, utc).toContain(`Bogota ${clock}`);
      expect(why, utc).toContain(`${wall.day} ${new Date(Date.UTC(wall.year, wall.month - 1, wall.day)).toLocaleString('en', { month: 'long', timeZone: 'UTC' })}`);
      const toMidnight = (24 * 60 - (wall.hour * 60 + wall.minute)) * MINUTE_MS;
      expect(toMidnight, utc).toBeGreaterThanOrEqual(20 * MINUTE_MS);
    }
  });

  it('include the last half hour before a midnight and the small hours', () => {
    const hours = INSTANTS.map(({ utc }) => wallTimeAt(Date.parse(utc), BOGOTA).hour);
    expect(hours).toContain(23);
    expect(hours.some((hour) => hour < 6)).toBe(true);
  });

  it('are given to faketime as seconds from now, which do not depend on the machine\'s zone', () => {
    const now = Date.parse('2026-11-30T04:00:00Z');
    expect(faketimeOffset('2026-11-30T05:00:00Z', now)).toBe('+3600');
    expect(faketimeOffset('2026-11-30T04:00:00Z', now)).toBe('+0');
    expect(faketimeOffset('2026-11-30T03:00:00Z', now)).toBe('-3600');
  });
});

describe('the tests npm run test:hours leaves out', () => {
  // libfaketime cannot shift the clock of Go programs, so a test that runs Prometheus or its tools, podman or
  // docker-compose would compare two times. (kubectl is Go too, but its kustomize output does not depend on the time.)
  const startsGoProgram = (file: string) =>
    /startPrometheus|systemTools\(\)|promtool|podman|docker-compose/.test(readFileSync(resolve(ROOT, file), 'utf8'));

  it('are exactly the test files that run Prometheus, promtool, podman or docker-compose', () => {
    const files = testFiles(ROOT);
    for (const file of GO_CLOCK_TESTS) expect(files, `${file} is not a test file`).toContain(file);
    const others = files.filter((file) => file !== 'test/run-at-hours.test.ts');
    expect(others.filter(startsGoProgram)).toEqual([...GO_CLOCK_TESTS].sort());
  });
});

describe('CI', () => {
  it('installs faketime and runs npm run test:hours after npm test', () => {
    const ci = readFileSync(resolve(ROOT, '.ci/run'), 'utf8');
    const lines = ci.split('\n').map((line) => line.trim());
    expect(lines.indexOf('npm run test:hours')).toBeGreaterThan(lines.indexOf('npm test'));
    expect(lines.indexOf('npm test')).toBeGreaterThan(-1);
    expect(ci).toMatch(/apt-get install -y --no-install-recommends [^\n]*\bfaketime\b/);
    const scripts = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['test:hours']).toBe('tsx test/run-at-hours.ts');
  });
});
