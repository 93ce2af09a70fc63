// `npm run bench` (simulator part): how fast the simulator's counts are, checks a unit test cannot make on a busy machine.
import { performance } from 'node:perf_hooks';
import { countsBetween } from '../src/simulator/data.js';

const DAY = 86_400;
const WINDOWS = 1_000;
/** The demo and the tests ask for windows up to 31 days: 1,000 of them should take well under a second. */
const BUDGET_MS = 200;

const start2025 = Date.UTC(2025, 0, 1) / 1000;
countsBetween(start2025, start2025 + 31 * DAY, 7); // warm the per-seed cache, as a running simulator has it
const runs: number[] = [];
for (let run = 0; run < 5; run++) {
  const started = performance.now();
  for (let i = 0; i < WINDOWS; i++) {
    const start = start2025 + i * 3_607;
    countsBetween(start, start + 31 * DAY, 7);
  }
  runs.push(performance.now() - started);
}
const best = Math.min(...runs);
console.log(
  `simulator: ${WINDOWS} windows of 31 days in ${best.toFixed(1)} ms (best of ${runs.length}; ${((best * 1000) / WINDOWS).toFixed(1)} µs each; budget ${BUDGET_MS} ms)`,
);
if (best > BUDGET_MS) {
  console.error(`simulator: over budget: ${best.toFixed(1)} ms > ${BUDGET_MS} ms`);
  process.exitCode = 1;
}
