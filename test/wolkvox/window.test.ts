// Window maths: examples per zone (DST, leap days, year ends) and properties of the bounds (spec: Windows and the API call).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WindowSpec } from '../../src/config/duration.js';
import {
  computeWindow,
  formatWolkvoxDate,
  instantOf,
  isClosedWindow,
  nextLocalMidnight,
  offsetAt,
  parseWolkvoxDate,
  startOfLocalDay,
  wallTimeAt,
  type WallTime,
} from '../../src/wolkvox/window.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const TODAY: WindowSpec = { kind: 'today', label: 'today' };
const YESTERDAY: WindowSpec = { kind: 'yesterday', label: 'yesterday' };
const WEEK: WindowSpec = { kind: 'week', label: 'week' };
const MONTH: WindowSpec = { kind: 'month', label: 'month' };
const LAST_WEEK: WindowSpec = { kind: 'last_week', label: 'last_week' };
const LAST_MONTH: WindowSpec = { kind: 'last_month', label: 'last_month' };
const duration = (label: string, durationMs: number): WindowSpec => ({ kind: 'duration', label, durationMs });
const H1 = duration('1h', HOUR);
const H24 = duration('24h', DAY);
const D31 = duration('31d', 31 * DAY);
const M15 = duration('15m', 15 * MINUTE);

const at = (iso: string) => Date.parse(iso);

/** Zones whose offset never changes in the tested years (so wall-clock differences equal instant differences). */
const FIXED_ZONES = ['America/Bogota', 'America/Lima', 'UTC', 'Asia/Kolkata'] as const;
/** Zones whose DST changes happen away from midnight, so every local day has a 00:00:00. */
const NO_MIDNIGHT_GAP = [...FIXED_ZONES, 'Europe/Madrid', 'America/New_York', 'America/Mexico_City', 'Australia/Sydney'] as const;
/** Zones that have moved their clocks at midnight: some days start at 01:00. */
const MIDNIGHT_GAP = ['America/Santiago', 'America/Sao_Paulo', 'America/Havana'] as const;
const ALL_ZONES = [...NO_MIDNIGHT_GAP, ...MIDNIGHT_GAP];

