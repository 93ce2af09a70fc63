// The backfill's options, plan and refusals, and its OpenMetrics text; pure, without a server.
import { describe, expect, it } from 'vitest';
import { renderOpenMetrics, totalOf } from '../../src/backfill/openmetrics.js';
import { parseBackfillOptions, planBackfill, plannedCalls, refusal } from '../../src/backfill/plan.js';
import { ConfigError } from '../../src/config/error.js';
import { parseCommandLine, type RawSettings } from '../../src/config/flags.js';
import type { AccountConfig } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { accountConfig } from '../support/accounts.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function settings(args: string[]): RawSettings {
  const command = parseCommandLine(['backfill', ...args], {});
  if (command.kind !== 'run') throw new Error('expected a run');
  return command.settings;
}

function rejection(args: string[]): ConfigError {
  try {
    parseBackfillOptions(settings(args));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const account = accountConfig;

describe('parseBackfillOptions', () => {
  it('reads dates, the step, labels in order, the output and --max-calls', () => {
    expect(
      parseBackfillOptions(settings(['--from=2026-11-01', '--to=2026-11-07', '--step=6h', '--label=job=wolkvox', '--label', 'instance=a:9867', '--output=/tmp/x.om', '--max-calls=50'])),
    ).toEqual({
      from: { year: 2026, month: 11, day: 1 },
      to: { kind: 'date', date: { year: 2026, month: 11, day: 7 } },
      stepMs: 6 * HOUR,
      labels: [
        ['job', 'wolkvox'],
        ['instance', 'a:9867'],
      ],
      output: '/tmp/x.om',
      maxCalls: 50,
    });
    expect(parseBackfillOptions(settings(['--from=2026-11-01', '--to=2026-11-08T10:00:00-05:00']))).toMatchObject({
      to: { kind: 'instant', ms: Date.parse('2026-11-08T15:00:00Z') },
      stepMs: DAY,
      labels: [],
    });
  });

  it.each([
    [[], '--from: is required: the first local day to backfill, such as 2026-11-01'],
    [['--from=2026-11-01'], '--to: is required: the last local day to backfill, such as 2026-11-07'],
    [['--from=2026-02-30', '--to=2026-03-01'], '--from: "2026-02-30" is not a date such as 2026-11-01'],
    [['--from=1/11/2026', '--to=2026-11-07'], '--from: "1/11/2026" is not a date such as 2026-11-01'],
    [['--from=2026-11-01', '--to=2026-11-08T10:00:00'], '--to: "2026-11-08T10:00:00" is neither a date such as 2026-11-07 nor an instant with its zone such as 2026-11-08T10:00:00-05:00'],
    [['--from=2026-11-07', '--to=2026-11-01'], '--to: 2026-11-01 is before --from 2026-11-07'],
    [['--from=2026-11-01', '--to=2026-11-07', '--step=30m'], '--step: must be between 1h and 1d (one API call per chunk)'],
    [['--from=2026-11-01', '--to=2026-11-07', '--step=2d'], '--step: must be between 1h and 1d (one API call per chunk)'],
    [['--from=2026-11-01', '--to=2026-11-07', '--label=job'], '--label: "job" is not NAME=VALUE with a Prometheus label name such as job=wolkvox'],
    [['--from=2026-11-01', '--to=2026-11-07', '--label=__name__=x'], '--label: "__name__=x" is not NAME=VALUE with a Prometheus label name such as job=wolkvox'],
    [['--from=2026-11-01', '--to=2026-11-07', '--label=account=x'], '--label: label account is set by the exporter itself'],
    [['--from=2026-11-01', '--to=2026-11-07', '--label=job=a', '--label=job=b'], '--label: label job is given twice'],
    [['--from=2026-11-01', '--to=2026-11-07', '--max-calls=0'], '--max-calls: "0" is not a positive number of calls'],
  ])('%j is refused: %s', (args, message) => {
    expect(rejection(args).message).toBe(message);
  });

  it('takes only its own flags and the account ones', () => {
    expect(() => settings(['--web.listen-address=:1'])).toThrow('--web.listen-address: is not a flag of the backfill command (see --help)');
    expect(() => parseCommandLine(['--from=2026-11-01'], {})).toThrow('--from: is not a flag of the exporter (see --help)');
  });
});

describe('planBackfill', () => {
  it('cuts each account\'s local days into chunks in its own zone, whole days included', () => {
    const options = parseBackfillOptions(settings(['--from=2026-11-01', '--to=2026-11-03']));
    const [bogota, madrid] = planBackfill([account('co'), account('es', { timeZone: 'Europe/Madrid' })], options);
    expect(bogota?.chunks.map((c) => [c.dateIni, c.dateEnd])).toEqual([
      ['20261101000000', '20261101235959'],
      ['20261102000000', '20261102235959'],
      ['20261103000000', '20261103235959'],
    ]);
    expect(bogota?.chunks[0]?.startMs).toBe(Date.parse('2026-11-01T05:00:00Z'));
    expect(madrid?.chunks[0]?.startMs).toBe(Date.parse('2026-10-31T23:00:00Z'));
    expect(madrid?.chunks.at(-1)?.nextStartMs).toBe(Date.parse('2026-11-03T23:00:00Z'));
  });

  it('ends at an instant, the last chunk cut there, so it meets a running exporter\'s counters', () => {
    const options = parseBackfillOptions(settings(['--from=2026-11-01', '--to=2026-11-02T10:00:00-05:00', '--step=6h']));
    const [plan] = planBackfill([account('co')], options);
    expect(plan?.chunks.map((c) => [c.dateIni, c.dateEnd])).toEqual([
      ['20261101000000', '20261101055959'],
      ['20261101060000', '20261101115959'],
      ['20261101120000', '20261101175959'],
      ['20261101180000', '20261101235959'],
      ['20261102000000', '20261102055959'],
      ['20261102060000', '20261102095959'],
    ]);
  });
});

describe('plannedCalls and refusal', () => {
  const week = parseBackfillOptions(settings(['--from=2026-11-01', '--to=2026-11-07', '--step=1h']));

  it('count calls per token, which share its quota', () => {
    const shared = new Secret('shared');
    const plans = planBackfill([account('co', { token: shared }), account('mx', { token: shared }), account('pe', { dailyQuota: 5000 })], week);
    expect(plannedCalls(plans)).toEqual({
      total: 3 * 168,
      perToken: [
        { accounts: ['co', 'mx'], calls: 336, quota: 1000, quotaStated: false },
        { accounts: ['pe'], calls: 168, quota: 5000, quotaStated: true },
      ],
    });
    expect(refusal(plans, week)).toBeUndefined();
  });

  it('refuse beyond --max-calls, beyond a token\'s quota, and an empty range', () => {
    const plans = planBackfill([account('co')], week);
    expect(refusal(plans, { ...week, maxCalls: 100 })).toBe('168 calls planned, more than --max-calls 100: shorten the range or raise --step');
    const month = parseBackfillOptions(settings(['--from=2026-10-01', '--to=2026-10-31', '--step=1h']));
    expect(refusal(planBackfill([account('co', { dailyQuota: 700 })], month), month)).toBe(
      '744 calls planned on the token of co, more than its daily quota of 700: split the range over several days or raise --step',
    );
    const shared = new Secret('shared');
    expect(refusal(planBackfill([account('co', { token: shared }), account('mx', { token: shared })], month), month)).toBe(
      '1488 calls planned on the token of co, mx, more than 1000, the daily quota of one license (set daily_quota or --wolkvox.daily-quota if it has more): split the range over several days or raise --step',
    );
    const nothing = parseBackfillOptions(settings(['--from=2026-11-01', '--to=2026-11-01T00:00:00-05:00']));
    expect(refusal(planBackfill([account('co')], nothing), nothing)).toBe('nothing to backfill: the range holds no whole chunk');
  });
});

describe('renderOpenMetrics', () => {
  const counts = (n: number) => ({ ad_chatbot: n, ad_agents: 2 * n, post_chatbot: 3 * n, post_agents: 4 * n, total_chatbot: 10 * n, total_agents: 20 * n });

  it('writes running totals at each chunk end after a 0 at the start, each family together, ending in # EOF', () => {
    const text = renderOpenMetrics(
      [{ account: 'c"o\\', startMs: 1_000_000_000_000, chunks: [{ endMs: 1_000_086_400_000, counts: counts(1) }, { endMs: 1_000_172_800_500, counts: counts(2) }] }],
      [['job', 'wolkvox']],
    );
    const lines = text.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      expect.stringMatching(/^# HELP wolkvox_whatsapp_chats /),
      '# TYPE wolkvox_whatsapp_chats counter',
      'wolkvox_whatsapp_chats_total{account="c\\"o\\\\",source="ad",handler="bot",job="wolkvox"} 0 1000000000',
      'wolkvox_whatsapp_chats_total{account="c\\"o\\\\",source="ad",handler="bot",job="wolkvox"} 1 1000086400',
      'wolkvox_whatsapp_chats_total{account="c\\"o\\\\",source="ad",handler="bot",job="wolkvox"} 3 1000172800.5',
    ]);
    expect(lines).toContain('wolkvox_whatsapp_handled_chats_total{account="c\\"o\\\\",handler="agent",job="wolkvox"} 60 1000172800.5');
    expect(lines.filter((line) => line.startsWith('# TYPE'))).toEqual(['# TYPE wolkvox_whatsapp_chats counter', '# TYPE wolkvox_whatsapp_handled_chats counter']);
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(totalOf({ account: 'x', startMs: 0, chunks: [{ endMs: 1, counts: counts(1) }, { endMs: 2, counts: counts(2) }] })).toEqual(counts(3));
  });
});
