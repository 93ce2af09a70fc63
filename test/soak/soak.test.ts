// A short soak inside `npm test`: a minute of faults and scrapes must not grow heap, handles or series.
import { describe, expect, it } from 'vitest';
import { runSoak, thirds } from '../../bench/soak.js';
import { OUTCOMES } from '../../src/wolkvox/outcome.js';

const ACCOUNTS = 60;
const WINDOWS = ['1h', '24h', 'today'];
/**
 * Per window: 4 chats + 2 handled + up + last success + start + end; per account: outcomes, histogram (10 buckets
 * + Inf + sum + count), quota, planned calls, and the counters (4 + 2 _total, settled until, step, delay); per
 * process: build info, the two reload gauges, shard info and the shard total.
 */
const MAX_WOLKVOX_SERIES = ACCOUNTS * (WINDOWS.length * 10 + OUTCOMES.length + 13 + 2 + 9) + 5;

describe('soak', () => {
  it(
    'keeps heap, handles and series bounded for a minute of random faults and non-stop scraping',
    async () => {
      const result = await runSoak({ durationMs: 50_000, accounts: ACCOUNTS, windows: WINDOWS, interval: '1s', sampleEveryMs: 4_000 });
      const { samples } = result;
      expect(samples.length).toBeGreaterThanOrEqual(8);
      // Work really happened: the pollers called the simulator and the scraper kept scraping.
      expect(result.upstreamCalls).toBeGreaterThan(ACCOUNTS * WINDOWS.length * 10);
      expect(result.scrapes).toBeGreaterThan(100);

      const afterWarmUp = samples.slice(1);
      const heap = thirds(afterWarmUp.map((s) => s.heapMb));
      expect(heap.last, `heap grew from ${heap.first.toFixed(1)} MB to ${heap.last.toFixed(1)} MB`).toBeLessThan(heap.first * 1.25 + 4);
      // Handles rise and fall with the faults in flight (retry and timeout timers), so bound them
      // instead of comparing moments: a timer or socket leaked per call would pass this within seconds.
      const windows = ACCOUNTS * WINDOWS.length;
      for (const sample of samples) expect(sample.activeResources, 'active handles and requests').toBeLessThan(2 * windows + 50);
      // Series come and go with faults and staleness (random, so no trend test), but never beyond
      // what the config can produce: a leak of series would cross this bound.
      for (const sample of samples) expect(sample.series).toBeLessThanOrEqual(MAX_WOLKVOX_SERIES);
    },
    120_000,
  );
});