describe('computeWindow examples', () => {
  it.each<[string, WindowSpec, string, string, string, string]>([
    // Bogotá, UTC−5 all year.
    ['Bogotá 1h', H1, '2024-06-15T17:30:45.999Z', 'America/Bogota', '20240615113045', '20240615123045'],
    ['Bogotá 15m', M15, '2024-06-15T17:30:45Z', 'America/Bogota', '20240615121545', '20240615123045'],
    ['Bogotá 24h', H24, '2024-06-15T17:30:45Z', 'America/Bogota', '20240614123045', '20240615123045'],
    ['Bogotá today', TODAY, '2024-06-15T17:30:45Z', 'America/Bogota', '20240615000000', '20240615123045'],
    ['Bogotá yesterday', YESTERDAY, '2024-06-15T17:30:45Z', 'America/Bogota', '20240614000000', '20240614235959'],
    // Just after local midnight, still the previous day in UTC's eyes... and the other way round.
    ['Bogotá today at 00:00:00', TODAY, '2024-06-15T05:00:00Z', 'America/Bogota', '20240615000000', '20240615000000'],
    ['Bogotá today at 23:59:59', TODAY, '2024-06-16T04:59:59Z', 'America/Bogota', '20240615000000', '20240615235959'],
    ['Bogotá today when UTC is a day ahead', TODAY, '2024-06-16T03:00:00Z', 'America/Bogota', '20240615000000', '20240615220000'],
    // Year boundary.
    ['Bogotá 1h over new year', H1, '2025-01-01T05:30:00Z', 'America/Bogota', '20241231233000', '20250101003000'],
    ['Bogotá today on 1 January', TODAY, '2025-01-01T05:30:00Z', 'America/Bogota', '20250101000000', '20250101003000'],
    ['Bogotá yesterday on 1 January', YESTERDAY, '2025-01-01T05:30:00Z', 'America/Bogota', '20241231000000', '20241231235959'],
    ['UTC yesterday on 1 January', YESTERDAY, '2025-01-01T00:00:00Z', 'UTC', '20241231000000', '20241231235959'],
    ['UTC 31d over new year', D31, '2025-01-15T00:00:00Z', 'UTC', '20241215000000', '20250115000000'],
    // Leap days.
    ['Bogotá yesterday on 1 March 2024', YESTERDAY, '2024-03-01T12:00:00Z', 'America/Bogota', '20240229000000', '20240229235959'],
    ['Bogotá today on 29 February 2024', TODAY, '2024-02-29T12:00:00Z', 'America/Bogota', '20240229000000', '20240229070000'],
    ['Bogotá yesterday on 1 March 2028', YESTERDAY, '2028-03-01T12:00:00Z', 'America/Bogota', '20280229000000', '20280229235959'],
    ['UTC yesterday on 1 March 2025 (no leap day)', YESTERDAY, '2025-03-01T12:00:00Z', 'UTC', '20250228000000', '20250228235959'],
    ['UTC 24h over 29 February 2028', H24, '2028-03-01T06:00:00Z', 'UTC', '20280229060000', '20280301060000'],
    ['UTC 31d back from 1 March 2028', D31, '2028-03-01T00:00:00Z', 'UTC', '20280130000000', '20280301000000'],
    ['UTC 31d back from 1 March 2027', D31, '2027-03-01T00:00:00Z', 'UTC', '20270129000000', '20270301000000'],
    // Mexico City: UTC−6 since DST was abolished in 2022.
    ['Mexico City today', TODAY, '2024-07-01T18:00:00Z', 'America/Mexico_City', '20240701000000', '20240701120000'],
    ['Mexico City yesterday', YESTERDAY, '2024-07-01T05:59:59Z', 'America/Mexico_City', '20240629000000', '20240629235959'],
    ['Mexico City 1h', H1, '2024-07-01T06:00:00Z', 'America/Mexico_City', '20240630230000', '20240701000000'],
    // Mexico City in its last DST spring (2022-04-03, 02:00 → 03:00).
    ['Mexico City yesterday after the 2022 spring', YESTERDAY, '2022-04-04T12:00:00Z', 'America/Mexico_City', '20220403000000', '20220403235959'],
    // Santiago: DST starts 2024-09-08 at 00:00 → 01:00, so that day starts at 01:00.
    ['Santiago today on the spring day', TODAY, '2024-09-08T12:00:00Z', 'America/Santiago', '20240908010000', '20240908090000'],
    ['Santiago today a minute after the jump', TODAY, '2024-09-08T04:01:00Z', 'America/Santiago', '20240908010000', '20240908010100'],
    ['Santiago yesterday on the spring day', YESTERDAY, '2024-09-08T12:00:00Z', 'America/Santiago', '20240907000000', '20240907235959'],
    ['Santiago yesterday after the spring day', YESTERDAY, '2024-09-09T12:00:00Z', 'America/Santiago', '20240908010000', '20240908235959'],
    ['Santiago 24h over the spring jump', H24, '2024-09-08T12:00:00Z', 'America/Santiago', '20240907080000', '20240908090000'],
    ['Santiago 1h over the spring jump', H1, '2024-09-08T04:30:00Z', 'America/Santiago', '20240907233000', '20240908013000'],
    // Santiago: DST ends 2025-04-06 at 00:00 → 23:00 on the 5th, which has 25 hours.
    ['Santiago today in the repeated hour', TODAY, '2025-04-06T03:30:00Z', 'America/Santiago', '20250405000000', '20250405233000'],
    ['Santiago today on the autumn day', TODAY, '2025-04-06T12:00:00Z', 'America/Santiago', '20250406000000', '20250406080000'],
    ['Santiago yesterday on the autumn day', YESTERDAY, '2025-04-06T12:00:00Z', 'America/Santiago', '20250405000000', '20250405235959'],
    ['Santiago 1h over the autumn change', H1, '2025-04-06T03:30:00Z', 'America/Santiago', '20250405233000', '20250405233000'],
    ['Santiago 24h over the autumn change', H24, '2025-04-06T12:00:00Z', 'America/Santiago', '20250405090000', '20250406080000'],
    // São Paulo: UTC−3 now; in 2018 DST began at midnight (2018-11-04 00:00 → 01:00).
    ['São Paulo today', TODAY, '2024-06-15T12:00:00Z', 'America/Sao_Paulo', '20240615000000', '20240615090000'],
    ['São Paulo yesterday', YESTERDAY, '2024-06-15T12:00:00Z', 'America/Sao_Paulo', '20240614000000', '20240614235959'],
    ['São Paulo today on the 2018 spring day', TODAY, '2018-11-04T12:00:00Z', 'America/Sao_Paulo', '20181104010000', '20181104100000'],
    ['São Paulo yesterday after the 2018 spring day', YESTERDAY, '2018-11-05T12:00:00Z', 'America/Sao_Paulo', '20181104010000', '20181104235959'],
    // Madrid: DST at 02:00/03:00, midnight always exists.
    ['Madrid today in winter', TODAY, '2024-01-15T10:00:00Z', 'Europe/Madrid', '20240115000000', '20240115110000'],
    ['Madrid today in summer', TODAY, '2024-07-15T10:00:00Z', 'Europe/Madrid', '20240715000000', '20240715120000'],
    ['Madrid yesterday after the spring day (23 h)', YESTERDAY, '2024-04-01T10:00:00Z', 'Europe/Madrid', '20240331000000', '20240331235959'],
    ['Madrid yesterday after the autumn day (25 h)', YESTERDAY, '2024-10-28T10:00:00Z', 'Europe/Madrid', '20241027000000', '20241027235959'],
    ['Madrid 1h over the spring jump', H1, '2024-03-31T01:30:00Z', 'Europe/Madrid', '20240331013000', '20240331033000'],
    ['Madrid 1h over the autumn change', H1, '2024-10-27T01:30:00Z', 'Europe/Madrid', '20241027023000', '20241027023000'],
    // UTC.
    ['UTC today', TODAY, '2024-06-15T17:30:45Z', 'UTC', '20240615000000', '20240615173045'],
    ['UTC 1h', H1, '2024-06-15T00:30:00Z', 'UTC', '20240614233000', '20240615003000'],
  ])('%s', (_name, spec, now, zone, dateIni, dateEnd) => {
    const bounds = computeWindow(spec, at(now), zone);
    expect({ dateIni: bounds.dateIni, dateEnd: bounds.dateEnd }).toEqual({ dateIni, dateEnd });
  });

  it.each<[string, WindowSpec, string, string, string, string]>([
    ['Bogotá yesterday', YESTERDAY, '2024-06-15T17:30:45Z', 'America/Bogota', '2024-06-14T05:00:00Z', '2024-06-15T04:59:59Z'],
    ['Santiago today on the spring day', TODAY, '2024-09-08T12:00:00Z', 'America/Santiago', '2024-09-08T04:00:00Z', '2024-09-08T12:00:00Z'],
    ['Santiago yesterday on the autumn day (24:59:59)', YESTERDAY, '2025-04-06T12:00:00Z', 'America/Santiago', '2025-04-05T03:00:00Z', '2025-04-06T03:59:59Z'],
    ['Santiago yesterday after the spring day (22:59:59)', YESTERDAY, '2024-09-09T12:00:00Z', 'America/Santiago', '2024-09-08T04:00:00Z', '2024-09-09T02:59:59Z'],
    ['Santiago 1h over the autumn change', H1, '2025-04-06T03:30:00Z', 'America/Santiago', '2025-04-06T02:30:00Z', '2025-04-06T03:30:00Z'],
    ['Madrid yesterday after the spring day (22:59:59)', YESTERDAY, '2024-04-01T10:00:00Z', 'Europe/Madrid', '2024-03-30T23:00:00Z', '2024-03-31T21:59:59Z'],
    ['Madrid yesterday after the autumn day (24:59:59)', YESTERDAY, '2024-10-28T10:00:00Z', 'Europe/Madrid', '2024-10-26T22:00:00Z', '2024-10-27T22:59:59Z'],
    ['Kolkata today', TODAY, '2024-06-15T12:00:00Z', 'Asia/Kolkata', '2024-06-14T18:30:00Z', '2024-06-15T12:00:00Z'],
  ])('%s spans the right instants', (_name, spec, now, zone, start, end) => {
    const bounds = computeWindow(spec, at(now), zone);
    expect([new Date(bounds.startMs).toISOString(), new Date(bounds.endMs).toISOString()]).toEqual([
      new Date(start).toISOString(),
      new Date(end).toISOString(),
    ]);
  });

  it('truncates now to the whole second, as Wolkvox dates have no milliseconds', () => {
    const bounds = computeWindow(H1, at('2024-06-15T17:30:45.999Z'), 'UTC');
    expect(bounds).toEqual({
      startMs: at('2024-06-15T16:30:45Z'),
      endMs: at('2024-06-15T17:30:45Z'),
      dateIni: '20240615163045',
      dateEnd: '20240615173045',
    });
  });

  it('marks yesterday, last_week and last_month as closed, and nothing else', () => {
    expect([YESTERDAY, LAST_WEEK, LAST_MONTH].map(isClosedWindow)).toEqual([true, true, true]);
    expect([TODAY, WEEK, MONTH, H24].map(isClosedWindow)).toEqual([false, false, false, false]);
  });
});

