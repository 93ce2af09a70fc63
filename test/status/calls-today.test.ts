// Calls today: counted from each account's own local midnight, by outcome.
import { describe, expect, it } from 'vitest';
import { createCallsToday } from '../../src/status/calls-today.js';

// 23:30 in Bogotá (UTC-5) is 04:30Z the next UTC day; Madrid is then already past its midnight.
const BOGOTA_2330 = Date.parse('2026-03-11T04:30:00Z');
const BOGOTA_MIDNIGHT = Date.parse('2026-03-11T05:00:00Z');

describe('calls today', () => {
  it('counts by outcome and starts again at the account\'s local midnight', () => {
    const calls = createCallsToday();
    calls.sync([{ name: 'co', timeZone: 'America/Bogota' }]);
    calls.record('co', 'success', BOGOTA_2330);
    calls.record('co', 'success', BOGOTA_2330 + 60_000);
    calls.record('co', 'timeout', BOGOTA_2330 + 120_000);
    expect(calls.of('co', BOGOTA_MIDNIGHT - 1)).toEqual({ success: 2, timeout: 1 });
    // No call since midnight: the day reads empty without any timer.
    expect(calls.of('co', BOGOTA_MIDNIGHT)).toEqual({});
    calls.record('co', 'no_data', BOGOTA_MIDNIGHT + 1);
    expect(calls.of('co', BOGOTA_MIDNIGHT + 2)).toEqual({ no_data: 1 });
  });

  it('uses each account\'s own zone', () => {
    const calls = createCallsToday();
    calls.sync([
      { name: 'co', timeZone: 'America/Bogota' },
      { name: 'es', timeZone: 'Europe/Madrid' },
    ]);
    // 04:30Z: 23:30 on the 10th in Bogotá, 05:30 on the 11th in Madrid.
    const before = Date.parse('2026-03-10T22:00:00Z');
    calls.record('co', 'success', before);
    calls.record('es', 'success', before);
    expect(calls.of('co', BOGOTA_2330)).toEqual({ success: 1 });
    expect(calls.of('es', BOGOTA_2330)).toEqual({});
  });

  it('forgets removed accounts and ignores calls of unknown ones; a new zone starts a new day', () => {
    const calls = createCallsToday();
    calls.sync([{ name: 'co', timeZone: 'America/Bogota' }]);
    calls.record('co', 'success', BOGOTA_2330);
    calls.record('ghost', 'success', BOGOTA_2330);
    expect(calls.of('ghost', BOGOTA_2330)).toEqual({});
    calls.sync([{ name: 'co', timeZone: 'Europe/Madrid' }]);
    expect(calls.of('co', BOGOTA_2330)).toEqual({});
    calls.sync([]);
    calls.record('co', 'success', BOGOTA_2330);
    expect(calls.of('co', BOGOTA_2330)).toEqual({});
  });

  it('returns a copy that the caller cannot use to change the count', () => {
    const calls = createCallsToday();
    calls.sync([{ name: 'co', timeZone: 'America/Bogota' }]);
    calls.record('co', 'success', BOGOTA_2330);
    const seen = calls.of('co', BOGOTA_2330);
    seen.success = 99;
    expect(calls.of('co', BOGOTA_2330)).toEqual({ success: 1 });
  });
});
