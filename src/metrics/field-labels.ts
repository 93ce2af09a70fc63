// Which labels each chat_15 field is exported under: one table for /metrics and the backfill's OpenMetrics.
import type { Chat15Field } from '../wolkvox/response.js';

/** The per-source fields, as `source` and `handler`; totals are their own metric, never a `source` value (api-facts). */
export const PER_SOURCE: ReadonlyArray<{ field: Chat15Field; source: 'ad' | 'post'; handler: 'bot' | 'agent' }> = [
  { field: 'ad_chatbot', source: 'ad', handler: 'bot' },
  { field: 'ad_agents', source: 'ad', handler: 'agent' },
  { field: 'post_chatbot', source: 'post', handler: 'bot' },
  { field: 'post_agents', source: 'post', handler: 'agent' },
];

/** The report's totals over every origin, by `handler`. */
export const HANDLED: ReadonlyArray<{ field: Chat15Field; handler: 'bot' | 'agent' }> = [
  { field: 'total_chatbot', handler: 'bot' },
  { field: 'total_agents', handler: 'agent' },
];