describe('calendar windows: weeks from Monday, months from the 1st, local time', () => {
  it.each<[string, WindowSpec, string, string, string, string]>([
    // Wednesday 2024-06-12, 10:00 in Bogotá.
    ['week on a Wednesday', WEEK, '2024-06-12T15:00:00Z', 'America/Bogota', '20240610000000', '20240612100000'],
    ['last_week on a Wednesday', LAST_WEEK, '2024-06-12T15:00:00Z', 'America/Bogota', '20240603000000', '20240609235959'],
    ['month in mid-June', MONTH, '2024-06-12T15:00:00Z', 'America/Bogota', '20240601000000', '20240612100000'],
    ['last_month in mid-June', LAST_MONTH, '2024-06-12T15:00:00Z', 'America/Bogota', '20240501000000', '20240531235959'],
    // A Monday: the week starts today, last week is the one that just ended.
    ['week on a Monday at 00:00:00', WEEK, '2024-06-10T05:00:00Z', 'America/Bogota', '20240610000000', '20240610000000'],
    ['last_week on a Monday', LAST_WEEK, '2024-06-10T05:00:00Z', 'America/Bogota', '20240603000000', '20240609235959'],
    // A Sunday still belongs to the week that began on Monday.
    ['week on a Sunday night', WEEK, '2024-06-17T04:59:59Z', 'America/Bogota', '20240610000000', '20240616235959'],
    // Local dates, not UTC ones: 21:00 on Sunday in Bogotá is already Monday in UTC.
    ['week when UTC is already Monday', WEEK, '2024-06-17T02:00:00Z', 'America/Bogota', '20240610000000', '20240616210000'],
    // Month and year ends, leap years.
    ['last_month on 1 March 2024 (leap)', LAST_MONTH, '2024-03-01T12:00:00Z', 'America/Bogota', '20240201000000', '20240229235959'],
    ['last_month on 1 March 2023', LAST_MONTH, '2023-03-01T12:00:00Z', 'America/Bogota', '20230201000000', '20230228235959'],
    ['last_month in January', LAST_MONTH, '2025-01-15T12:00:00Z', 'America/Bogota', '20241201000000', '20241231235959'],
    ['last_week over new year', LAST_WEEK, '2025-01-02T12:00:00Z', 'America/Bogota', '20241223000000', '20241229235959'],
    ['week over new year', WEEK, '2025-01-02T12:00:00Z', 'America/Bogota', '20241230000000', '20250102070000'],
    ['month on the 31st', MONTH, '2024-12-31T12:00:00Z', 'America/Bogota', '20241201000000', '20241231070000'],
    // Santiago's clocks jump 00:00 → 01:00 on Sunday 2024-09-08: that week is an hour short, its bounds are not.
    ['Santiago last_week over the DST change', LAST_WEEK, '2024-09-10T15:00:00Z', 'America/Santiago', '20240902000000', '20240908235959'],
    ['São Paulo month with a midnight gap inside (2018-11-04)', MONTH, '2018-11-20T15:00:00Z', 'America/Sao_Paulo', '20181101000000', '20181120130000'],
    ['Madrid last_month over the March DST change', LAST_MONTH, '2024-04-10T10:00:00Z', 'Europe/Madrid', '20240301000000', '20240331235959'],
  ])('%s', (_name, spec, now, zone, dateIni, dateEnd) => {
    const bounds = computeWindow(spec, at(now), zone);
    expect([bounds.dateIni, bounds.dateEnd]).toEqual([dateIni, dateEnd]);
    expect(formatWolkvoxDate(wallTimeAt(bounds.startMs, zone))).toBe(dateIni);
    expect(formatWolkvoxDate(wallTimeAt(bounds.endMs, zone))).toBe(dateEnd);
  });
});

