// The event-loop delay of a server process, seen from inside it without changing it: a preload (node --require) that logs the longest delay every 250 ms, and the long GC pauses.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Why a preload and not the exporter's own nodejs_eventloop_lag_max_seconds: prom-client resets
 * its monitorEventLoopDelay histogram in collect(), at the start of every scrape, and Node's
 * histogram drops the first delay after a reset. So the delay a scrape's own render causes is the
 * one delay that metric never shows, and under load every other scrape resets it again.
 *
 * Two histograms at 1 ms resolution take turns: every 250 ms the probe writes the maximum of the
 * one reset 500 ms ago and resets it. The delay a reset drops is recorded by the other one, so
 * every delay reaches the log, in a line that covers the 500 ms before its timestamp. A delay
 * includes the 1 ms tick itself; an idle loop shows about 1–2 ms.
 *
 * GC pauses of 2 ms or more are logged too (`gc <end ms> <duration ms> <kind>`), so that a long
 * delay can be told apart: a scrape's own work, or a collection (which a scrape's garbage may have
 * caused, or not).
 */
const PROBE = `
const { monitorEventLoopDelay, PerformanceObserver, performance } = require('node:perf_hooks');
const { appendFileSync } = require('node:fs');
const file = process.env.BENCH_LAG_FILE;
delete process.env.BENCH_LAG_FILE;
if (file) {
  const histograms = [monitorEventLoopDelay({ resolution: 1 }), monitorEventLoopDelay({ resolution: 1 })];
  for (const histogram of histograms) histogram.enable();
  let turn = 0;
  setInterval(() => {
    const histogram = histograms[turn];
    turn = 1 - turn;
    appendFileSync(file, Date.now() + ' ' + (histogram.count > 0 ? histogram.max / 1e6 : 0).toFixed(3) + '\\n');
    histogram.reset();
  }, 250).unref();
  const kinds = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration < 2) continue;
      const kind = kinds[entry.detail && entry.detail.kind] || 'other';
      appendFileSync(file, 'gc ' + Math.round(performance.timeOrigin + entry.startTime + entry.duration) + ' ' + entry.duration.toFixed(3) + ' ' + kind + '\\n');
    }
  }).observe({ entryTypes: ['gc'] });
}
`;

/** How long each logged maximum looks back. */
const WINDOW_MS = 500;

/** What the probe saw in a span: the longest event-loop delay, and the longest GC pause that ended in it. */
export type LagSpan = { delayMs: number | undefined; gc: { ms: number; kind: string } | undefined };

export type LagProbe = {
  /** NODE_OPTIONS and environment that load the probe into a node process. */
  nodeOptions: string;
  env: Record<string, string>;
  /**
   * The span [fromMs, toMs] (Date.now() times). The delay comes from the lines that lie wholly
   * inside it: they cover it but for up to 250 ms at either end, so pad a short span with idle
   * time, so that nothing outside leaks in and nothing inside is lost.
   */
  between(fromMs: number, toMs: number): LagSpan;
};

export function createLagProbe(dir: string, name: string): LagProbe {
  const script = join(dir, 'lag-probe.cjs');
  writeFileSync(script, PROBE);
  const log = join(dir, `${name}-lag.log`);
  writeFileSync(log, '');
  return {
    nodeOptions: `--require=${script}`,
    env: { BENCH_LAG_FILE: log },
    between(fromMs, toMs) {
      const span: LagSpan = { delayMs: undefined, gc: undefined };
      for (const line of readFileSync(log, 'utf8').split('\n')) {
        const words = line.split(' ');
        if (words[0] === 'gc') {
          const [, end, ms, kind = 'other'] = words;
          if (Number(end) >= fromMs && Number(end) <= toMs && Number(ms) > (span.gc?.ms ?? 0)) span.gc = { ms: Number(ms), kind };
          continue;
        }
        const [at, delay] = words.map(Number);
        if (at === undefined || delay === undefined || Number.isNaN(at) || Number.isNaN(delay)) continue;
        // The line covers (at − WINDOW_MS, at].
        if (at - WINDOW_MS >= fromMs && at <= toMs) span.delayMs = Math.max(span.delayMs ?? 0, delay);
      }
      return span;
    },
  };
}

/** Merges spans: the longest delay and the longest GC pause of them all. */
export function mergeSpans(spans: readonly LagSpan[]): LagSpan {
  const merged: LagSpan = { delayMs: undefined, gc: undefined };
  for (const span of spans) {
    if (span.delayMs !== undefined) merged.delayMs = Math.max(merged.delayMs ?? 0, span.delayMs);
    if (span.gc && span.gc.ms > (merged.gc?.ms ?? 0)) merged.gc = span.gc;
  }
  return merged;
}
