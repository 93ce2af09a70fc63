// Stand-ins for the bcrypt worker in tests: a counting compare that really runs bcrypt, and one the test settles by hand.
import { compare as bcryptCompare } from 'bcryptjs';
import { vi } from 'vitest';
import type { BcryptCompare } from '../../src/http/bcrypt-worker.js';

/** bcryptjs on the test's thread, counted: every call is one bcrypt round the code under test asked for. */
export function countingCompare() {
  return vi.fn<BcryptCompare>((password, hash) => bcryptCompare(password, hash));
}

export type HeldCall = { password: string; hash: string; settle(matches: boolean): void };

/** A compare that stays pending until the test settles it, and counts how many run at once. */
export function heldCompare() {
  const calls: HeldCall[] = [];
  const waiters: Array<{ index: number; resolve: (call: HeldCall) => void }> = [];
  let active = 0;
  let maxActive = 0;
  const compare: BcryptCompare = (password, hash) =>
    new Promise<boolean>((resolve) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      const call: HeldCall = {
        password,
        hash,
        settle: (matches) => {
          active -= 1;
          resolve(matches);
        },
      };
      calls.push(call);
      for (const waiter of waiters.filter(({ index }) => index === calls.length - 1)) waiter.resolve(call);
    });
  return {
    compare,
    calls,
    maxActive: () => maxActive,
    /** Resolves with call number `index` (0-based) once it has started. */
    call(index: number): Promise<HeldCall> {
      const started = calls[index];
      if (started) return Promise.resolve(started);
      return new Promise((resolve) => waiters.push({ index, resolve }));
    },
  };
}
