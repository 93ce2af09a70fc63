// Runs once before the suite: finds (or installs) promtool, prometheus, docker-compose, podman, runc, debootstrap and chromium, then builds the exporter for this run.
import { execFileSync } from 'node:child_process';
import { EXPORTER_BINARY_ENV } from './support/binary.js';
import { buildForTestRun } from './support/build.js';
import { ensureSystemTools } from './support/system-tools.js';

export default function setup(): () => void {
  let tools;
  try {
    tools = ensureSystemTools();
  } catch (error) {
    // One clear line, no stack: the message says what to install.
    process.stderr.write(`\nwolkvox-exporter tests: ${(error as Error).message}\n`);
    process.exit(1);
  }
  process.env.WOLKVOX_TEST_PROMTOOL = tools.promtool;
  process.env.WOLKVOX_TEST_PROMETHEUS = tools.prometheus;
  process.env.WOLKVOX_TEST_DOCKER_COMPOSE = tools.dockerCompose;
  process.env.WOLKVOX_TEST_PODMAN = tools.podman;
  process.env.WOLKVOX_TEST_RUNC = tools.runc;
  process.env.WOLKVOX_TEST_DEBOOTSTRAP = tools.debootstrap;
  process.env.WOLKVOX_TEST_CHROMIUM = tools.chromium;
  // Tests start the real binary, so they need the compiled code of this very tree: in a folder of this run, not
  // dist/, which a second `npm test` in the same checkout (or `npm run build`) would rewrite under it.
  const build = buildForTestRun();
  process.env[EXPORTER_BINARY_ENV] = build.main;
  return () => build.remove();
}
