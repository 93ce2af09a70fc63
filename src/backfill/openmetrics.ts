// The backfilled counters as OpenMetrics text with timestamps, for `promtool tsdb create-blocks-from openmetrics`; pure.
import { zeroCounts, type Chat15Field, type Counts } from '../wolkvox/response.js';
import { HANDLED, PER_SOURCE } from '../metrics/field-labels.js';
// OpenMetrics escapes label values as the text format does: backslash, double quote and line feed.
import { labelPairs } from '../metrics/text.js';

/** One account's settled chunks, in order: each chunk's counts and the instant it ends. */
export type AccountSeries = {
  account: string;
  /** Where the first chunk starts: every series has a 0 there, so increase() counts the first chunk. */
  startMs: number;
  chunks: Array<{ endMs: number; counts: Counts }>;
};

/** Seconds with millisecond precision, as OpenMetrics timestamps are written. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(3).replace(/\.?0+$/, '');
}

/** Every sample of one series: 0 at the start, then the running total at the end of each chunk. */
function series(name: string, labels: string, account: AccountSeries, field: Chat15Field): string[] {
  const lines = [`${name}{${labels}} 0 ${seconds(account.startMs)}`];
  let total = 0;
  for (const chunk of account.chunks) {
    total += chunk.counts[field];
    lines.push(`${name}{${labels}} ${total} ${seconds(chunk.endMs)}`);
  }
  return lines;
}

/**
 * The same counters the exporter serves (wolkvox_whatsapp_chats_total and
 * wolkvox_whatsapp_handled_chats_total), one sample per chunk end, each family's samples together
 * and each series in time order, ending in `# EOF`. `extraLabels` (job, instance) follow the
 * exporter's own labels.
 */
export function renderOpenMetrics(accounts: readonly AccountSeries[], extraLabels: ReadonlyArray<readonly [string, string]> = []): string {
  const lines: string[] = [
    '# HELP wolkvox_whatsapp_chats WhatsApp chats that began from a click-to-WhatsApp ad or post, by who handled them, summed over settled chunks (backfilled).',
    '# TYPE wolkvox_whatsapp_chats counter',
  ];
  for (const account of accounts) {
    for (const { field, source, handler } of PER_SOURCE) {
      const labels = labelPairs([['account', account.account], ['source', source], ['handler', handler], ...extraLabels]);
      lines.push(...series('wolkvox_whatsapp_chats_total', labels, account, field));
    }
  }
  lines.push(
    '# HELP wolkvox_whatsapp_handled_chats All WhatsApp chats handled by bots only or that needed an agent, summed over settled chunks (backfilled).',
    '# TYPE wolkvox_whatsapp_handled_chats counter',
  );
  for (const account of accounts) {
    for (const { field, handler } of HANDLED) {
      const labels = labelPairs([['account', account.account], ['handler', handler], ...extraLabels]);
      lines.push(...series('wolkvox_whatsapp_handled_chats_total', labels, account, field));
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

/** The running totals of a series of chunks, for messages and tests. */
export function totalOf(account: AccountSeries): Counts {
  const total = zeroCounts();
  for (const chunk of account.chunks) for (const field of Object.keys(total) as Chat15Field[]) total[field] += chunk.counts[field];
  return total;
}
