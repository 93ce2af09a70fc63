// An account as the config loader would produce it, for unit tests: the spec's defaults unless a test overrides them.
import type { AccountConfig } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';

/** `name`'s account, with the token `tok-<name>`, no windows, a 5m interval and hourly counters settling 15m late. */
export function accountConfig(name: string, overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    name,
    baseUrl: 'http://wolkvox.invalid',
    token: new Secret(`tok-${name}`),
    timeZone: 'America/Bogota',
    windows: [],
    intervalMs: 300_000,
    maxStalenessMs: 900_000,
    timeoutMs: 60_000,
    maxConcurrency: 1,
    counterStepMs: 3_600_000,
    counterDelayMs: 900_000,
    ...overrides,
  };
}
