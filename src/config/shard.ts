// Which accounts a process polls when N processes split them (spec: Scaling out); pure.
import type { AccountConfig } from './schema.js';

/** This process is shard `index` of `total`; `{ index: 0, total: 1 }` polls everything. */
export type Shard = { index: number; total: number };

export const SINGLE_SHARD: Shard = { index: 0, total: 1 };

/** The most shards a deployment may split into: far beyond any use, small enough to catch a typo. */
export const MAX_SHARDS = 1_000;

/**
 * The shard that polls a token's accounts. The token's fingerprint (the first 16 hex digits of its
 * SHA-256) is already a uniform hash; its first 32 bits modulo the total pick the shard. It depends
 * on the token alone, so every process computes the same answer without talking to the others, and
 * accounts that share a token (and so its 2 calls in flight and its daily quota) share a process.
 * Changing this rule would move accounts between shards in every deployment: keep it.
 */
export function shardOfToken(fingerprint: string, total: number): number {
  return Number.parseInt(fingerprint.slice(0, 8), 16) % total;
}

/** The accounts shard `shard` polls, in config order. */
export function accountsOfShard<A extends Pick<AccountConfig, 'token'>>(accounts: readonly A[], shard: Shard): A[] {
  if (shard.total === 1) return [...accounts];
  return accounts.filter((account) => shardOfToken(account.token.fingerprint(), shard.total) === shard.index);
}

/**
 * --shard.index: a whole number, or a StatefulSet pod name whose last dash-separated part is its
 * ordinal (`wolkvox-exporter-2` is shard 2), so the manifest can pass metadata.name as it is.
 * Returns an error message for anything else.
 */
export function parseShardIndex(text: string): number | string {
  const match = /^(?:\d+|.+-(\d+))$/.exec(text.trim());
  const digits = match ? (match[1] ?? text.trim()) : undefined;
  const index = digits === undefined ? NaN : Number(digits);
  if (Number.isSafeInteger(index)) return index;
  return `"${text}" is neither a shard number such as 2 nor a StatefulSet pod name ending in its ordinal, such as wolkvox-exporter-2`;
}