describe('nextLocalMidnight', () => {
  it.each<[string, string, string]>([
    ['2024-06-15T17:30:45Z', 'America/Bogota', '2024-06-16T05:00:00Z'],
    ['2024-06-15T05:00:00Z', 'America/Bogota', '2024-06-16T05:00:00Z'], // at midnight: the next one
    ['2024-06-15T04:59:59Z', 'America/Bogota', '2024-06-15T05:00:00Z'],
    ['2024-02-28T12:00:00Z', 'America/Bogota', '2024-02-29T05:00:00Z'],
    ['2024-02-29T12:00:00Z', 'America/Bogota', '2024-03-01T05:00:00Z'],
    ['2024-12-31T23:00:00Z', 'UTC', '2025-01-01T00:00:00Z'],
    ['2024-12-31T23:00:00Z', 'Europe/Madrid', '2025-01-01T23:00:00Z'],
    ['2024-12-31T22:00:00Z', 'Europe/Madrid', '2024-12-31T23:00:00Z'],
    ['2024-06-15T12:00:00Z', 'America/Mexico_City', '2024-06-16T06:00:00Z'],
    ['2024-06-15T12:00:00Z', 'America/Sao_Paulo', '2024-06-16T03:00:00Z'],
    ['2024-06-15T12:00:00Z', 'Asia/Kolkata', '2024-06-15T18:30:00Z'],
    // Santiago's spring day has no 00:00: the quota resets when it starts, at 01:00.
    ['2024-09-07T12:00:00Z', 'America/Santiago', '2024-09-08T04:00:00Z'],
    // Santiago's autumn: from 23:30 (first pass) of the 25-hour day, midnight is 1 h 30 min away.
    ['2025-04-06T02:30:00Z', 'America/Santiago', '2025-04-06T04:00:00Z'],
    ['2025-04-06T03:30:00Z', 'America/Santiago', '2025-04-06T04:00:00Z'],
    ['2025-04-05T12:00:00Z', 'America/Santiago', '2025-04-06T04:00:00Z'],
  ])('after %s in %s is %s', (now, zone, expected) => {
    expect(new Date(nextLocalMidnight(at(now), zone)).toISOString()).toBe(new Date(expected).toISOString());
  });
});

