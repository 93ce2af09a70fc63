// Runs once before the suite: finds (or installs) promtool, prometheus and docker-compose, then builds dist/.
import { execFileSync } from 'node:child_process';
import { ensureSystemTools } from './support/system-tools.js';

export default function setup(): void {
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
  // Tests start the real binary, so they need the compiled code of this very tree.
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
}
