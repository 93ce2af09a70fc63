// Tables for Prometheus-style durations and window names (spec: --collector.windows).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_WINDOW_MS, parseDuration, parseWindow } from '../../src/config/duration.js';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['1ms', 1],
    ['90s', 90 * S],
    ['1m', M],
    ['5m', 5 * M],
    ['1h', H],
    ['1h30m', H + 30 * M],
    ['01h', H],
    ['7d', 7 * D],
    ['1w', 7 * D],
    ['1y', 365 * D],
    ['1d1ms', D + 1],
    ['1y2w3d4h5m6s7ms', 365 * D + 14 * D + 3 * D + 4 * H + 5 * M + 6 * S + 7],
    ['744h', 31 * D],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    [''],
    ['m'],
    ['1'],
    ['5'],
    ['1x'],
    ['5M'],
    ['1H'],
    ['1.5h'],
    ['-1h'],
    ['+1h'],
    ['1m1h'], // units must come largest first
    ['1h1h'],
    ['1h 30m'],
    [' 1h'],
    ['1h '],
    ['1sec'],
    ['1min'],
    ['00'],
    ['999999999999y'], // not a safe integer of milliseconds
  ])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [1, '1ms'],
    [S, '1s'],
    [90 * S, '1m30s'],
    [5 * M, '5m'],
    [H + 30 * M, '1h30m'],
    [D, '1d'],
    [7 * D, '7d'], // whole days, never weeks
    [365 * D, '365d'], // nor years
    [D + H + M + S + 1, '1d1h1m1s1ms'],
    [3 * 5 * M, '15m'],
  ])('%d ms prints as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration for any whole number of milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 365 * D }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});

describe('parseWindow', () => {
  it.each([
    ['today', { kind: 'today', label: 'today' }],
    ['yesterday', { kind: 'yesterday', label: 'yesterday' }],
    ['week', { kind: 'week', label: 'week' }],
    ['month', { kind: 'month', label: 'month' }],
    ['last_week', { kind: 'last_week', label: 'last_week' }],
    [' last_month ', { kind: 'last_month', label: 'last_month' }],
    [' today ', { kind: 'today', label: 'today' }],
    ['1m', { kind: 'duration', label: '1m', durationMs: M }],
    ['1h', { kind: 'duration', label: '1h', durationMs: H }],
    ['1h30m', { kind: 'duration', label: '1h30m', durationMs: H + 30 * M }],
    // The label keeps the operator's spelling: 24h stays 24h, not 1d.
    ['24h', { kind: 'duration', label: '24h', durationMs: D }],
    ['1440m', { kind: 'duration', label: '1440m', durationMs: D }],
    ['1d', { kind: 'duration', label: '1d', durationMs: D }],
    ['1w', { kind: 'duration', label: '1w', durationMs: 7 * D }],
    ['90s', { kind: 'duration', label: '90s', durationMs: 90 * S }],
    [' 24h ', { kind: 'duration', label: '24h', durationMs: D }],
    ['31d', { kind: 'duration', label: '31d', durationMs: 31 * D }],
    ['744h', { kind: 'duration', label: '744h', durationMs: 31 * D }],
  ])('%j is %j', (text, spec) => {
    expect(parseWindow(text)).toEqual(spec);
  });

  const notAWindow = (text: string) =>
    `"${text}" is not a window: use a duration such as 1h or 7d, or one of today, yesterday, week, month, last_week, last_month`;

  it.each([
    ['', notAWindow('')],
    ['Today', notAWindow('Today')],
    ['YESTERDAY', notAWindow('YESTERDAY')],
    ['last-week', notAWindow('last-week')],
    ['Week', notAWindow('Week')],
    ['tomorrow', notAWindow('tomorrow')],
    ['1x', notAWindow('1x')],
    ['1.5h', notAWindow('1.5h')],
    ['-1h', notAWindow('-1h')],
    ['1h 30m', notAWindow('1h 30m')],
    ['0', 'window "0" is shorter than 1m'],
    ['0s', 'window "0s" is shorter than 1m'],
    ['59s', 'window "59s" is shorter than 1m'],
    ['59999ms', 'window "59999ms" is shorter than 1m'],
    ['32d', 'window "32d" is longer than 31d, the most one Wolkvox query may span'],
    ['31d1s', 'window "31d1s" is longer than 31d, the most one Wolkvox query may span'],
    ['745h', 'window "745h" is longer than 31d, the most one Wolkvox query may span'],
    ['5w', 'window "5w" is longer than 31d, the most one Wolkvox query may span'],
    ['1y', 'window "1y" is longer than 31d, the most one Wolkvox query may span'],
  ])('%j is rejected: %s', (text, message) => {
    expect(parseWindow(text)).toBe(message);
  });

  it('accepts exactly the durations from 1m to 31d', () => {
    expect(MAX_WINDOW_MS).toBe(31 * D);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 * D }), (ms) => {
        const text = formatDuration(ms);
        const parsed = parseWindow(text);
        if (ms >= M && ms <= 31 * D) expect(parsed).toEqual({ kind: 'duration', label: text, durationMs: ms });
        else expect(typeof parsed).toBe('string');
      }),
    );
  });
});