describe('wallTimeAt, offsetAt, instantOf, startOfLocalDay', () => {
  it.each<[string, string, WallTime]>([
    ['2024-02-29T04:59:59Z', 'America/Bogota', { year: 2024, month: 2, day: 28, hour: 23, minute: 59, second: 59 }],
    ['2024-02-29T05:00:00Z', 'America/Bogota', { year: 2024, month: 2, day: 29, hour: 0, minute: 0, second: 0 }],
    ['2024-06-15T00:00:00Z', 'UTC', { year: 2024, month: 6, day: 15, hour: 0, minute: 0, second: 0 }],
    ['2024-06-15T18:29:59Z', 'Asia/Kolkata', { year: 2024, month: 6, day: 15, hour: 23, minute: 59, second: 59 }],
  ])('%s in %s is %j', (iso, zone, wall) => {
    expect(wallTimeAt(at(iso), zone)).toEqual(wall);
  });

  it('remembers wall times by second and zone: the same answers, whatever was asked before', () => {
    // One instant in many zones, and instants within one second: a key without the zone, or with the milliseconds
    // cut wrongly, would answer from another entry.
    const instant = at('2024-06-15T18:29:59Z');
    const zones = ['UTC', 'Asia/Kolkata', 'America/Bogota', 'Europe/Madrid'];
    const first = zones.map((zone) => wallTimeAt(instant, zone));
    expect(first.map((wall) => wall.hour)).toEqual([18, 23, 13, 20]);
    expect(zones.map((zone) => wallTimeAt(instant + 999, zone))).toEqual(first);
    expect(wallTimeAt(instant + 1_000, 'UTC')).toEqual({ year: 2024, month: 6, day: 15, hour: 18, minute: 30, second: 0 });
    // Before 1970 the fraction floors into the earlier second, as the formatter reads it.
    expect(wallTimeAt(-1, 'UTC')).toEqual({ year: 1969, month: 12, day: 31, hour: 23, minute: 59, second: 59 });
    expect(wallTimeAt(-1_000, 'UTC')).toEqual(wallTimeAt(-1, 'UTC'));
    // Shared, so frozen: a caller cannot change what the next one reads.
    expect(Object.isFrozen(wallTimeAt(instant, 'UTC'))).toBe(true);
    // Past its bound the memory starts over, and answers stay right (5,000 seconds > 4,096 entries).
    for (let second = 0; second < 5_000; second++) wallTimeAt(instant + second * 1_000, 'UTC');
    expect(wallTimeAt(instant, 'Asia/Kolkata')).toEqual(first[1]);
  });

  it.each<[string, string, number]>([
    ['2024-06-15T12:00:00Z', 'America/Bogota', -5 * HOUR],
    ['2024-06-15T12:00:00Z', 'Asia/Kolkata', 5.5 * HOUR],
    ['2024-06-15T12:00:00Z', 'Europe/Madrid', 2 * HOUR],
    ['2024-01-15T12:00:00Z', 'Europe/Madrid', 1 * HOUR],
    ['2024-06-15T12:00:00Z', 'America/Santiago', -4 * HOUR],
    ['2024-12-15T12:00:00Z', 'America/Santiago', -3 * HOUR],
    ['2024-06-15T12:00:00Z', 'UTC', 0],
  ])('the offset at %s in %s is %d ms', (iso, zone, offset) => {
    expect(offsetAt(at(iso), zone)).toBe(offset);
  });

  it.each<[string, WallTime, string, string]>([
    ['a plain time', { year: 2024, month: 6, day: 15, hour: 12, minute: 0, second: 0 }, 'America/Bogota', '2024-06-15T17:00:00Z'],
    ['the gap at Santiago midnight: the first instant of the day', { year: 2024, month: 9, day: 8, hour: 0, minute: 0, second: 0 }, 'America/Santiago', '2024-09-08T04:00:00Z'],
    ['inside the gap at Santiago midnight', { year: 2024, month: 9, day: 8, hour: 0, minute: 30, second: 0 }, 'America/Santiago', '2024-09-08T04:30:00Z'],
    ['the repeated hour in Santiago: the earlier instant', { year: 2025, month: 4, day: 5, hour: 23, minute: 30, second: 0 }, 'America/Santiago', '2025-04-06T02:30:00Z'],
    ['the gap in Madrid', { year: 2024, month: 3, day: 31, hour: 2, minute: 30, second: 0 }, 'Europe/Madrid', '2024-03-31T01:30:00Z'],
    ['the repeated hour in Madrid: the earlier instant', { year: 2024, month: 10, day: 27, hour: 2, minute: 30, second: 0 }, 'Europe/Madrid', '2024-10-27T00:30:00Z'],
  ])('instantOf %s', (_name, wall, zone, iso) => {
    expect(new Date(instantOf(wall, zone)).toISOString()).toBe(new Date(iso).toISOString());
  });

  it('startOfLocalDay finds the first instant of the day, gaps included', () => {
    expect(startOfLocalDay(at('2024-09-08T20:00:00Z'), 'America/Santiago')).toBe(at('2024-09-08T04:00:00Z'));
    expect(startOfLocalDay(at('2025-04-06T03:30:00Z'), 'America/Santiago')).toBe(at('2025-04-05T03:00:00Z'));
    expect(startOfLocalDay(at('2024-06-15T04:00:00Z'), 'America/Bogota')).toBe(at('2024-06-14T05:00:00Z'));
  });
});

