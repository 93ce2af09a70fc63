// Time zones for tests whose outcome would otherwise depend on the hour the suite runs.

/**
 * A zone where the hour starting at `nowMs` is noon, so that neither the small hours nor a midnight is near.
 * - The simulator's chats follow the local time of day: in the small hours two 1m chunks can settle with no chat in
 *   them, leaving nothing to compare (with Bogota the history counters test failed at 03:38 UTC, 22:38 there).
 * - A quota pause lasts until the account's next midnight: with Bogota the status page showed "in 57 min" at 04:03 UTC
 *   where the browser test expected hours, and a run in the last minute before it would see the pause end.
 * Etc/GMT zones keep no summer time, and their signs are inverted: Etc/GMT+5 is UTC-5.
 */
export function zoneAtNoon(nowMs: number): string {
  const offsetHours = ((12 - new Date(nowMs).getUTCHours() + 36) % 24) - 12;
  return offsetHours === 0 ? 'Etc/UTC' : `Etc/GMT${offsetHours > 0 ? '-' : '+'}${Math.abs(offsetHours)}`;
}
