// Ends the run with one plain "tests: N passed, N failed" line that any CI log reader understands.
import type { File, Task } from '@vitest/runner';
import type { Reporter } from 'vitest/reporters';

function count(tasks: readonly Task[], totals: { passed: number; failed: number; skipped: number }): void {
  for (const task of tasks) {
    if (task.type === 'suite') {
      count(task.tasks, totals);
      continue;
    }
    const state = task.result?.state;
    if (state === 'pass') totals.passed++;
    else if (state === 'fail') totals.failed++;
    else totals.skipped++;
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: File[] = [], errors: unknown[] = []): void {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    count(files, totals);
    // A file that failed to load has no tests but must still count as a failure.
    const broken = files.filter((file) => file.result?.state === 'fail' && file.tasks.length === 0).length + errors.length;
    const failed = totals.failed + broken;
    const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : '';
    process.stdout.write(`\ntests: ${totals.passed} passed, ${failed} failed${skipped}\n`);
  }
}