describe('formatWolkvoxDate and parseWolkvoxDate', () => {
  it.each<[WallTime, string]>([
    [{ year: 2024, month: 2, day: 29, hour: 0, minute: 0, second: 0 }, '20240229000000'],
    [{ year: 2024, month: 12, day: 31, hour: 23, minute: 59, second: 59 }, '20241231235959'],
    [{ year: 999, month: 1, day: 2, hour: 3, minute: 4, second: 5 }, '09990102030405'],
  ])('%j is %s', (wall, text) => {
    expect(formatWolkvoxDate(wall)).toBe(text);
  });

  it.each([
    ['20240229000000', { year: 2024, month: 2, day: 29, hour: 0, minute: 0, second: 0 }],
    ['20280229235959', { year: 2028, month: 2, day: 29, hour: 23, minute: 59, second: 59 }],
    ['20241231235959', { year: 2024, month: 12, day: 31, hour: 23, minute: 59, second: 59 }],
    ['20000229120000', { year: 2000, month: 2, day: 29, hour: 12, minute: 0, second: 0 }],
  ])('reads %s', (text, wall) => {
    expect(parseWolkvoxDate(text)).toEqual(wall);
  });

  it.each([
    ['20240230000000', 'February 30'],
    ['20230229000000', '29 February in a common year'],
    ['21000229000000', '29 February in 2100, not a leap year'],
    ['20240431000000', 'April 31'],
    ['20241301000000', 'month 13'],
    ['20240001000000', 'month 0'],
    ['20240100000000', 'day 0'],
    ['20240132000000', 'day 32'],
    ['20240101240000', 'hour 24'],
    ['20240101006000', 'minute 60'],
    ['20240101000060', 'second 60'],
    ['2024010100000', '13 digits'],
    ['202401010000000', '15 digits'],
    ['2024-01-01 00:00:00', 'separators'],
    [' 20240101000000', 'a leading space'],
    ['20240101000000\n', 'a trailing newline'],
    ['2024010100000a', 'a letter'],
    ['', 'nothing'],
  ])('rejects %s (%s)', (text) => {
    expect(parseWolkvoxDate(text)).toBeUndefined();
  });
});

