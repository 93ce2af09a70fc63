// argv + env → raw settings: flag wins over env, --no- booleans, rejected flags, and the --help text.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FLAGS, helpText, parseCommandLine, TOKEN_ENV, type Command } from '../src/cli.js';
import { ConfigError } from '../src/config/error.js';

function settingsOf(command: Command) {
  if (command.kind !== 'run') throw new Error(`expected a run command, got ${command.kind}`);
  return command.settings;
}

function rejection(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const valueFlags = FLAGS.filter((flag) => !('boolean' in flag));
const envFlags = FLAGS.filter((flag): flag is Extract<(typeof FLAGS)[number], { env: string }> => 'env' in flag);

describe('parseCommandLine', () => {
  it('reads nothing from an empty argv and env', () => {
    expect(parseCommandLine([], {})).toEqual({ kind: 'run', settings: { values: {} } });
  });

  it.each(['--help', '-h'])('%s asks for help, whatever follows', (arg) => {
    expect(parseCommandLine([arg, '--no-such-flag'], {})).toEqual({ kind: 'help' });
    expect(parseCommandLine(['--wolkvox.server=0032', arg], {})).toEqual({ kind: 'help' });
  });

  it('--version asks for the version', () => {
    expect(parseCommandLine(['--version'], {})).toEqual({ kind: 'version' });
    expect(parseCommandLine(['--log.level', 'debug', '--version'], {})).toEqual({ kind: 'version' });
  });

  it.each(valueFlags.map((flag) => [flag.name]))('--%s takes its value after = or as the next argument', (name) => {
    expect(settingsOf(parseCommandLine([`--${name}=a=b c`], {})).values).toEqual({
      [name]: { value: 'a=b c', key: `--${name}` },
    });
    expect(settingsOf(parseCommandLine([`--${name}`, 'x'], {})).values).toEqual({
      [name]: { value: 'x', key: `--${name}` },
    });
    // An empty inline value is still a value; load.ts decides whether it is a good one.
    expect(settingsOf(parseCommandLine([`--${name}=`], {})).values).toEqual({ [name]: { value: '', key: `--${name}` } });
  });

  it.each(envFlags.map((flag) => [flag.name, flag.env]))('--%s falls back to %s, and the flag wins', (name, env) => {
    expect(settingsOf(parseCommandLine([], { [env]: 'from-env' })).values).toEqual({
      [name]: { value: 'from-env', key: env },
    });
    expect(settingsOf(parseCommandLine([`--${name}=from-flag`], { [env]: 'from-env' })).values).toEqual({
      [name]: { value: 'from-flag', key: `--${name}` },
    });
    // An empty variable counts as unset, as in most shells' `VAR= cmd`.
    expect(settingsOf(parseCommandLine([], { [env]: '' })).values).toEqual({});
  });

  it('reads the env var names of the spec', () => {
    expect(Object.fromEntries(envFlags.map((flag) => [flag.name, flag.env]))).toEqual({
      'config.file': 'WOLKVOX_CONFIG_FILE',
      'wolkvox.server': 'WOLKVOX_SERVER',
      'wolkvox.token-file': 'WOLKVOX_TOKEN_FILE',
      'wolkvox.account': 'WOLKVOX_ACCOUNT',
      'wolkvox.base-url': 'WOLKVOX_BASE_URL',
      'wolkvox.timezone': 'WOLKVOX_TIMEZONE',
      'wolkvox.timeout': 'WOLKVOX_TIMEOUT',
      'wolkvox.max-concurrency': 'WOLKVOX_MAX_CONCURRENCY',
      'wolkvox.daily-quota': 'WOLKVOX_DAILY_QUOTA',
      'collector.windows': 'WOLKVOX_WINDOWS',
      'collector.interval': 'WOLKVOX_INTERVAL',
      'collector.max-staleness': 'WOLKVOX_MAX_STALENESS',
      'web.listen-address': 'WOLKVOX_LISTEN_ADDRESS',
      'log.level': 'LOG_LEVEL',
      'log.format': 'LOG_FORMAT',
    });
  });

  it('takes the token from WOLKVOX_TOKEN only, never from a flag', () => {
    expect(TOKEN_ENV).toBe('WOLKVOX_TOKEN');
    expect(settingsOf(parseCommandLine([], { WOLKVOX_TOKEN: 'tok-1' }))).toEqual({
      values: {},
      token: { value: 'tok-1', key: 'WOLKVOX_TOKEN' },
    });
    expect(settingsOf(parseCommandLine([], { WOLKVOX_TOKEN: '' }))).toEqual({ values: {} });
  });

  it.each([
    [['--demo'], 'true'],
    [['--demo=true'], 'true'],
    [['--demo=false'], 'false'],
    [['--no-demo'], 'false'],
  ])('%j sets demo to %s', (argv, value) => {
    expect(settingsOf(parseCommandLine(argv, {})).values).toEqual({ demo: { value, key: '--demo' } });
  });

  it.each([
    [['--web.enable-lifecycle'], 'true'],
    [['--web.enable-lifecycle=false'], 'false'],
    [['--no-web.enable-lifecycle'], 'false'],
  ])('%j sets web.enable-lifecycle to %s', (argv, value) => {
    expect(settingsOf(parseCommandLine(argv, {})).values).toEqual({
      'web.enable-lifecycle': { value, key: '--web.enable-lifecycle' },
    });
  });

  it('does not take the next argument as the value of a boolean flag', () => {
    expect(settingsOf(parseCommandLine(['--demo', '--log.level', 'warn'], {})).values).toEqual({
      demo: { value: 'true', key: '--demo' },
      'log.level': { value: 'warn', key: '--log.level' },
    });
  });

  it.each([
    [['--no-such-flag'], '--no-such-flag', '--no-such-flag: unknown flag (see --help)'],
    [['--bogus=SECRET'], '--bogus', '--bogus: unknown flag (see --help)'],
    [['--collector.interval=5m', '--Collector.Interval=5m'], '--Collector.Interval', '--Collector.Interval: unknown flag (see --help)'],
    [['--wolkvox.token=SECRET'], '--wolkvox.token', '--wolkvox.token: unknown flag; the token is read from WOLKVOX_TOKEN or --wolkvox.token-file, never from argv (see --help)'],
    [['--wolkvox.token', 'SECRET'], '--wolkvox.token', '--wolkvox.token: unknown flag; the token is read from WOLKVOX_TOKEN or --wolkvox.token-file, never from argv (see --help)'],
    [['--no-wolkvox.server'], '--no-wolkvox.server', '--no-wolkvox.server: unknown flag (see --help)'],
    [['--no-demo=true'], '--no-demo', '--no-demo: unknown flag (see --help)'],
    [['-v'], 'argv', 'argv: unexpected argument at position 1: flags look like --name=value (see --help)'],
    [['--log.level=info', 'SECRET'], 'argv', 'argv: unexpected argument at position 2: flags look like --name=value (see --help)'],
    [['--wolkvox.server=0032', '--wolkvox.server=0107'], '--wolkvox.server', '--wolkvox.server: flag given more than once'],
    [['--demo', '--no-demo'], '--demo', '--demo: flag given more than once'],
    [['--log.level', 'info', '--log.level=debug'], '--log.level', '--log.level: flag given more than once'],
    [['--wolkvox.server'], '--wolkvox.server', '--wolkvox.server: needs a value'],
    [['--collector.interval', '--demo'], '--collector.interval', '--collector.interval: needs a value'],
    [['--demo=yes'], '--demo', '--demo: "yes" is not true or false'],
    [['--web.enable-lifecycle=1'], '--web.enable-lifecycle', '--web.enable-lifecycle: "1" is not true or false'],
  ])('%j is rejected', (argv, key, message) => {
    const error = rejection(() => parseCommandLine(argv, {}));
    expect(error.key).toBe(key);
    expect(error.message).toBe(message);
  });

  it.each([
    [['--wolkvox.token=SECRET-9f2']],
    [['--wolkvox.token', 'SECRET-9f2']],
    [['--wolkvox-token=SECRET-9f2']],
    [['--token=SECRET-9f2']],
    [['--log.level=info', 'SECRET-9f2']],
  ])('never echoes the value of %j', (argv) => {
    const error = rejection(() => parseCommandLine(argv, {}));
    for (const text of [error.message, error.key, error.stack ?? '', JSON.stringify(error), inspect(error, { depth: 5 })]) {
      expect(text).not.toContain('SECRET');
    }
  });
});

describe('helpText', () => {
  const text = helpText('1.2.3');
  const lines = text.split('\n');

  it('names the program and the version', () => {
    expect(lines[0]).toBe('usage: wolkvox-exporter [<flags>]');
    expect(text).toContain('version 1.2.3.');
    expect(text).toMatch(/^ {2}-h, --help +show this help and exit$/m);
    expect(text).toMatch(/^ {2}--version +print the version and exit$/m);
    expect(text).toContain('WOLKVOX_TOKEN holds the token itself. A flag wins over its env var.');
  });

  it.each(FLAGS.map((flag) => [flag.name, flag]))('lists --%s with its help, default and env var', (name, flag) => {
    const placeholder = 'placeholder' in flag ? `=${flag.placeholder}` : '';
    const matching = lines.filter((line) => line.startsWith(`  --${name}${placeholder} `));
    expect(matching).toHaveLength(1);
    const line = matching[0] ?? '';
    expect(line).toContain(flag.help);
    if ('default' in flag) expect(line).toContain(`default: ${flag.default}`);
    else expect(line).not.toContain('default:');
    if ('env' in flag) expect(line).toContain(`env: ${flag.env}`);
    else expect(line).not.toContain('env:');
  });

  it('shows the defaults of the spec', () => {
    const defaults = Object.fromEntries(FLAGS.filter((flag) => 'default' in flag).map((flag) => [flag.name, flag.default]));
    expect(defaults).toEqual({
      'wolkvox.account': 'the server id',
      'wolkvox.base-url': 'https://wv<server>.wolkvox.com',
      'wolkvox.timezone': 'America/Bogota',
      'wolkvox.timeout': '60s',
      'wolkvox.max-concurrency': '1',
      'collector.windows': '1h,today',
      'collector.interval': '5m',
      'collector.max-staleness': '3 x interval',
      'web.listen-address': ':9867',
      'web.telemetry-path': '/metrics',
      'web.enable-lifecycle': 'false',
      'log.level': 'info',
      'log.format': 'json',
      demo: 'false',
    });
  });

  it('lists every flag of the spec and no other', () => {
    expect(FLAGS.map((flag) => flag.name).sort()).toEqual(
      [
        'config.file',
        'wolkvox.server',
        'wolkvox.token-file',
        'wolkvox.account',
        'wolkvox.base-url',
        'wolkvox.timezone',
        'wolkvox.timeout',
        'wolkvox.max-concurrency',
        'wolkvox.daily-quota',
        'collector.windows',
        'collector.interval',
        'collector.max-staleness',
        'web.listen-address',
        'web.telemetry-path',
        'web.config.file',
        'web.enable-lifecycle',
        'log.level',
        'log.format',
        'demo',
      ].sort(),
    );
    expect(lines.filter((line) => /^ {2}--/.test(line))).toHaveLength(FLAGS.length + 1); // + --version
  });
});
