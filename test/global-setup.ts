// Runs once before the suite: builds dist/ (tests start the real binary) and finds promtool/prometheus.
import { execFileSync } from 'node:child_process';
import { ensurePrometheusTools } from './support/prometheus-tools.js';

export default function setup(): void {
  const tools = ensurePrometheusTools();
  process.env.WOLKVOX_TEST_PROMTOOL = tools.promtool;
  process.env.WOLKVOX_TEST_PROMETHEUS = tools.prometheus;
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
}
