// Daily quota pauses, per token: TOKEN LIMIT EXCEEDED pauses every account on that token until its own local midnight.
import type { Clock } from '../clock.js';
import type { AccountConfig } from '../config/schema.js';
import { accountsSharingToken } from '../config/tokens.js';
import type { Logger } from '../log.js';
import { nextLocalMidnight } from '../wolkvox/window.js';

export type QuotaPauses = {
  /**
   * Records that the account's token has spent its daily quota now. Every account on that token
   * pauses until its own local midnight (the quota is per day) and says so in the log, once.
   */
  pause(exhausted: AccountConfig, accounts: readonly AccountConfig[]): void;
  /** True while the account's token is paused and the account's local midnight has not passed. */
  isPaused(account: AccountConfig): boolean;
  /** After a reload: forgets tokens no account uses, so an account given a new token resumes at once. */
  sync(accounts: readonly AccountConfig[]): void;
  /** Local midnight when the account may call again, while it is paused (for the status page). */
  resumesAt(account: AccountConfig): number | undefined;
};

export type QuotaDeps = {
  clock: Clock;
  logger: Logger;
  /** Called when an account's paused state changes (main's cache shows it as wolkvox_quota_paused). */
  onChange(account: string, paused: boolean): void;
};

/** When a pause that began at `pausedAtMs` ends for an account in `timeZone`: its next local midnight. */
export function pauseEndsAt(pausedAtMs: number, timeZone: string): number {
  return nextLocalMidnight(pausedAtMs, timeZone);
}

export function createQuotaPauses({ clock, logger, onChange }: QuotaDeps): QuotaPauses {
  // spec: the pause belongs to the token. Keyed by the token's fingerprint, never the token itself.
  const pausedAt = new Map<string, number>();
  /** Accounts last reported paused, so each change is logged and reported once. */
  const reported = new Set<string>();

  const endOf = (account: AccountConfig): number | undefined => {
    const at = pausedAt.get(account.token.fingerprint());
    return at === undefined ? undefined : pauseEndsAt(at, account.timeZone);
  };

  const report = (account: AccountConfig, paused: boolean, reason: string) => {
    if (paused === reported.has(account.name)) return;
    if (paused) reported.add(account.name);
    else reported.delete(account.name);
    onChange(account.name, paused);
    if (!paused) logger.info({ account: account.name }, `${reason}: resuming polling after the daily quota pause`);
  };

  const isPaused = (account: AccountConfig): boolean => {
    const end = endOf(account);
    const paused = end !== undefined && clock.now() < end;
    report(account, paused, end === undefined ? 'the account has another token now' : 'local midnight passed');
    return paused;
  };

  return {
    pause(exhausted, accounts) {
      const now = clock.now();
      const current = endOf(exhausted);
      if (current === undefined || now >= current) pausedAt.set(exhausted.token.fingerprint(), now);
      for (const account of accountsSharingToken(accounts, exhausted)) {
        if (reported.has(account.name)) continue;
        reported.add(account.name);
        onChange(account.name, true);
        const until = endOf(account) ?? now;
        logger.warn(
          { account: account.name, outcome: 'quota_exceeded', resume_at: new Date(until).toISOString() },
          'Wolkvox daily API quota exhausted: polling of this account paused until local midnight',
        );
      }
    },

    isPaused,

    sync(accounts) {
      const used = new Set(accounts.map((account) => account.token.fingerprint()));
      for (const fingerprint of [...pausedAt.keys()]) if (!used.has(fingerprint)) pausedAt.delete(fingerprint);
      const names = new Set(accounts.map((account) => account.name));
      for (const name of [...reported]) if (!names.has(name)) reported.delete(name);
      // A new token resumes at once; an account added on a paused token pauses at once.
      for (const account of accounts) isPaused(account);
    },

    resumesAt(account) {
      const end = endOf(account);
      return end !== undefined && clock.now() < end ? end : undefined;
    },
  };
}
