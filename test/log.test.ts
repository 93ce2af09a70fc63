// The logger: logfmt rendering, JSON and logfmt lines to a capturing destination, levels, and token redaction.
import { describe, expect, it } from 'vitest';
import { createLogger, REDACT_PATHS, toLogfmt } from '../src/log.js';
import type { LogFormat, LogLevel } from '../src/config/schema.js';

const SENTINEL = 'tok-SENTINEL-9f2';
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function capture(level: LogLevel, format: LogFormat) {
  const lines: string[] = [];
  const logger = createLogger({ level, format }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

describe('toLogfmt', () => {
  it.each<[Record<string, unknown>, string]>([
    [{ ts: 't1', level: 'info', msg: 'started' }, 'ts=t1 level=info msg=started\n'],
    // ts, level, msg first whatever the order of the record.
    [{ a: 1, msg: 'm', level: 'warn', ts: 't' }, 'ts=t level=warn msg=m a=1\n'],
    [{ msg: 'poll failed' }, 'msg="poll failed"\n'],
    [{ msg: 'say "hi"' }, 'msg="say \\"hi\\""\n'],
    [{ level: 'info', eq: 'a=b' }, 'level=info eq="a=b"\n'],
    [{ level: 'info', backslash: 'a\\b' }, 'level=info backslash="a\\\\b"\n'],
    [{ level: 'info', newline: 'a\nb', tab: 'a\tb' }, 'level=info newline="a\\nb" tab="a\\tb"\n'],
    [{ level: 'info', empty: '' }, 'level=info empty=""\n'],
    [{ level: 'info', n: 0, neg: -1.5, yes: true, no: false, nothing: null }, 'level=info n=0 neg=-1.5 yes=true no=false nothing=null\n'],
    [{ level: 'info', list: [1, 'two'] }, 'level=info list="[1,\\"two\\"]"\n'],
    [{ level: 'info', numbers: [1, 2] }, 'level=info numbers=[1,2]\n'],
    [{ level: 'info', gone: undefined }, 'level=info\n'],
    [{ level: 'info', a: { b: { c: 1 }, d: 'x y' } }, 'level=info a.b.c=1 a.d="x y"\n'],
    [{ level: 'info', empty: {} }, 'level=info\n'],
    [{ level: 'info', city: 'Bogotá' }, 'level=info city=Bogotá\n'],
    [{ level: 'info', url: 'https://wv0032.wolkvox.com/api/v2/reports_manager.php?api=chat_15' }, 'level=info url="https://wv0032.wolkvox.com/api/v2/reports_manager.php?api=chat_15"\n'],
  ])('%j → %j', (record, line) => {
    expect(toLogfmt(record)).toBe(line);
  });
});

describe('createLogger', () => {
  it('writes one JSON object per line with level label, ISO ts, msg and bindings, and no pid or hostname', () => {
    const { logger, lines } = capture('info', 'json');
    logger.child({ account: 'co', window: '1h' }).warn({ outcome: 'timeout', attempts: 3 }, 'poll failed');
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record.ts).toMatch(TS);
    expect({ ...record, ts: 'T' }).toEqual({
      level: 'warn',
      ts: 'T',
      account: 'co',
      window: '1h',
      outcome: 'timeout',
      attempts: 3,
      msg: 'poll failed',
    });
  });

  it('writes logfmt lines in logfmt mode', () => {
    const { logger, lines } = capture('info', 'logfmt');
    logger.child({ account: 'co', window: '1h' }).warn({ outcome: 'timeout', attempts: 3 }, 'poll failed');
    logger.info('started');
    expect(lines).toHaveLength(2);
    expect(lines.map((line) => line.replace(/^ts=\S+ /, 'ts=T '))).toEqual([
      'ts=T level=warn msg="poll failed" account=co window=1h outcome=timeout attempts=3\n',
      'ts=T level=info msg=started\n',
    ]);
    expect(lines[0]?.split(' ')[0]?.slice(3)).toMatch(TS);
  });

  it('renders an error on one logfmt line', () => {
    const { logger, lines } = capture('info', 'logfmt');
    logger.error({ err: new Error('boom') }, 'poll crashed');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.slice(0, -1)).not.toContain('\n');
    expect(lines[0]).toContain('msg="poll crashed" err.type=Error err.message=boom err.stack="Error: boom\\n');
  });

  it.each<[LogLevel, string[]]>([
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
  ])('at level %s writes %j', (level, written) => {
    for (const format of ['json', 'logfmt'] as const) {
      const { logger, lines } = capture(level, format);
      logger.debug('d');
      logger.info('i');
      logger.warn('w');
      logger.error('e');
      const levels = lines.map((line) => (format === 'json' ? (JSON.parse(line) as { level: string }).level : /level=(\w+)/.exec(line)?.[1]));
      expect(levels).toEqual(written);
    }
  });

  it('redacts the paths of the style guide', () => {
    expect(REDACT_PATHS).toEqual(['token', '*.token', 'headers["wolkvox-token"]', '*.headers["wolkvox-token"]', 'req.headers.authorization']);
  });

  it.each<LogFormat>(['json', 'logfmt'])('blanks token and headers["wolkvox-token"] fields in %s', (format) => {
    const { logger, lines } = capture('debug', format);
    logger.info({ token: SENTINEL }, 'top-level token');
    logger.info({ headers: { 'wolkvox-token': SENTINEL, accept: 'application/json' } }, 'request headers');
    logger.info({ account: { name: 'co', token: SENTINEL } }, 'nested token');
    logger.info({ req: { headers: { 'wolkvox-token': SENTINEL, authorization: `Bearer ${SENTINEL}` } } }, 'nested headers');
    logger.child({ token: SENTINEL }).warn('token in bindings');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).not.toContain('SENTINEL');
    if (format === 'json') {
      const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records[0]?.token).toBe('[REDACTED]');
      expect(records[1]?.headers).toEqual({ 'wolkvox-token': '[REDACTED]', accept: 'application/json' });
      expect(records[2]?.account).toEqual({ name: 'co', token: '[REDACTED]' });
      expect(records[3]?.req).toEqual({ headers: { 'wolkvox-token': '[REDACTED]', authorization: '[REDACTED]' } });
      expect(records[4]?.token).toBe('[REDACTED]');
    } else {
      expect(lines[0]).toContain('token=[REDACTED]');
      expect(lines[1]).toContain('headers.wolkvox-token=[REDACTED] headers.accept=application/json');
      expect(lines[2]).toContain('account.name=co account.token=[REDACTED]');
      expect(lines[3]).toContain('req.headers.wolkvox-token=[REDACTED] req.headers.authorization=[REDACTED]');
      expect(lines[4]).toContain('token=[REDACTED]');
    }
  });

  it('does not redact fields that merely look alike', () => {
    const { logger, lines } = capture('info', 'json');
    logger.info({ token_file: '/run/secrets/wolkvox', token_env: 'WOLKVOX_TOKEN' }, 'config');
    const record = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect([record.token_file, record.token_env]).toEqual(['/run/secrets/wolkvox', 'WOLKVOX_TOKEN']);
  });
});
