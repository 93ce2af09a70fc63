// argv + env → raw settings: flag wins over env, --no- booleans, subcommands, rejected flags, and the --help text.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { helpText } from '../src/cli.js';
import { ConfigError } from '../src/config/error.js';
import { FLAGS, parseCommandLine, settingOrDefault, TOKEN_ENV, type Command, type FlagSpec } from '../src/config/flags.js';

function settingsOf(command: Command) {
  if (command.kind !== 'run') throw new Error(`expected a run command, got ${command.kind}`);
  return command.settings;
}

const ALL_FLAGS: readonly FlagSpec[] = FLAGS;
const EXPORTER_FLAGS = ALL_FLAGS.filter((flag) => flag.commands.includes('exporter'));
const HEALTHCHECK_ONLY = ALL_FLAGS.filter((flag) => !flag.commands.includes('exporter') && flag.commands.includes('healthcheck'));
const BACKFILL_ONLY = ALL_FLAGS.filter((flag) => flag.commands.length === 1 && flag.commands[0] === 'backfill');

function rejection(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const valueFlags = EXPORTER_FLAGS.filter((flag) => !flag.boolean);
const envFlags = EXPORTER_FLAGS.filter((flag): flag is FlagSpec & { env: string } => flag.env !== undefined);

describe('parseCommandLine', () => {
  it('reads nothing from an empty argv and env', () => {
    expect(parseCommandLine([], {})).toEqual({ kind: 'run', command: 'exporter', settings: { values: {} } });
  });

  it.each(['--help', '-h'])('%s asks for help, whatever follows', (arg) => {
    expect(parseCommandLine([arg, '--no-such-flag'], {})).toEqual({ kind: 'help', command: 'exporter' });
    expect(parseCommandLine(['--wolkvox.server=0032', arg], {})).toEqual({ kind: 'help', command: 'exporter' });
    expect(parseCommandLine(['healthcheck', arg], {})).toEqual({ kind: 'help', command: 'healthcheck' });
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
  });

  // spec: an empty value for a file flag is an error, never "off" (`--web.config.file=$UNSET`).
  it.each(valueFlags.map((flag) => [flag.name]))('--%s= with an empty value is rejected, never read as "off"', (name) => {
    for (const argv of [[`--${name}=`], [`--${name}`, '']]) {
      const error = rejection(() => parseCommandLine(argv, {}));
      expect(error.key).toBe(`--${name}`);
      expect(error.message).toBe(`--${name}: is empty: an empty value does not turn anything off; leave the flag out instead`);
    }
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
      'wolkvox.max-in-flight': 'WOLKVOX_MAX_IN_FLIGHT',
      'wolkvox.daily-quota': 'WOLKVOX_DAILY_QUOTA',
      'shard.total': 'WOLKVOX_SHARD_TOTAL',
      'shard.index': 'WOLKVOX_SHARD_INDEX',
      'collector.windows': 'WOLKVOX_WINDOWS',
      'collector.counter.step': 'WOLKVOX_COUNTER_STEP',
      'collector.counter.delay': 'WOLKVOX_COUNTER_DELAY',
      'collector.interval': 'WOLKVOX_INTERVAL',
      'collector.max-staleness': 'WOLKVOX_MAX_STALENESS',
      'web.listen-address': 'WOLKVOX_LISTEN_ADDRESS',
      'log.level': 'LOG_LEVEL',
      'log.format': 'LOG_FORMAT',
    });
  });

  it('reads the healthcheck env vars only for the healthcheck command', () => {
    const env = { WOLKVOX_HEALTHCHECK_USERNAME: 'prom', WOLKVOX_HEALTHCHECK_PASSWORD_FILE: '/p', WOLKVOX_LISTEN_ADDRESS: ':9999' };
    expect(settingsOf(parseCommandLine([], env)).values).toEqual({ 'web.listen-address': { value: ':9999', key: 'WOLKVOX_LISTEN_ADDRESS' } });
    expect(settingsOf(parseCommandLine(['healthcheck'], env)).values).toEqual({
      'web.listen-address': { value: ':9999', key: 'WOLKVOX_LISTEN_ADDRESS' },
      'healthcheck.username': { value: 'prom', key: 'WOLKVOX_HEALTHCHECK_USERNAME' },
      'healthcheck.password-file': { value: '/p', key: 'WOLKVOX_HEALTHCHECK_PASSWORD_FILE' },
    });
    expect(Object.fromEntries(HEALTHCHECK_ONLY.map((flag) => [flag.name, flag.env]))).toEqual({
      'healthcheck.username': 'WOLKVOX_HEALTHCHECK_USERNAME',
      'healthcheck.password-file': 'WOLKVOX_HEALTHCHECK_PASSWORD_FILE',
      'healthcheck.cert-file': 'WOLKVOX_HEALTHCHECK_CERT_FILE',
      'healthcheck.key-file': 'WOLKVOX_HEALTHCHECK_KEY_FILE',
      'healthcheck.timeout': 'WOLKVOX_HEALTHCHECK_TIMEOUT',
    });
  });

  it('healthcheck takes every exporter flag and its own; the exporter refuses the healthcheck ones', () => {
    const command = parseCommandLine(['healthcheck', '--web.listen-address=:1', '--demo', '--healthcheck.username=u'], {});
    expect(command).toEqual({
      kind: 'run',
      command: 'healthcheck',
      settings: {
        values: {
          'web.listen-address': { value: ':1', key: '--web.listen-address' },
          demo: { value: 'true', key: '--demo' },
          'healthcheck.username': { value: 'u', key: '--healthcheck.username' },
        },
      },
    });
    const error = rejection(() => parseCommandLine(['--healthcheck.username=u'], {}));
    expect(error.message).toBe('--healthcheck.username: is not a flag of the exporter (see --help)');
    // The word is a command only in first place.
    expect(rejection(() => parseCommandLine(['--demo', 'healthcheck'], {})).message).toContain('unexpected argument at position 2');
  });

  it('gives the defaults of the flag table where nothing was given, and what was given otherwise', () => {
    const settings = settingsOf(parseCommandLine(['--collector.interval=1m'], {}));
    expect(settingOrDefault(settings, 'collector.interval')).toEqual({ value: '1m', key: '--collector.interval' });
    expect(settingOrDefault(settings, 'collector.windows')).toEqual({ value: '1h,today', key: '--collector.windows' });
    expect(settingOrDefault(settings, 'config.file')).toBeUndefined();
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

  const healthcheckText = helpText('1.2.3', 'healthcheck');
  const backfillText = helpText('1.2.3', 'backfill');
  /** Each flag is described once: under the exporter when it takes it, else under its own command. */
  const helpOf = (flag: FlagSpec) => (flag.commands.includes('exporter') ? text : flag.commands.includes('healthcheck') ? healthcheckText : backfillText);
  const shownDefault = (flag: FlagSpec) => flag.default ?? flag.defaultHelp;

  it.each(ALL_FLAGS.map((flag) => [flag.name, flag] as const))('lists --%s with its help, default and env var, under its command', (name, flag) => {
    const placeholder = flag.placeholder !== undefined ? `=${flag.placeholder}` : '';
    const described = (help: string) => help.split('\n').filter((line) => line.startsWith(`  --${name}${placeholder} `));
    const matching = described(helpOf(flag));
    expect(matching).toHaveLength(1);
    for (const other of [text, healthcheckText, backfillText].filter((help) => help !== helpOf(flag))) expect(described(other)).toHaveLength(0);
    const line = matching[0] ?? '';
    expect(line).toContain(flag.help);
    if (shownDefault(flag) !== undefined) expect(line).toContain(`default: ${shownDefault(flag)}`);
    else expect(line).not.toContain('default:');
    if (flag.env !== undefined) expect(line).toContain(`env: ${flag.env}`);
    else expect(line).not.toContain('env:');
  });

  it('backfill --help names the command, its own flags and the account flags it takes', () => {
    expect(backfillText.split('\n')[0]).toBe('usage: wolkvox-exporter backfill --from=YYYY-MM-DD --to=YYYY-MM-DD [<flags>]');
    expect(BACKFILL_ONLY.map((flag) => flag.name)).toEqual(['from', 'to', 'step', 'output', 'label', 'max-calls']);
    expect(backfillText).toContain('--config.file, --wolkvox.*, --log.*');
    expect(text).toMatch(/^ {2}backfill +write past counters for promtool/m);
  });

  it('healthcheck --help names the command and how it finds the exporter', () => {
    expect(healthcheckText.split('\n')[0]).toBe('usage: wolkvox-exporter healthcheck [<flags>]');
    expect(healthcheckText).toContain('PID 1');
    expect(text).toMatch(/^ {2}healthcheck +check a running exporter/m);
  });

  it('shows the defaults of the spec', () => {
    const defaults = Object.fromEntries(EXPORTER_FLAGS.filter((flag) => shownDefault(flag) !== undefined).map((flag) => [flag.name, shownDefault(flag)]));
    expect(defaults).toEqual({
      'wolkvox.account': 'the server id',
      'wolkvox.base-url': 'https://wv<server>.wolkvox.com',
      'wolkvox.timezone': 'America/Bogota',
      'wolkvox.timeout': '60s',
      'wolkvox.max-concurrency': '1',
      'wolkvox.max-in-flight': '16',
      'shard.total': '1',
      'shard.index': '0',
      'collector.windows': '1h,today',
      'collector.counter.step': '1h',
      'collector.counter.delay': '15m',
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
    expect(EXPORTER_FLAGS.map((flag) => flag.name).sort()).toEqual(
      [
        'config.file',
        'wolkvox.server',
        'wolkvox.token-file',
        'wolkvox.account',
        'wolkvox.base-url',
        'wolkvox.timezone',
        'wolkvox.timeout',
        'wolkvox.max-concurrency',
        'wolkvox.max-in-flight',
        'wolkvox.daily-quota',
        'shard.total',
        'shard.index',
        'collector.windows',
        'collector.counter.step',
        'collector.counter.delay',
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
    expect(lines.filter((line) => /^ {2}--/.test(line))).toHaveLength(EXPORTER_FLAGS.length + 1); // + --version
  });
});