describe('window properties', () => {
  // 2000-01-01 to 2040-01-01, whole milliseconds.
  const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) });
  const anyZone = fc.constantFrom(...ALL_ZONES);
  const fixedZone = fc.constantFrom(...FIXED_ZONES);
  const durationMs = fc.integer({ min: 60, max: 31 * 86_400 }).map((s) => s * SECOND);
  const wallMs = (text: string) => {
    const wall = parseWolkvoxDate(text);
    if (!wall) throw new Error(`not a Wolkvox date: ${text}`);
    return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  };
  const dateOf = (text: string) => text.slice(0, 8);
  const dayBefore = (yyyymmdd: string) => {
    const d = new Date(Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8))) - DAY);
    return formatWolkvoxDate({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: 0, minute: 0, second: 0 }).slice(0, 8);
  };

  it('a duration window spans exactly D and ends at now, truncated to the second, in any zone', () => {
    fc.assert(
      fc.property(instant, anyZone, durationMs, (now, zone, d) => {
        const bounds = computeWindow(duration('d', d), now, zone);
        expect(bounds.endMs - bounds.startMs).toBe(d);
        expect(bounds.endMs).toBe(Math.floor(now / SECOND) * SECOND);
      }),
      { numRuns: 500 },
    );
  });

  it('in zones without DST, the wall-clock strings of a duration window also differ by D', () => {
    fc.assert(
      fc.property(instant, fixedZone, durationMs, (now, zone, d) => {
        const bounds = computeWindow(duration('d', d), now, zone);
        expect(wallMs(bounds.dateEnd) - wallMs(bounds.dateIni)).toBe(d);
      }),
      { numRuns: 500 },
    );
  });

  it('today starts at local 00:00:00 in zones without a gap at midnight, and never after now', () => {
    fc.assert(
      fc.property(instant, fc.constantFrom(...NO_MIDNIGHT_GAP), (now, zone) => {
        const bounds = computeWindow(TODAY, now, zone);
        expect(bounds.dateIni.endsWith('000000')).toBe(true);
        expect(dateOf(bounds.dateIni)).toBe(dateOf(bounds.dateEnd));
        expect(bounds.startMs).toBeLessThanOrEqual(now);
        expect(bounds.endMs).toBe(Math.floor(now / SECOND) * SECOND);
        expect(now - bounds.startMs).toBeLessThan(25 * HOUR);
      }),
      { numRuns: 500 },
    );
  });

  it('today starts at the first instant of the local day in any zone', () => {
    fc.assert(
      fc.property(instant, anyZone, (now, zone) => {
        const bounds = computeWindow(TODAY, now, zone);
        expect(['000000', '010000']).toContain(bounds.dateIni.slice(8));
        expect(dateOf(bounds.dateIni)).toBe(dateOf(bounds.dateEnd));
        expect(bounds.startMs).toBeLessThanOrEqual(now);
        // One second earlier is the day before.
        const before = formatWolkvoxDate(wallTimeAt(bounds.startMs - SECOND, zone));
        expect(dateOf(before)).toBe(dayBefore(dateOf(bounds.dateIni)));
      }),
      { numRuns: 500 },
    );
  });

  it("yesterday is the whole previous local day, 23:59:59 long (22:59:59 or 24:59:59 on DST days), and ends 1 s before today's start", () => {
    fc.assert(
      fc.property(instant, anyZone, (now, zone) => {
        const today = computeWindow(TODAY, now, zone);
        const yesterday = computeWindow(YESTERDAY, now, zone);
        expect(yesterday.endMs).toBe(today.startMs - SECOND);
        expect(dateOf(yesterday.dateIni)).toBe(dayBefore(dateOf(today.dateIni)));
        expect(dateOf(yesterday.dateEnd)).toBe(dateOf(yesterday.dateIni));
        expect(yesterday.dateEnd.slice(8)).toBe('235959');
        expect(['000000', '010000']).toContain(yesterday.dateIni.slice(8));
        expect([23 * HOUR - SECOND, 24 * HOUR - SECOND, 25 * HOUR - SECOND]).toContain(yesterday.endMs - yesterday.startMs);
        if ((FIXED_ZONES as readonly string[]).includes(zone)) expect(yesterday.endMs - yesterday.startMs).toBe(DAY - SECOND);
        // It does not move while today lasts.
        expect(computeWindow(YESTERDAY, today.startMs, zone)).toEqual(yesterday);
      }),
      { numRuns: 500 },
    );
  });

  const weekdayOf = (yyyymmdd: string) =>
    new Date(Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8)))).getUTCDay();
  const daysBetween = (a: string, b: string) =>
    (Date.UTC(Number(b.slice(0, 4)), Number(b.slice(4, 6)) - 1, Number(b.slice(6, 8))) -
      Date.UTC(Number(a.slice(0, 4)), Number(a.slice(4, 6)) - 1, Number(a.slice(6, 8)))) /
    DAY;

  it('week starts on the Monday of the local week, contains today, and last_week is the 7 days before it', () => {
    fc.assert(
      fc.property(instant, anyZone, (now, zone) => {
        const today = computeWindow(TODAY, now, zone);
        const week = computeWindow(WEEK, now, zone);
        const lastWeek = computeWindow(LAST_WEEK, now, zone);
        expect(weekdayOf(dateOf(week.dateIni))).toBe(1);
        expect(daysBetween(dateOf(week.dateIni), dateOf(today.dateIni))).toBeGreaterThanOrEqual(0);
        expect(daysBetween(dateOf(week.dateIni), dateOf(today.dateIni))).toBeLessThan(7);
        expect(week.endMs).toBe(today.endMs);
        expect(week.startMs).toBeLessThanOrEqual(today.startMs);
        expect(lastWeek.endMs).toBe(week.startMs - SECOND);
        expect(weekdayOf(dateOf(lastWeek.dateIni))).toBe(1);
        expect(weekdayOf(dateOf(lastWeek.dateEnd))).toBe(0);
        expect(daysBetween(dateOf(lastWeek.dateIni), dateOf(lastWeek.dateEnd))).toBe(6);
        expect(lastWeek.dateEnd.slice(8)).toBe('235959');
        // A closed window does not move while the week lasts.
        expect(computeWindow(LAST_WEEK, week.startMs, zone)).toEqual(lastWeek);
      }),
      { numRuns: 500 },
    );
  });

  it('month starts on the 1st of the local month, and last_month is the whole month before, at most 31 days', () => {
    fc.assert(
      fc.property(instant, anyZone, (now, zone) => {
        const today = computeWindow(TODAY, now, zone);
        const month = computeWindow(MONTH, now, zone);
        const lastMonth = computeWindow(LAST_MONTH, now, zone);
        expect(month.dateIni.slice(0, 6)).toBe(today.dateIni.slice(0, 6));
        expect(month.dateIni.slice(6, 8)).toBe('01');
        expect(month.endMs).toBe(today.endMs);
        expect(lastMonth.endMs).toBe(month.startMs - SECOND);
        expect(lastMonth.dateIni.slice(6, 8)).toBe('01');
        expect(lastMonth.dateIni.slice(0, 6)).toBe(lastMonth.dateEnd.slice(0, 6));
        // The last day of the month: the next day is the 1st.
        const lastDay = dateOf(lastMonth.dateEnd);
        const next = new Date(Date.UTC(Number(lastDay.slice(0, 4)), Number(lastDay.slice(4, 6)) - 1, Number(lastDay.slice(6, 8))) + DAY);
        expect(next.getUTCDate()).toBe(1);
        // Wolkvox reads wall-clock dates: the span it sees stays under its 31-day limit, DST or not.
        expect(wallMs(lastMonth.dateEnd) - wallMs(lastMonth.dateIni)).toBeLessThan(31 * DAY);
        expect(computeWindow(LAST_MONTH, month.startMs, zone)).toEqual(lastMonth);
      }),
      { numRuns: 500 },
    );
  });

  it('dates are always 14 digits and round-trip through parseWolkvoxDate and instantOf', () => {
    const spec = fc.oneof(fc.constant(TODAY), fc.constant(YESTERDAY), durationMs.map((d) => duration('d', d)));
    fc.assert(
      fc.property(instant, anyZone, spec, (now, zone, windowSpec) => {
        const bounds = computeWindow(windowSpec, now, zone);
        for (const [text, ms] of [
          [bounds.dateIni, bounds.startMs],
          [bounds.dateEnd, bounds.endMs],
        ] as const) {
          expect(text).toMatch(/^\d{14}$/);
          const wall = parseWolkvoxDate(text);
          expect(wall).toBeDefined();
          expect(formatWolkvoxDate(wall as WallTime)).toBe(text);
          const back = instantOf(wall as WallTime, zone);
          // The same wall time; the same instant unless it is the second pass of a repeated hour.
          expect(formatWolkvoxDate(wallTimeAt(back, zone))).toBe(text);
          if ((FIXED_ZONES as readonly string[]).includes(zone)) expect(back).toBe(ms);
          else expect([0, HOUR]).toContain(ms - back);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('formatWolkvoxDate(wallTimeAt(t)) matches an independent rendering', () => {
    const fixedOffsets: Record<string, number> = { UTC: 0, 'America/Bogota': -5 * HOUR, 'America/Lima': -5 * HOUR, 'Asia/Kolkata': 5.5 * HOUR };
    const sweden = new Map<string, Intl.DateTimeFormat>();
    const swedish = (zone: string) => {
      let f = sweden.get(zone);
      if (!f) {
        // sv-SE writes "2024-02-29 13:05:09", a different path through Intl than en-US parts.
        f = new Intl.DateTimeFormat('sv-SE', { timeZone: zone, dateStyle: 'short', timeStyle: 'medium' });
        sweden.set(zone, f);
      }
      return f;
    };
    fc.assert(
      fc.property(instant, anyZone, (t, zone) => {
        const text = formatWolkvoxDate(wallTimeAt(t, zone));
        expect(text).toBe(swedish(zone).format(new Date(t)).replace(/\D/g, ''));
        const offset = fixedOffsets[zone];
        if (offset !== undefined) {
          expect(text).toBe(new Date(t + offset).toISOString().slice(0, 19).replace(/\D/g, ''));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('nextLocalMidnight is the start of the next local day, after now and at most 25 h away', () => {
    fc.assert(
      fc.property(instant, anyZone, (now, zone) => {
        const next = nextLocalMidnight(now, zone);
        expect(next).toBeGreaterThan(now);
        expect(next - now).toBeLessThanOrEqual(25 * HOUR);
        const todayDate = dateOf(formatWolkvoxDate(wallTimeAt(now, zone)));
        const nextText = formatWolkvoxDate(wallTimeAt(next, zone));
        expect(dayBefore(dateOf(nextText))).toBe(todayDate);
        expect(['000000', '010000']).toContain(nextText.slice(8));
        expect(dateOf(formatWolkvoxDate(wallTimeAt(next - SECOND, zone)))).toBe(todayDate);
        expect(next).toBe(startOfLocalDay(next, zone));
      }),
      { numRuns: 500 },
    );
  });
});
