// Fetching the backfill's chunks: oldest first per account, within the token's and the origin's limits, with the poller's retries.
import type { Clock } from '../clock.js';
import type { AccountConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { DEFAULT_MAX_IN_FLIGHT } from '../config/flags.js';
import { createOriginLimiters, createTokenLimiters } from '../poller/limiter.js';
import { DEFAULT_RETRIES, fetchWithRetries, type CallContext } from '../poller/poll.js';
import { createQuotaPauses } from '../poller/quota.js';
import type { Chunk } from '../wolkvox/chunks.js';
import type { WolkvoxClient } from '../wolkvox/client.js';
import type { Outcome } from '../wolkvox/outcome.js';
import type { AccountSeries } from './openmetrics.js';
import type { AccountPlan } from './plan.js';

export type ChunkEvent = {
  account: string;
  chunk: Chunk;
  outcome: 'added' | 'failed' | 'quota_exceeded';
  /** Chunks added so far, over all accounts, and how many there are in all. */
  done: number;
  total: number;
};

export type BackfillResult = {
  /** Per account, the chunks added, in order, up to the last complete one. */
  series: AccountSeries[];
  /** Why the backfill stopped early: the quota (everything stopped) or failed chunks (their accounts stopped). */
  problems: string[];
  quotaExceeded: boolean;
};

export type RunDeps = {
  plans: readonly AccountPlan[];
  clientFor(account: AccountConfig): WolkvoxClient;
  clock: Clock;
  logger: Logger;
  onChunk(event: ChunkEvent): void;
  onRequest?(account: string, outcome: Outcome, durationSeconds: number): void;
  random?: () => number;
  retries?: number;
  signal?: AbortSignal;
  /** Cap of calls in flight to one origin, as the exporter's (Config.maxInFlightPerOrigin); DEFAULT_MAX_IN_FLIGHT when left out. */
  maxInFlightPerOrigin?: number;
};

/**
 * Fetches every planned chunk, one account's chunks in order and accounts side by side, never
 * more calls in flight per token than its max_concurrency. A chunk that still fails after its
 * retries stops its account (a later chunk would leave a gap); `quota_exceeded` stops them all.
 */
export async function runBackfill(deps: RunDeps): Promise<BackfillResult> {
  const accounts = deps.plans.map((plan) => plan.account);
  const limiters = createTokenLimiters();
  const origins = createOriginLimiters(deps.maxInFlightPerOrigin ?? DEFAULT_MAX_IN_FLIGHT);
  const signal = deps.signal ?? new AbortController().signal;
  const context: CallContext = {
    onRequest: deps.onRequest ?? (() => undefined),
    random: deps.random ?? Math.random,
    retries: deps.retries ?? DEFAULT_RETRIES,
    limiterFor: (account) => limiters.limiterFor(account, accounts),
    originLimiterFor: (account) => origins.limiterFor(account),
    quota: createQuotaPauses({ clock: deps.clock, logger: deps.logger, onChange: () => undefined }),
    accounts: () => accounts,
    signal,
  };
  const total = deps.plans.reduce((sum, plan) => sum + plan.chunks.length, 0);
  let done = 0;
  let quotaExceeded = false;
  const problems: string[] = [];

  const series = await Promise.all(
    deps.plans.map(async ({ account, chunks }): Promise<AccountSeries> => {
      const target = { account, client: deps.clientFor(account) };
      const where = { account: account.name, backfill: true };
      const added: AccountSeries = { account: account.name, startMs: chunks[0]?.startMs ?? 0, chunks: [] };
      for (const chunk of chunks) {
        if (quotaExceeded || signal.aborted) break;
        const outcome = await fetchWithRetries(context, target, chunk, () => quotaExceeded || signal.aborted, deps.logger, where);
        if (outcome.kind === 'counts') {
          added.chunks.push({ endMs: chunk.nextStartMs, counts: outcome.counts });
          done++;
          deps.onChunk({ account: account.name, chunk, outcome: 'added', done, total });
          continue;
        }
        if (outcome.kind === 'paused') {
          if (!quotaExceeded) {
            quotaExceeded = true;
            problems.push(`Wolkvox answered TOKEN LIMIT EXCEEDED for ${account.name} at the chunk ${chunk.dateIni}..${chunk.dateEnd}: the daily quota is spent; run the rest of the range after local midnight`);
          }
          deps.onChunk({ account: account.name, chunk, outcome: 'quota_exceeded', done, total });
        } else if (outcome.kind === 'failed') {
          problems.push(`${account.name}: the chunk ${chunk.dateIni}..${chunk.dateEnd} failed ${outcome.attempts} time(s) (${outcome.failure.kind}: ${outcome.failure.message}); its later chunks were not fetched`);
          deps.onChunk({ account: account.name, chunk, outcome: 'failed', done, total });
        }
        break;
      }
      return added;
    }),
  );
  return { series, problems, quotaExceeded };
}
