// Which accounts share a token: they share its daily quota and its 2 simultaneous calls (wolkvox-api-facts: Limits).
import type { AccountConfig } from './schema.js';

/** The accounts in `accounts` that use the token of `account`, `account`'s own entry included when listed. */
export function accountsSharingToken(accounts: readonly AccountConfig[], account: Pick<AccountConfig, 'token'>): AccountConfig[] {
  return accounts.filter((other) => other.token.equals(account.token));
}

/** The accounts grouped by token, keyed by the token's fingerprint, in first-seen order. */
export function groupByToken(accounts: readonly AccountConfig[]): Map<string, AccountConfig[]> {
  const groups = new Map<string, AccountConfig[]>();
  for (const account of accounts) {
    const key = account.token.fingerprint();
    const group = groups.get(key);
    if (group) group.push(account);
    else groups.set(key, [account]);
  }
  return groups;
}
