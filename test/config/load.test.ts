// loadConfig: defaults, flag/env precedence, single-account and file errors (one fixture per rejected case), and a fuzz.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { exporterSettings, FLAGS, parseCommandLine } from '../../src/config/flags.js';
import { ConfigError } from '../../src/config/error.js';
import { formatPath } from '../../src/config/error.js';
import { DEMO_ACCOUNT, DEMO_TOKEN, loadConfig, type ReadFile } from '../../src/config/load.js';
import type { AccountConfig, Config } from '../../src/config/schema.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'config');
const fixture = (name: string) => join(FIXTURES, name);
const SECRETS = join(FIXTURES, 'secrets');
const SENTINEL = 'tok-SENTINEL-9f2';

const readFixture: ReadFile = (path) => readFileSync(path, 'utf8');

const MIN = 60_000;
const ONE_HOUR = { kind: 'duration', label: '1h', durationMs: 3_600_000 };
const TODAY = { kind: 'today', label: 'today' };

/** What main() does for the exporter: argv and env → settings → Config. */
function loadArgv(argv: readonly string[], env: NodeJS.ProcessEnv, readFile: ReadFile): Config {
  return loadConfig({ settings: exporterSettings(argv, env), env, readFile });
}

function load(argv: string[], env: NodeJS.ProcessEnv = {}, readFile: ReadFile = readFixture): Config {
  return loadArgv(argv, env, readFile);
}

function only(config: Config): AccountConfig {
  expect(config.accounts).toHaveLength(1);
  return config.accounts[0] as AccountConfig;
}

function rejection(argv: string[], env: NodeJS.ProcessEnv = {}, readFile: ReadFile = readFixture): ConfigError {
  try {
    loadArgv(argv, env, readFile);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, got a config');
}

/** The plain fields of an account, with the token revealed, for toEqual. */
function plain(account: AccountConfig) {
  return { ...account, token: account.token.reveal() };
}

const SINGLE = ['--wolkvox.server=0032'];
const MAX_IN_FLIGHT_MESSAGE = 'must be a positive whole number of calls in flight to one origin, such as 16';
const TOKEN_ENV = { WOLKVOX_TOKEN: SENTINEL };

describe('loadConfig: single account', () => {
  it('fills in every default of the spec', () => {
    const config = load(SINGLE, TOKEN_ENV);
    expect(plain(only(config))).toEqual({
      name: '0032',
      server: '0032',
      baseUrl: 'https://wv0032.wolkvox.com',
      token: SENTINEL,
      timeZone: 'America/Bogota',
      windows: [ONE_HOUR, TODAY],
      intervalMs: 5 * MIN,
      maxStalenessMs: 15 * MIN,
      timeoutMs: 60_000,
      maxConcurrency: 1,
      counterStepMs: 60 * MIN,
      counterDelayMs: 15 * MIN,
    });
    expect(only(config)).not.toHaveProperty('dailyQuota');
    expect(config.demo).toBe(false);
    expect(config).not.toHaveProperty('configFile');
    expect(config.web).toEqual({ listenAddress: { port: 9867 }, telemetryPath: '/metrics', enableLifecycle: false });
    expect(config.web.listenAddress.host).toBeUndefined();
    expect(config.log).toEqual({ level: 'info', format: 'json' });
    expect(config.maxInFlightPerOrigin).toBe(16);
  });

  it.each([
    ['1m', 3 * MIN],
    ['10s', 30_000],
    ['1h', 3 * 60 * MIN],
  ])('max-staleness defaults to 3 × an interval of %s', (interval, staleness) => {
    expect(only(load([...SINGLE, `--collector.interval=${interval}`], TOKEN_ENV)).maxStalenessMs).toBe(staleness);
  });

  it('takes an explicit max-staleness over 3 × interval', () => {
    const account = only(load([...SINGLE, '--collector.interval=1m', '--collector.max-staleness=2m'], TOKEN_ENV));
    expect(account.maxStalenessMs).toBe(2 * MIN);
  });

  type Row = {
    flag: string;
    env: string;
    fromEnv: string;
    fromFlag: string;
    read: (config: Config) => unknown;
    envValue: unknown;
    flagValue: unknown;
  };
  const account = (config: Config) => only(config);
  const rows: Row[] = [
    { flag: 'wolkvox.server', env: 'WOLKVOX_SERVER', fromEnv: '0107', fromFlag: '0045', read: (c) => account(c).server, envValue: '0107', flagValue: '0045' },
    { flag: 'wolkvox.account', env: 'WOLKVOX_ACCOUNT', fromEnv: 'from-env', fromFlag: 'from-flag', read: (c) => account(c).name, envValue: 'from-env', flagValue: 'from-flag' },
    { flag: 'wolkvox.base-url', env: 'WOLKVOX_BASE_URL', fromEnv: 'http://env.example:81/', fromFlag: 'https://flag.example', read: (c) => account(c).baseUrl, envValue: 'http://env.example:81', flagValue: 'https://flag.example' },
    { flag: 'wolkvox.timezone', env: 'WOLKVOX_TIMEZONE', fromEnv: 'America/Lima', fromFlag: 'Europe/Madrid', read: (c) => account(c).timeZone, envValue: 'America/Lima', flagValue: 'Europe/Madrid' },
    { flag: 'wolkvox.timeout', env: 'WOLKVOX_TIMEOUT', fromEnv: '10s', fromFlag: '1m30s', read: (c) => account(c).timeoutMs, envValue: 10_000, flagValue: 90_000 },
    { flag: 'wolkvox.max-concurrency', env: 'WOLKVOX_MAX_CONCURRENCY', fromEnv: '2', fromFlag: '1', read: (c) => account(c).maxConcurrency, envValue: 2, flagValue: 1 },
    { flag: 'wolkvox.max-in-flight', env: 'WOLKVOX_MAX_IN_FLIGHT', fromEnv: '4', fromFlag: ' 64 ', read: (c) => c.maxInFlightPerOrigin, envValue: 4, flagValue: 64 },
    { flag: 'wolkvox.daily-quota', env: 'WOLKVOX_DAILY_QUOTA', fromEnv: '2000', fromFlag: '5000', read: (c) => account(c).dailyQuota, envValue: 2000, flagValue: 5000 },
    { flag: 'collector.windows', env: 'WOLKVOX_WINDOWS', fromEnv: 'yesterday', fromFlag: ' 24h , today ', read: (c) => account(c).windows, envValue: [{ kind: 'yesterday', label: 'yesterday' }], flagValue: [{ kind: 'duration', label: '24h', durationMs: 86_400_000 }, TODAY] },
    { flag: 'collector.interval', env: 'WOLKVOX_INTERVAL', fromEnv: '10m', fromFlag: '30s', read: (c) => [account(c).intervalMs, account(c).maxStalenessMs], envValue: [10 * MIN, 30 * MIN], flagValue: [30_000, 90_000] },
    { flag: 'collector.max-staleness', env: 'WOLKVOX_MAX_STALENESS', fromEnv: '1h', fromFlag: '20m', read: (c) => account(c).maxStalenessMs, envValue: 60 * MIN, flagValue: 20 * MIN },
    { flag: 'web.listen-address', env: 'WOLKVOX_LISTEN_ADDRESS', fromEnv: '127.0.0.1:9100', fromFlag: '[::1]:0', read: (c) => c.web.listenAddress, envValue: { host: '127.0.0.1', port: 9100 }, flagValue: { host: '::1', port: 0 } },
    { flag: 'log.level', env: 'LOG_LEVEL', fromEnv: 'debug', fromFlag: 'error', read: (c) => c.log.level, envValue: 'debug', flagValue: 'error' },
    { flag: 'log.format', env: 'LOG_FORMAT', fromEnv: 'logfmt', fromFlag: 'json', read: (c) => c.log.format, envValue: 'logfmt', flagValue: 'json' },
  ];

  it.each(rows)('$env sets what --$flag sets, and the flag wins', ({ flag, env, fromEnv, fromFlag, read, envValue, flagValue }) => {
    const base = flag === 'wolkvox.server' ? [] : SINGLE;
    expect(read(load(base, { ...TOKEN_ENV, [env]: fromEnv }))).toEqual(envValue);
    expect(read(load([...base, `--${flag}=${fromFlag}`], { ...TOKEN_ENV, [env]: fromEnv }))).toEqual(flagValue);
    expect(read(load([...base, `--${flag}`, fromFlag], TOKEN_ENV))).toEqual(flagValue);
  });

  it('reads the token file named by WOLKVOX_TOKEN_FILE or --wolkvox.token-file, the flag winning', () => {
    const colombia = join(SECRETS, 'colombia');
    const chile = join(SECRETS, 'chile');
    expect(only(load(SINGLE, { WOLKVOX_TOKEN_FILE: colombia })).token.reveal()).toBe('tok-colombia-1');
    expect(only(load([...SINGLE, `--wolkvox.token-file=${chile}`], { WOLKVOX_TOKEN_FILE: colombia })).token.reveal()).toBe(
      'tok-chile-3',
    );
  });

  it('trims trailing whitespace of a token file but keeps the token otherwise as it is', () => {
    const files: Record<string, string> = { '/crlf': 'tok-a\r\n', '/spaces': ' tok b \n\n', '/plain': 'tok-c' };
    const readFile: ReadFile = (path) => files[path] ?? '';
    expect(only(load([...SINGLE, '--wolkvox.token-file=/crlf'], {}, readFile)).token.reveal()).toBe('tok-a');
    expect(only(load([...SINGLE, '--wolkvox.token-file=/spaces'], {}, readFile)).token.reveal()).toBe(' tok b');
    expect(only(load([...SINGLE, '--wolkvox.token-file=/plain'], {}, readFile)).token.reveal()).toBe('tok-c');
  });

  it('reads WOLKVOX_SERVER and WOLKVOX_CONFIG_FILE like their flags', () => {
    expect(only(load([], { WOLKVOX_SERVER: '0107', ...TOKEN_ENV })).baseUrl).toBe('https://wv0107.wolkvox.com');
    const config = load([], { WOLKVOX_CONFIG_FILE: fixture('good.yml'), WOLKVOX_TOKEN_MX: 'tok-mx-2' });
    expect(config.configFile).toBe(fixture('good.yml'));
    expect(config.accounts.map((a) => a.name)).toEqual(['colombia', 'mexico', 'chile']);
    const flagWins = load([`--config.file=${fixture('server-as-int.yml')}`], {
      WOLKVOX_CONFIG_FILE: fixture('good.yml'),
      WOLKVOX_TOKEN_CO: 'a',
      WOLKVOX_TOKEN_MX: 'b',
    });
    expect(flagWins.configFile).toBe(fixture('server-as-int.yml'));
  });

  it('passes --web.config.file through, and --web.enable-lifecycle and its --no- form', () => {
    const on = load([...SINGLE, '--web.config.file=/etc/web.yml', '--web.enable-lifecycle'], TOKEN_ENV);
    expect(on.web).toEqual({
      listenAddress: { port: 9867 },
      telemetryPath: '/metrics',
      configFile: '/etc/web.yml',
      enableLifecycle: true,
    });
    expect(load([...SINGLE, '--no-web.enable-lifecycle'], TOKEN_ENV).web.enableLifecycle).toBe(false);
    expect(load([...SINGLE, '--web.enable-lifecycle=false'], TOKEN_ENV).web.enableLifecycle).toBe(false);
  });

  it.each([
    ['/metrics', '/metrics'],
    ['/probe/wolkvox', '/probe/wolkvox'],
  ])('serves metrics on --web.telemetry-path=%s', (path, expected) => {
    expect(load([...SINGLE, `--web.telemetry-path=${path}`], TOKEN_ENV).web.telemetryPath).toBe(expected);
  });

  it.each([
    [':9867', { port: 9867 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
    ['[::]:9867', { host: '::', port: 9867 }],
  ])('listens on %s', (address, expected) => {
    expect(load([...SINGLE, `--web.listen-address=${address}`], TOKEN_ENV).web.listenAddress).toEqual(expected);
  });

  it('uses --wolkvox.base-url, without its trailing slashes, over https://wv<server>.wolkvox.com', () => {
    const account = only(load([...SINGLE, '--wolkvox.base-url=http://127.0.0.1:8080//'], TOKEN_ENV));
    expect(account.baseUrl).toBe('http://127.0.0.1:8080');
    expect(account.server).toBe('0032');
    expect(account.name).toBe('0032');
  });

  it('needs no server when --wolkvox.base-url is given, and then names the account "default"', () => {
    const account = only(load(['--wolkvox.base-url=https://proxy.example/wolkvox/'], TOKEN_ENV));
    expect(account.baseUrl).toBe('https://proxy.example/wolkvox');
    expect(account.name).toBe('default');
    expect(account).not.toHaveProperty('server');
  });

  it('accepts a server id with surrounding spaces', () => {
    expect(only(load(['--wolkvox.server= 0032 '], TOKEN_ENV)).server).toBe('0032');
  });
});

describe('loadConfig: --demo, --help, --version', () => {
  it('--demo needs no server or token and labels the account demo', () => {
    const config = load(['--demo']);
    expect(config.demo).toBe(true);
    expect(plain(only(config))).toEqual({
      name: DEMO_ACCOUNT,
      baseUrl: 'http://127.0.0.1:0',
      token: DEMO_TOKEN,
      timeZone: 'America/Bogota',
      windows: [ONE_HOUR, TODAY, { kind: 'week', label: 'week' }, { kind: 'month', label: 'month' }],
      // The simulator has no quota: the demo polls every 15 s, and settles counter chunks of a
      // minute, so its numbers and the dashboard's history move while someone watches.
      intervalMs: 15_000,
      maxStalenessMs: 45_000,
      timeoutMs: 60_000,
      maxConcurrency: 1,
      counterStepMs: MIN,
      counterDelayMs: 10_000,
    });
    expect(DEMO_ACCOUNT).toBe('demo');
  });

  it('--demo keeps the collector, log and web settings', () => {
    const config = load(['--demo', '--collector.interval=10s', '--collector.windows=5m', '--log.format=logfmt'], {
      WOLKVOX_LISTEN_ADDRESS: '127.0.0.1:0',
    });
    expect(only(config)).toMatchObject({ intervalMs: 10_000, maxStalenessMs: 30_000, windows: [{ kind: 'duration', label: '5m', durationMs: 5 * MIN }] });
    expect(config.log.format).toBe('logfmt');
    expect(config.web.listenAddress).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('--no-demo is the default: a server is needed again', () => {
    expect(rejection(['--no-demo']).key).toBe('--wolkvox.server');
  });

  it.each([
    [['--help'], { kind: 'help', command: 'exporter' }],
    [['-h'], { kind: 'help', command: 'exporter' }],
    [['--version'], { kind: 'version' }],
    [['--demo', '--help'], { kind: 'help', command: 'exporter' }],
    // Help wins over problems later on the line, as it does for Go's kingpin.
    [['--help', '--collector.interval=nonsense'], { kind: 'help', command: 'exporter' }],
    [['--config.file=/x.yml', '--help'], { kind: 'help', command: 'exporter' }],
  ])('%j gives %j before any value is checked or file read', (argv, result) => {
    expect(parseCommandLine(argv, {})).toEqual(result);
  });
});

describe('loadConfig: rejected flags and env vars', () => {
  const notWindow = (text: string) => `"${text}" is not a window: use a duration such as 1h or 7d, or one of today, yesterday, week, month, last_week, last_month`;
  const missing = join(SECRETS, 'does-not-exist');
  const empty = join(SECRETS, 'empty');
  const twoLines = join(SECRETS, 'two-lines');
  const colombia = join(SECRETS, 'colombia');

  it.each<[string, string[], NodeJS.ProcessEnv, string, string]>([
    // argv as such
    ['an unknown flag', ['--bogus=1'], {}, '--bogus', '--bogus: unknown flag (see --help)'],
    ['a token on argv', ['--wolkvox.token=SECRET'], {}, '--wolkvox.token', '--wolkvox.token: unknown flag; the token is read from WOLKVOX_TOKEN or --wolkvox.token-file, never from argv (see --help)'],
    ['a repeated flag', [...SINGLE, '--wolkvox.server=0107'], TOKEN_ENV, '--wolkvox.server', '--wolkvox.server: flag given more than once'],
    ['a missing value', [...SINGLE, '--collector.interval'], TOKEN_ENV, '--collector.interval', '--collector.interval: needs a value'],
    ['a positional argument', [...SINGLE, 'extra'], TOKEN_ENV, 'argv', 'argv: unexpected argument at position 2: flags look like --name=value (see --help)'],
    ['a bad boolean', ['--demo=on'], {}, '--demo', '--demo: "on" is not true or false'],
    // durations
    ['a bad interval', [...SINGLE, '--collector.interval=5x'], TOKEN_ENV, '--collector.interval', '--collector.interval: "5x" is not a duration such as 30s, 5m or 1h'],
    ['a bad interval from env', SINGLE, { ...TOKEN_ENV, WOLKVOX_INTERVAL: '5 min' }, 'WOLKVOX_INTERVAL', 'WOLKVOX_INTERVAL: "5 min" is not a duration such as 30s, 5m or 1h'],
    ['an interval below 1s', [...SINGLE, '--collector.interval=500ms'], TOKEN_ENV, '--collector.interval', '--collector.interval: must be at least 1s'],
    ['an interval of 0', [...SINGLE, '--collector.interval=0'], TOKEN_ENV, '--collector.interval', '--collector.interval: must be at least 1s'],
    ['a bad timeout', [...SINGLE, '--wolkvox.timeout=-1s'], TOKEN_ENV, '--wolkvox.timeout', '--wolkvox.timeout: "-1s" is not a duration such as 30s, 5m or 1h'],
    ['a bad max-staleness', [...SINGLE, '--collector.max-staleness=1.5m'], TOKEN_ENV, '--collector.max-staleness', '--collector.max-staleness: "1.5m" is not a duration such as 30s, 5m or 1h'],
    // zone
    ['an unknown zone', [...SINGLE, '--wolkvox.timezone=America/Bogata'], TOKEN_ENV, '--wolkvox.timezone', '--wolkvox.timezone: unknown time zone "America/Bogata": use an IANA name such as America/Bogota'],
    ['an unknown zone from env', SINGLE, { ...TOKEN_ENV, WOLKVOX_TIMEZONE: 'GMT-5:00' }, 'WOLKVOX_TIMEZONE', 'WOLKVOX_TIMEZONE: unknown time zone "GMT-5:00": use an IANA name such as America/Bogota'],
    // windows
    ['a bad window', [...SINGLE, '--collector.windows=1h,fortnight'], TOKEN_ENV, '--collector.windows[1]', `--collector.windows[1]: ${notWindow('fortnight')}`],
    ['a window over 31d', [...SINGLE, '--collector.windows=today,32d'], TOKEN_ENV, '--collector.windows[1]', '--collector.windows[1]: window "32d" is longer than 31d, the most one Wolkvox query may span'],
    ['a window under 1m', [...SINGLE, '--collector.windows=30s'], TOKEN_ENV, '--collector.windows[0]', '--collector.windows[0]: window "30s" is shorter than 1m'],
    ['a duplicate window', [...SINGLE, '--collector.windows=1h,today,1h'], TOKEN_ENV, '--collector.windows[2]', '--collector.windows[2]: window "1h" is listed twice'],
    ['a duplicate window from env', SINGLE, { ...TOKEN_ENV, WOLKVOX_WINDOWS: 'yesterday, yesterday' }, 'WOLKVOX_WINDOWS[1]', 'WOLKVOX_WINDOWS[1]: window "yesterday" is listed twice'],
    ['no window at all', [...SINGLE, '--collector.windows=,'], TOKEN_ENV, '--collector.windows', '--collector.windows: needs at least one window'],
    // numbers
    ['max-concurrency 3', [...SINGLE, '--wolkvox.max-concurrency=3'], TOKEN_ENV, '--wolkvox.max-concurrency', '--wolkvox.max-concurrency: must be 1 or 2: Wolkvox rejects a third simultaneous request'],
    ['max-concurrency 0 from env', SINGLE, { ...TOKEN_ENV, WOLKVOX_MAX_CONCURRENCY: '0' }, 'WOLKVOX_MAX_CONCURRENCY', 'WOLKVOX_MAX_CONCURRENCY: must be 1 or 2: Wolkvox rejects a third simultaneous request'],
    ['max-concurrency not a number', [...SINGLE, '--wolkvox.max-concurrency=two'], TOKEN_ENV, '--wolkvox.max-concurrency', '--wolkvox.max-concurrency: must be 1 or 2'],
    ['a fractional daily quota', [...SINGLE, '--wolkvox.daily-quota=1.5'], TOKEN_ENV, '--wolkvox.daily-quota', '--wolkvox.daily-quota: must be a whole number of calls per day'],
    ['a zero daily quota', [...SINGLE, '--wolkvox.daily-quota=0'], TOKEN_ENV, '--wolkvox.daily-quota', '--wolkvox.daily-quota: must be a positive number of calls per day'],
    ['max-in-flight 0', [...SINGLE, '--wolkvox.max-in-flight=0'], TOKEN_ENV, '--wolkvox.max-in-flight', `--wolkvox.max-in-flight: ${MAX_IN_FLIGHT_MESSAGE}`],
    ['a negative max-in-flight from env', SINGLE, { ...TOKEN_ENV, WOLKVOX_MAX_IN_FLIGHT: '-4' }, 'WOLKVOX_MAX_IN_FLIGHT', `WOLKVOX_MAX_IN_FLIGHT: ${MAX_IN_FLIGHT_MESSAGE}`],
    ['a fractional max-in-flight', [...SINGLE, '--wolkvox.max-in-flight=1.5'], TOKEN_ENV, '--wolkvox.max-in-flight', `--wolkvox.max-in-flight: ${MAX_IN_FLIGHT_MESSAGE}`],
    ['a max-in-flight that is no number', [...SINGLE, '--wolkvox.max-in-flight=eight'], TOKEN_ENV, '--wolkvox.max-in-flight', `--wolkvox.max-in-flight: ${MAX_IN_FLIGHT_MESSAGE}`],
    ['a max-in-flight in hex', [...SINGLE, '--wolkvox.max-in-flight=0x10'], TOKEN_ENV, '--wolkvox.max-in-flight', `--wolkvox.max-in-flight: ${MAX_IN_FLIGHT_MESSAGE}`],
    // web and log
    ['a listen address without a colon', [...SINGLE, '--web.listen-address=9867'], TOKEN_ENV, '--web.listen-address', '--web.listen-address: "9867" is not a host:port address such as :9867 or 127.0.0.1:9867'],
    ['a listen port past 65535', SINGLE, { ...TOKEN_ENV, WOLKVOX_LISTEN_ADDRESS: ':65536' }, 'WOLKVOX_LISTEN_ADDRESS', 'WOLKVOX_LISTEN_ADDRESS: ":65536" is not a host:port address such as :9867 or 127.0.0.1:9867'],
    ['an IPv6 listen address without brackets', [...SINGLE, '--web.listen-address=::1:9867'], TOKEN_ENV, '--web.listen-address', '--web.listen-address: "::1:9867" is not a host:port address such as :9867 or 127.0.0.1:9867'],
    ['a telemetry path without /', [...SINGLE, '--web.telemetry-path=metrics'], TOKEN_ENV, '--web.telemetry-path', '--web.telemetry-path: must be a URL path starting with /'],
    ['a telemetry path taken by /healthz', [...SINGLE, '--web.telemetry-path=/healthz'], TOKEN_ENV, '--web.telemetry-path', '--web.telemetry-path: must not be one of the paths the exporter already serves'],
    ['a telemetry path taken by the status JSON', [...SINGLE, '--web.telemetry-path=/api/v1/status'], TOKEN_ENV, '--web.telemetry-path', '--web.telemetry-path: must not be one of the paths the exporter already serves'],
    ['a telemetry path among the status page files', [...SINGLE, '--web.telemetry-path=/static/metrics'], TOKEN_ENV, '--web.telemetry-path', '--web.telemetry-path: must not be one of the paths the exporter already serves'],
    ['a telemetry path that a browser reads as a host', [...SINGLE, '--web.telemetry-path=//evil.example/metrics'], TOKEN_ENV, '--web.telemetry-path', '--web.telemetry-path: must start with a single /, or a link to it would name a host'],
    ['an unknown log level', [...SINGLE, '--log.level=trace'], TOKEN_ENV, '--log.level', '--log.level: must be one of debug, info, warn, error'],
    ['an unknown log level from env', SINGLE, { ...TOKEN_ENV, LOG_LEVEL: 'INFO' }, 'LOG_LEVEL', 'LOG_LEVEL: must be one of debug, info, warn, error'],
    ['an unknown log format', [...SINGLE, '--log.format=text'], TOKEN_ENV, '--log.format', '--log.format: must be json or logfmt'],
    ['an unknown log format from env', SINGLE, { ...TOKEN_ENV, LOG_FORMAT: 'JSON' }, 'LOG_FORMAT', 'LOG_FORMAT: must be json or logfmt'],
    // single account
    ['no server', [], TOKEN_ENV, '--wolkvox.server', '--wolkvox.server: is required (or --wolkvox.base-url, --config.file, or --demo to try the simulator)'],
    ['a 2-digit server', ['--wolkvox.server=32'], TOKEN_ENV, '--wolkvox.server', '--wolkvox.server: "32" is not a 4-digit Wolkvox server id such as "0032"'],
    ['a server from env that is a host name', [], { ...TOKEN_ENV, WOLKVOX_SERVER: 'wv0032.wolkvox.com' }, 'WOLKVOX_SERVER', 'WOLKVOX_SERVER: "wv0032.wolkvox.com" is not a 4-digit Wolkvox server id such as "0032"'],
    ['a base URL that is not http(s)', [...SINGLE, '--wolkvox.base-url=ftp://wv0032.wolkvox.com'], TOKEN_ENV, '--wolkvox.base-url', '--wolkvox.base-url: "ftp://wv0032.wolkvox.com" is not an http(s) origin such as https://wv0032.wolkvox.com'],
    ['a base URL with credentials', [...SINGLE, '--wolkvox.base-url=https://user:pw@proxy.example'], TOKEN_ENV, '--wolkvox.base-url', '--wolkvox.base-url: "https://user:pw@proxy.example" is not an http(s) origin such as https://wv0032.wolkvox.com'],
    ['an empty account label', [...SINGLE, '--wolkvox.account='], TOKEN_ENV, '--wolkvox.account', '--wolkvox.account: is empty: an empty value does not turn anything off; leave the flag out instead'],
    // spec: History: chunks of 1m..1d (a chunk never crosses midnight), 0 turns counters off
    ['a counter step under a minute', [...SINGLE, '--collector.counter.step=30s'], TOKEN_ENV, '--collector.counter.step', '--collector.counter.step: must be 0 (counters off) or between 1m and 1d'],
    ['a counter step over a day', [...SINGLE, '--collector.counter.step=2d'], TOKEN_ENV, '--collector.counter.step', '--collector.counter.step: must be 0 (counters off) or between 1m and 1d'],
    ['a counter step that is no duration', SINGLE, { ...TOKEN_ENV, WOLKVOX_COUNTER_STEP: 'hourly' }, 'WOLKVOX_COUNTER_STEP', 'WOLKVOX_COUNTER_STEP: "hourly" is not a duration such as 30s, 5m or 1h'],
    ['a counter delay over a day', SINGLE, { ...TOKEN_ENV, WOLKVOX_COUNTER_DELAY: '25h' }, 'WOLKVOX_COUNTER_DELAY', 'WOLKVOX_COUNTER_DELAY: must be at most 1d'],
    // spec: an empty file flag is an error, never "off"
    ['an empty --web.config.file', [...SINGLE, '--web.config.file='], TOKEN_ENV, '--web.config.file', '--web.config.file: is empty: an empty value does not turn anything off; leave the flag out instead'],
    ['an empty --config.file', ['--config.file='], TOKEN_ENV, '--config.file', '--config.file: is empty: an empty value does not turn anything off; leave the flag out instead'],
    ['an empty --wolkvox.token-file', [...SINGLE, '--wolkvox.token-file', ''], {}, '--wolkvox.token-file', '--wolkvox.token-file: is empty: an empty value does not turn anything off; leave the flag out instead'],
    // max staleness under the interval would make values vanish between good polls
    ['a max staleness below the interval', [...SINGLE, '--collector.interval=5m', '--collector.max-staleness=1m'], TOKEN_ENV, '--collector.max-staleness', '--collector.max-staleness: 1m is shorter than the interval 5m of account 0032: values would vanish between good polls; use at least the interval (the default is 3 x interval)'],
    ['a max staleness below the default interval, from env', SINGLE, { ...TOKEN_ENV, WOLKVOX_MAX_STALENESS: '4m' }, 'WOLKVOX_MAX_STALENESS', 'WOLKVOX_MAX_STALENESS: 4m is shorter than the interval 5m of account 0032: values would vanish between good polls; use at least the interval (the default is 3 x interval)'],
    ['no token', SINGLE, {}, '--wolkvox.token-file', '--wolkvox.token-file: no token: set WOLKVOX_TOKEN or --wolkvox.token-file'],
    ['both token sources', [...SINGLE, `--wolkvox.token-file=${colombia}`], TOKEN_ENV, '--wolkvox.token-file', '--wolkvox.token-file: set either --wolkvox.token-file or WOLKVOX_TOKEN, not both'],
    ['both token sources from env', SINGLE, { ...TOKEN_ENV, WOLKVOX_TOKEN_FILE: colombia }, 'WOLKVOX_TOKEN_FILE', 'WOLKVOX_TOKEN_FILE: set either WOLKVOX_TOKEN_FILE or WOLKVOX_TOKEN, not both'],
    ['an empty token file', [...SINGLE, `--wolkvox.token-file=${empty}`], {}, '--wolkvox.token-file', `--wolkvox.token-file: the token in ${empty} is empty`],
    ['a token file with two lines', [...SINGLE, `--wolkvox.token-file=${twoLines}`], {}, '--wolkvox.token-file', `--wolkvox.token-file: the token in ${twoLines} contains control characters or line breaks, which an HTTP header cannot carry`],
    ['a missing token file', [...SINGLE, `--wolkvox.token-file=${missing}`], {}, '--wolkvox.token-file', `--wolkvox.token-file: cannot read token file ${missing}: ENOENT`],
    ['a token file that is a directory', [...SINGLE, `--wolkvox.token-file=${SECRETS}`], {}, '--wolkvox.token-file', `--wolkvox.token-file: cannot read token file ${SECRETS}: EISDIR`],
    ['a token with a newline inside', SINGLE, { WOLKVOX_TOKEN: 'tok-a\ntok-b' }, 'WOLKVOX_TOKEN', 'WOLKVOX_TOKEN: the token contains control characters or line breaks, which an HTTP header cannot carry'],
    ['a token with a tab inside', SINGLE, { WOLKVOX_TOKEN: 'tok\t1' }, 'WOLKVOX_TOKEN', 'WOLKVOX_TOKEN: the token contains control characters or line breaks, which an HTTP header cannot carry'],
    ['a token with a trailing newline in env', SINGLE, { WOLKVOX_TOKEN: 'tok-a\n' }, 'WOLKVOX_TOKEN', 'WOLKVOX_TOKEN: the token contains control characters or line breaks, which an HTTP header cannot carry'],
    // config file against flags
    ['--demo with --config.file', ['--demo', `--config.file=${fixture('good.yml')}`], {}, '--config.file', '--config.file: cannot be combined with --demo, which polls its built-in simulator'],
    ['--demo with WOLKVOX_CONFIG_FILE', ['--demo'], { WOLKVOX_CONFIG_FILE: fixture('good.yml') }, 'WOLKVOX_CONFIG_FILE', 'WOLKVOX_CONFIG_FILE: cannot be combined with --demo, which polls its built-in simulator'],
    // --demo polls its simulator: account settings would do nothing, so they are refused (issue 8, defect 8)
    ['--demo with --wolkvox.server', ['--demo', ...SINGLE], {}, '--wolkvox.server', '--wolkvox.server: cannot be combined with --demo, which polls its built-in simulator'],
    ['--demo with --wolkvox.token-file', ['--demo', `--wolkvox.token-file=${colombia}`], {}, '--wolkvox.token-file', '--wolkvox.token-file: cannot be combined with --demo, which polls its built-in simulator'],
    ['--demo with --wolkvox.account', ['--demo', '--wolkvox.account=mine'], {}, '--wolkvox.account', '--wolkvox.account: cannot be combined with --demo, which polls its built-in simulator'],
    ['--demo with --wolkvox.base-url', ['--demo', '--wolkvox.base-url=https://proxy.example'], {}, '--wolkvox.base-url', '--wolkvox.base-url: cannot be combined with --demo, which polls its built-in simulator'],
    ['--demo with WOLKVOX_SERVER', ['--demo'], { WOLKVOX_SERVER: '0032' }, 'WOLKVOX_SERVER', 'WOLKVOX_SERVER: cannot be combined with --demo, which polls its built-in simulator'],
    ['--demo with WOLKVOX_TOKEN', ['--demo'], TOKEN_ENV, 'WOLKVOX_TOKEN', 'WOLKVOX_TOKEN: cannot be combined with --demo, which polls its built-in simulator'],
    // the file names each token's variable: a WOLKVOX_TOKEN nobody reads is an error, not a silent no-op
    ['WOLKVOX_TOKEN with a config file that does not use it', [`--config.file=${fixture('good.yml')}`], { ...TOKEN_ENV, WOLKVOX_TOKEN_MX: 'tok-mx' }, 'WOLKVOX_TOKEN', `WOLKVOX_TOKEN: is not used with a config file: give an account token_env: WOLKVOX_TOKEN, or unset it (in ${fixture('good.yml')})`],
    ['--wolkvox.server with a config file', [`--config.file=${fixture('good.yml')}`, ...SINGLE], {}, '--wolkvox.server', '--wolkvox.server: cannot be combined with a config file: set it per account in the file'],
    ['WOLKVOX_TOKEN_FILE with a config file', [`--config.file=${fixture('good.yml')}`], { WOLKVOX_TOKEN_FILE: colombia }, 'WOLKVOX_TOKEN_FILE', 'WOLKVOX_TOKEN_FILE: cannot be combined with a config file: set it per account in the file'],
    ['--wolkvox.account with a config file', [`--config.file=${fixture('good.yml')}`, '--wolkvox.account=x'], {}, '--wolkvox.account', '--wolkvox.account: cannot be combined with a config file: set it per account in the file'],
  ])('rejects %s', (_name, argv, env, key, message) => {
    const error = rejection(argv, env);
    expect(error.message).toBe(message);
    expect(error.key).toBe(key);
    expect(error.name).toBe('ConfigError');
  });

  it('never puts the token into the error about it', () => {
    for (const env of [{ WOLKVOX_TOKEN: `${SENTINEL}\nx` }, { WOLKVOX_TOKEN: `${SENTINEL}\u0000` }]) {
      const error = rejection(SINGLE, env);
      for (const text of [error.message, error.stack ?? '', JSON.stringify(error), inspect(error)]) {
        expect(text).not.toContain('SENTINEL');
      }
    }
  });

  it('never echoes a token typed as a flag', () => {
    const error = rejection([`--wolkvox.token=${SENTINEL}`]);
    for (const text of [error.message, error.key, error.stack ?? '', JSON.stringify(error), inspect(error)]) {
      expect(text).not.toContain('SENTINEL');
    }
  });

  it('checks the flags before it reads any file', () => {
    const reads: string[] = [];
    const readFile: ReadFile = (path) => {
      reads.push(path);
      return 'tok';
    };
    rejection([...SINGLE, `--wolkvox.token-file=/t`, '--log.level=loud'], {}, readFile);
    expect(reads).toEqual([]);
  });
});

describe('loadConfig: config file', () => {
  it('accepts WOLKVOX_TOKEN with a config file when an account names it in token_env', () => {
    const files: Record<string, string> = {
      '/c.yml': 'accounts:\n  - name: co\n    server: "0032"\n    token_env: WOLKVOX_TOKEN\n',
    };
    const config = load(['--config.file=/c.yml'], TOKEN_ENV, (path) => files[path] ?? '');
    expect(only(config).token.reveal()).toBe(SENTINEL);
  });

  it('turns counters off with a counter step of 0, and reads counter_step and counter_delay per account', () => {
    expect(only(load([...SINGLE, '--collector.counter.step=0', '--collector.counter.delay=0s'], TOKEN_ENV))).toMatchObject({ counterStepMs: 0, counterDelayMs: 0 });
    const files: Record<string, string> = {
      '/c.yml': 'counter_step: 1d\naccounts:\n  - name: co\n    server: "0032"\n    token_env: T\n    counter_delay: 1h\n  - name: mx\n    server: "0107"\n    token_env: T\n    counter_step: 15m\n',
    };
    const config = load(['--config.file=/c.yml'], { T: 'tok' }, (path) => files[path] ?? '');
    expect(config.accounts.map((a) => [a.name, a.counterStepMs, a.counterDelayMs])).toEqual([
      ['co', 24 * 60 * MIN, 60 * MIN],
      ['mx', 15 * MIN, 15 * MIN],
    ]);
  });

  describe('max_in_flight', () => {
    const file = (text: string): ReadFile => (path) => (path === '/c.yml' ? text : '');
    const ACCOUNTS = 'accounts:\n  - name: co\n    server: "0032"\n    token_env: T\n';

    it('is read at the top level of the file, and wins over the flag and env var', () => {
      expect(load(['--config.file=/c.yml', '--wolkvox.max-in-flight=32'], { T: 'tok' }, file(`max_in_flight: 8\n${ACCOUNTS}`)).maxInFlightPerOrigin).toBe(8);
      expect(load(['--config.file=/c.yml'], { T: 'tok', WOLKVOX_MAX_IN_FLIGHT: '12' }, file(`max_in_flight: "24"\n${ACCOUNTS}`)).maxInFlightPerOrigin).toBe(24);
      // Without the key: the flag, else the env var, else the default.
      expect(load(['--config.file=/c.yml', '--wolkvox.max-in-flight=32'], { T: 'tok' }, file(ACCOUNTS)).maxInFlightPerOrigin).toBe(32);
      expect(load(['--config.file=/c.yml'], { T: 'tok', WOLKVOX_MAX_IN_FLIGHT: '12' }, file(ACCOUNTS)).maxInFlightPerOrigin).toBe(12);
      expect(load(['--config.file=/c.yml'], { T: 'tok' }, file(ACCOUNTS)).maxInFlightPerOrigin).toBe(16);
    });

    it('is taken by --demo, which talks to one origin too', () => {
      expect(load(['--demo', '--wolkvox.max-in-flight=2']).maxInFlightPerOrigin).toBe(2);
    });

    it.each([
      ['0', 'max_in_flight'],
      ['-1', 'max_in_flight'],
      ['2.5', 'max_in_flight'],
      ['true', 'max_in_flight'],
      ['"many"', 'max_in_flight'],
      ['', 'max_in_flight'],
    ])('refuses max_in_flight: %s', (value, key) => {
      const error = rejection(['--config.file=/c.yml'], { T: 'tok' }, file(`max_in_flight: ${value}\n${ACCOUNTS}`));
      expect(error.key).toBe(key);
      expect(error.message).toBe(`max_in_flight: ${MAX_IN_FLIGHT_MESSAGE} (in /c.yml)`);
    });

    it('is refused per account, with where to set it instead', () => {
      const error = rejection(['--config.file=/c.yml'], { T: 'tok' }, file(`${ACCOUNTS}    max_in_flight: 4\n`));
      expect(error.key).toBe('accounts[0].max_in_flight');
      expect(error.message).toBe(
        'accounts[0].max_in_flight: is not an account setting: it caps the calls this process has in flight to one origin, over all accounts; set max_in_flight at the top level of the file or --wolkvox.max-in-flight (max_concurrency is the per-token limit) (in /c.yml)',
      );
    });
  });

  it('accepts a max staleness equal to the interval', () => {
    expect(only(load([...SINGLE, '--collector.interval=2m', '--collector.max-staleness=2m'], TOKEN_ENV)).maxStalenessMs).toBe(2 * MIN);
  });

  const env = { WOLKVOX_TOKEN_MX: 'tok-mx-2' };

  it('reads good.yml: three accounts, file-level settings, per-account overrides', () => {
    const path = fixture('good.yml');
    const config = load([`--config.file=${path}`], env);
    expect(config.configFile).toBe(path);
    expect(config.demo).toBe(false);
    const windows = [ONE_HOUR, { kind: 'duration', label: '24h', durationMs: 86_400_000 }, TODAY];
    expect(config.accounts.map(plain)).toEqual([
      {
        name: 'colombia',
        server: '0032',
        baseUrl: 'https://wv0032.wolkvox.com',
        token: 'tok-colombia-1',
        timeZone: 'America/Bogota',
        windows,
        intervalMs: 5 * MIN,
        maxStalenessMs: 15 * MIN,
        timeoutMs: 60_000,
        maxConcurrency: 1,
        counterStepMs: 60 * MIN,
        counterDelayMs: 5 * MIN,
      },
      {
        name: 'mexico',
        server: '0107',
        baseUrl: 'https://proxy.example:8443',
        token: 'tok-mx-2',
        timeZone: 'America/Mexico_City',
        windows: [TODAY],
        intervalMs: 5 * MIN,
        maxStalenessMs: 15 * MIN,
        timeoutMs: 60_000,
        maxConcurrency: 1,
        counterStepMs: 0,
        counterDelayMs: 5 * MIN,
      },
      {
        name: 'chile',
        server: '0045',
        baseUrl: 'https://wv0045.wolkvox.com',
        token: 'tok-chile-3',
        timeZone: 'America/Santiago',
        windows,
        intervalMs: 10 * MIN,
        maxStalenessMs: 60 * MIN,
        timeoutMs: 30_000,
        maxConcurrency: 2,
        dailyQuota: 3000,
        counterStepMs: 30 * MIN,
        counterDelayMs: 5 * MIN,
      },
    ]);
  });

  it('resolves token_file relative to the config file, not the working directory', () => {
    const reads: string[] = [];
    const readFile: ReadFile = (path) => {
      reads.push(path);
      return readFixture(path);
    };
    load([`--config.file=${fixture('good.yml')}`], env, readFile);
    expect(reads).toEqual([fixture('good.yml'), join(SECRETS, 'colombia'), join(SECRETS, 'chile')]);
  });

  it('reads server: 32 and server: 0107 (YAML integers) as "0032" and "0107"', () => {
    const config = load([`--config.file=${fixture('server-as-int.yml')}`], { WOLKVOX_TOKEN_CO: 'tok-co', WOLKVOX_TOKEN_MX: 'tok-mx' });
    expect(config.accounts.map((a) => [a.name, a.server, a.baseUrl, a.token.reveal()])).toEqual([
      ['colombia', '0032', 'https://wv0032.wolkvox.com', 'tok-co'],
      ['mexico', '0107', 'https://wv0107.wolkvox.com', 'tok-mx'],
    ]);
  });

  it('takes base_url from the account, then --wolkvox.base-url, then https://wv<server>.wolkvox.com', () => {
    const withFlag = load([`--config.file=${fixture('good.yml')}`, '--wolkvox.base-url=https://flag.example/'], env);
    expect(withFlag.accounts.map((a) => [a.name, a.baseUrl])).toEqual([
      ['colombia', 'https://flag.example'],
      ['mexico', 'https://proxy.example:8443'],
      ['chile', 'https://flag.example'],
    ]);
    const withEnv = load([`--config.file=${fixture('good.yml')}`], { ...env, WOLKVOX_BASE_URL: 'http://env.example' });
    expect(withEnv.accounts.map((a) => a.baseUrl)).toEqual(['http://env.example', 'https://proxy.example:8443', 'http://env.example']);
    const withoutFlag = load([`--config.file=${fixture('good.yml')}`], env);
    expect(withoutFlag.accounts.map((a) => a.baseUrl)).toEqual([
      'https://wv0032.wolkvox.com',
      'https://proxy.example:8443',
      'https://wv0045.wolkvox.com',
    ]);
  });

  it('needs no server in an account when a base URL is known', () => {
    const config = load([`--config.file=${fixture('base-url-only.yml')}`, '--wolkvox.base-url=https://flag.example']);
    expect(config.accounts.map((a) => [a.name, a.server, a.baseUrl])).toEqual([
      ['proxied', undefined, 'http://127.0.0.1:8080'],
      ['inherits', undefined, 'https://flag.example'],
    ]);
  });

  it('lets flags fill what the file leaves unset; the file wins where it sets a value', () => {
    const config = load(
      [
        `--config.file=${fixture('good.yml')}`,
        '--wolkvox.timeout=20s',
        '--wolkvox.timezone=Europe/Madrid',
        '--collector.interval=1m',
        '--collector.windows=yesterday',
        '--wolkvox.daily-quota=2000',
        '--wolkvox.max-concurrency=2',
      ],
      env,
    );
    expect(config.accounts.map((a) => [a.name, a.timeoutMs, a.timeZone, a.intervalMs, a.windows.length, a.dailyQuota, a.maxConcurrency])).toEqual([
      ['colombia', 20_000, 'America/Bogota', 5 * MIN, 3, 2000, 2],
      ['mexico', 20_000, 'America/Mexico_City', 5 * MIN, 1, 2000, 2],
      ['chile', 30_000, 'America/Santiago', 10 * MIN, 3, 3000, 2],
    ]);
  });

  it('keeps web and log settings from flags alongside a file', () => {
    const config = load([`--config.file=${fixture('good.yml')}`, '--log.level=debug', '--web.listen-address=127.0.0.1:0'], env);
    expect(config.log).toEqual({ level: 'debug', format: 'json' });
    expect(config.web.listenAddress).toEqual({ host: '127.0.0.1', port: 0 });
  });

  const inFile = (name: string) => ` (in ${fixture(name)})`;
  const notWindow = (text: string) => `"${text}" is not a window: use a duration such as 1h or 7d, or one of today, yesterday, week, month, last_week, last_month`;

  it.each<[string, string, string]>([
    ['unknown-top-level-key.yml', 'scrape_interval', `scrape_interval: unknown key${inFile('unknown-top-level-key.yml')}`],
    ['unknown-account-key.yml', 'accounts[1].token', `accounts[1].token: unknown key${inFile('unknown-account-key.yml')}`],
    ['duplicate-account-name.yml', 'accounts[1].name', `accounts[1].name: duplicate account name "colombia"${inFile('duplicate-account-name.yml')}`],
    ['no-token-source.yml', 'accounts[0].token_file', `accounts[0].token_file: set exactly one of token_file and token_env${inFile('no-token-source.yml')}`],
    ['both-token-sources.yml', 'accounts[0].token_file', `accounts[0].token_file: set exactly one of token_file and token_env${inFile('both-token-sources.yml')}`],
    ['token-env-unset.yml', 'accounts[0].token_env', `accounts[0].token_env: environment variable WOLKVOX_TOKEN_UNSET is not set${inFile('token-env-unset.yml')}`],
    ['bad-token-env-name.yml', 'accounts[0].token_env', `accounts[0].token_env: must be the name of an environment variable${inFile('bad-token-env-name.yml')}`],
    ['missing-token-file.yml', 'accounts[0].token_file', `accounts[0].token_file: cannot read token file ${join(SECRETS, 'does-not-exist')}: ENOENT (in ${fixture('missing-token-file.yml')})`],
    ['staleness-below-interval.yml', 'accounts[0].max_staleness', `accounts[0].max_staleness: 5m is shorter than the interval 10m of account colombia: values would vanish between good polls; use at least the interval (the default is 3 x interval) (in ${fixture('staleness-below-interval.yml')})`],
    ['top-staleness-below-interval.yml', 'max_staleness', `max_staleness: 5m is shorter than the interval 10m of account chile: values would vanish between good polls; use at least the interval (the default is 3 x interval) (in ${fixture('top-staleness-below-interval.yml')})`],
    ['empty-token-file.yml', 'accounts[0].token_file', `accounts[0].token_file: the token in ${join(SECRETS, 'empty')} is empty`],
    ['token-with-newline.yml', 'accounts[0].token_file', `accounts[0].token_file: the token in ${join(SECRETS, 'two-lines')} contains control characters or line breaks, which an HTTP header cannot carry`],
    ['invalid-yaml.yml', 'config.file', `config.file: ${fixture('invalid-yaml.yml')} is not valid YAML at line 6, column 1: Missing closing "quote`],
    ['duplicate-yaml-key.yml', 'config.file', `config.file: ${fixture('duplicate-yaml-key.yml')} is not valid YAML at line 2, column 1: Map keys must be unique`],
    ['unresolved-alias.yml', 'config.file', `config.file: ${fixture('unresolved-alias.yml')} is not valid YAML: Unresolved alias (the anchor must be set before the alias): colombia_token`],
    ['alias-bomb.yml', 'config.file', `config.file: ${fixture('alias-bomb.yml')} is not valid YAML: Excessive alias count indicates a resource exhaustion attack`],
    ['not-a-mapping.yml', 'config.file', `config.file: Invalid input: expected object, received array${inFile('not-a-mapping.yml')}`],
    ['empty.yml', 'accounts', `accounts: is required${inFile('empty.yml')}`],
    ['no-accounts.yml', 'accounts', `accounts: needs at least one account${inFile('no-accounts.yml')}`],
    ['missing-name.yml', 'accounts[0].name', `accounts[0].name: is required${inFile('missing-name.yml')}`],
    ['missing-server.yml', 'accounts[0].server', `accounts[0].server: is required (or base_url)${inFile('missing-server.yml')}`],
    ['base-url-only.yml', 'accounts[1].server', `accounts[1].server: is required (or base_url)${inFile('base-url-only.yml')}`],
    ['bad-server.yml', 'accounts[0].server', `accounts[0].server: "32a" is not a 4-digit Wolkvox server id such as "0032"${inFile('bad-server.yml')}`],
    ['bad-base-url.yml', 'accounts[0].base_url', `accounts[0].base_url: "wv0032.wolkvox.com" is not an http(s) origin such as https://wv0032.wolkvox.com${inFile('bad-base-url.yml')}`],
    ['bad-timezone.yml', 'accounts[1].timezone', `accounts[1].timezone: unknown time zone "America/Ciudad_de_Mexico": use an IANA name such as America/Bogota${inFile('bad-timezone.yml')}`],
    ['bad-interval.yml', 'interval', `interval: "5 minutes" is not a duration such as 30s, 5m or 1h${inFile('bad-interval.yml')}`],
    ['interval-as-number.yml', 'interval', `interval: Invalid input: expected string, received number${inFile('interval-as-number.yml')}`],
    ['bad-window.yml', 'windows[2]', `windows[2]: ${notWindow('last-week')}${inFile('bad-window.yml')}`],
    ['window-over-31d.yml', 'accounts[0].windows[1]', `accounts[0].windows[1]: window "32d" is longer than 31d, the most one Wolkvox query may span${inFile('window-over-31d.yml')}`],
    ['duplicate-window.yml', 'windows[2]', `windows[2]: window "today" is listed twice${inFile('duplicate-window.yml')}`],
    ['max-concurrency-3.yml', 'accounts[0].max_concurrency', `accounts[0].max_concurrency: must be 1 or 2: Wolkvox rejects a third simultaneous request${inFile('max-concurrency-3.yml')}`],
    ['bad-daily-quota.yml', 'accounts[0].daily_quota', `accounts[0].daily_quota: must be a whole number of calls per day${inFile('bad-daily-quota.yml')}`],
  ])('rejects %s', (name, key, message) => {
    const error = rejection([`--config.file=${fixture(name)}`], { WOLKVOX_TOKEN_CO: 'tok-co', WOLKVOX_TOKEN_MX: 'tok-mx' });
    expect(error.message).toBe(message);
    expect(error.key).toBe(key);
  });

  it('does not quote an unknown key\'s value, which may be a token', () => {
    const error = rejection([`--config.file=${fixture('unknown-account-key.yml')}`]);
    expect(error.message).not.toContain('SENTINEL');
  });

  it.each([
    ['a missing file', fixture('does-not-exist.yml'), 'ENOENT'],
    ['a directory', SECRETS, 'EISDIR'],
  ])('rejects %s as config file', (_name, path, code) => {
    const error = rejection([`--config.file=${path}`]);
    expect(error.key).toBe('config.file');
    expect(error.message).toBe(`config.file: cannot read ${path}: ${code}`);
  });

  it('names the error of a readFile that throws without a code "unreadable"', () => {
    const error = rejection(['--config.file=/c.yml'], {}, () => {
      throw new Error('boom');
    });
    expect(error.message).toBe('config.file: cannot read /c.yml: unreadable');
  });
});

describe('formatPath', () => {
  it.each<[PropertyKey[], string]>([
    [[], ''],
    [['accounts'], 'accounts'],
    [['accounts', 1, 'timezone'], 'accounts[1].timezone'],
    [['windows', 0], 'windows[0]'],
    [[0], '[0]'],
  ])('%j is %j', (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});

describe('loadConfig fuzz', () => {
  // Only ConfigError may escape, and its message names the key first (spec: exit 2 with one clear line).
  function expectOnlyConfigErrors(run: () => unknown): void {
    try {
      run();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      expect(error.key).not.toBe('');
      expect(error.message.startsWith(`${error.key}: `)).toBe(true);
      expect(error.message).not.toContain('\n');
      expect(error.message).not.toContain('SENTINEL');
    }
  }

  const goodText = readFileSync(fixture('good.yml'), 'utf8');
  const tokenFiles: ReadFile = (path) => {
    if (path === '/c.yml') throw new Error('replaced per run');
    if (path.endsWith('/secrets/colombia')) return `${SENTINEL}\n`;
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  };

  const scalar = fc.oneof(
    fc.string(),
    fc.constantFrom('5m', '1h', 'today', 'yesterday', '0032', 32, 3, 2, 1.5, -1, 'America/Bogota', 'Mars/Base', 'secrets/colombia', 'WOLKVOX_TOKEN_MX', 'https://x.example', ''),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
  );
  const keys = fc.constantFrom(
    'interval', 'windows', 'timezone', 'timeout', 'max_staleness', 'max_concurrency', 'max_in_flight', 'accounts', 'name', 'server',
    'base_url', 'token_file', 'token_env', 'daily_quota', 'token', 'x',
  );
  const { value: yamlValue } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 4 }),
    object: fc.dictionary(fc.oneof(keys, fc.string()), tie('value'), { maxKeys: 6 }),
  }));
  const account = fc.record(
    {
      name: fc.oneof(fc.constantFrom('colombia', 'mexico', ' x', ''), fc.string()),
      server: scalar,
      token_file: fc.constantFrom('secrets/colombia', 'secrets/none', ''),
      token_env: fc.constantFrom('WOLKVOX_TOKEN_MX', 'UNSET', 'bad-name'),
      windows: fc.array(scalar, { maxLength: 3 }),
      timezone: scalar,
      interval: scalar,
      max_concurrency: scalar,
      max_in_flight: scalar,
      daily_quota: scalar,
      base_url: scalar,
    },
    { requiredKeys: [] },
  );
  const document = fc.oneof(
    yamlValue.map((value) => stringify(value)),
    fc.record({ interval: scalar, windows: fc.array(scalar, { maxLength: 3 }), max_in_flight: scalar, accounts: fc.array(account, { maxLength: 3 }) }, { requiredKeys: ['accounts'] }).map(
      (value) => stringify(value),
    ),
    // The good file with one line changed or dropped.
    fc.tuple(fc.nat(), fc.string(), fc.boolean()).map(([index, text, drop]) => {
      const lines = goodText.split('\n');
      const at = index % lines.length;
      if (drop) lines.splice(at, 1);
      else lines[at] = `${lines[at] ?? ''}${text}`;
      return lines.join('\n');
    }),
    fc.string(),
    // YAML syntax soup: anchors, aliases, tags, merge keys, flow and block indicators.
    fc
      .array(
        fc.oneof(
          fc.constantFrom('*a', '&a ', '*b', '!!str ', '!!int ', '!!set ', '!!binary ', '<<: ', '? ', '- ', '{', '}', '[', ']', ', ', ': ', '\n', '\n  ', '"', "'", '|\n', '#', '---\n', '%YAML 1.1\n', 'accounts', 'name', '0032'),
          fc.string({ maxLength: 3 }),
        ),
        { maxLength: 16 },
      )
      .map((parts) => parts.join('')),
  );

  it('a random config file either loads or fails with a ConfigError naming a key', () => {
    fc.assert(
      fc.property(document, (text) => {
        const readFile: ReadFile = (path) => (path === '/c.yml' ? text : tokenFiles(path));
        expectOnlyConfigErrors(() => load(['--config.file=/c.yml'], { WOLKVOX_TOKEN_MX: 'tok-mx' }, readFile));
      }),
      { numRuns: 400 },
    );
  });

  it('random flag and env values either load or fail with a ConfigError naming a key', () => {
    const flagNames = FLAGS.map((flag) => flag.name);
    const envNames: string[] = [...FLAGS.flatMap((flag) => ('env' in flag ? [flag.env] : [])), 'WOLKVOX_TOKEN'];
    const value = fc.oneof(
      fc.string(),
      fc.constantFrom('', '0', '1', '2', '3', '5m', '1h,today', '0032', ':9867', 'true', 'false', 'json', '/metrics', 'America/Bogota', '/c.yml'),
    );
    const arg = fc.oneof(
      fc.tuple(fc.constantFrom(...flagNames), value).map(([name, v]) => `--${name}=${v}`),
      fc.constantFrom(...flagNames).map((name) => `--${name}`),
      fc.constantFrom(...flagNames).map((name) => `--no-${name}`),
      value,
    );
    fc.assert(
      fc.property(
        fc.array(arg, { maxLength: 6 }),
        fc.dictionary(fc.constantFrom(...envNames), value, { maxKeys: 5 }),
        fc.oneof(fc.constant(goodText), fc.string()),
        (argv, env, fileText) => {
          const readFile: ReadFile = (path) => (path === '/c.yml' ? fileText : tokenFiles(path));
          expectOnlyConfigErrors(() => loadArgv(argv, { ...env, WOLKVOX_TOKEN_MX: 'tok-mx' }, readFile));
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('sharding settings (spec: Scaling out)', () => {
  const file = (text: string): ReadFile => (path) => (path === '/c.yml' ? text : '');
  const ACCOUNTS = 'accounts:\n  - name: co\n    server: "0032"\n    token_env: T\n';
  const TOTAL_MESSAGE = 'must be a whole number of processes from 1 to 1000, such as 3';

  it('is one shard of one by default', () => {
    expect(load(SINGLE, TOKEN_ENV).shard).toEqual({ index: 0, total: 1 });
  });

  it('takes the flags or their env vars; the flag wins', () => {
    expect(load([...SINGLE, '--shard.total=3', '--shard.index=2'], TOKEN_ENV).shard).toEqual({ index: 2, total: 3 });
    expect(load(SINGLE, { ...TOKEN_ENV, WOLKVOX_SHARD_TOTAL: '4', WOLKVOX_SHARD_INDEX: '3' }).shard).toEqual({ index: 3, total: 4 });
    expect(load([...SINGLE, '--shard.total', '5', '--shard.index', '1'], { ...TOKEN_ENV, WOLKVOX_SHARD_TOTAL: '4', WOLKVOX_SHARD_INDEX: '3' }).shard).toEqual({
      index: 1,
      total: 5,
    });
  });

  it('takes the index from a StatefulSet pod name', () => {
    expect(load(SINGLE, { ...TOKEN_ENV, WOLKVOX_SHARD_TOTAL: '3', WOLKVOX_SHARD_INDEX: 'wolkvox-exporter-2' }).shard).toEqual({ index: 2, total: 3 });
    expect(load([...SINGLE, '--shard.total=12', '--shard.index=exp-11'], TOKEN_ENV).shard).toEqual({ index: 11, total: 12 });
  });

  it('reads shard_total at the top level of the file, over the flag, so a reload can reshard', () => {
    expect(load(['--config.file=/c.yml', '--shard.total=2', '--shard.index=2'], { T: 'tok' }, file(`shard_total: 3\n${ACCOUNTS}`)).shard).toEqual({
      index: 2,
      total: 3,
    });
    expect(load(['--config.file=/c.yml', '--shard.total=2'], { T: 'tok' }, file(ACCOUNTS)).shard).toEqual({ index: 0, total: 2 });
  });

  it.each([
    [['--shard.total=0'], {}, '--shard.total', `--shard.total: ${TOTAL_MESSAGE}`],
    [['--shard.total=1001'], {}, '--shard.total', `--shard.total: ${TOTAL_MESSAGE}`],
    [[], { WOLKVOX_SHARD_TOTAL: 'three' }, 'WOLKVOX_SHARD_TOTAL', `WOLKVOX_SHARD_TOTAL: ${TOTAL_MESSAGE}`],
    [['--shard.total=3', '--shard.index=3'], {}, '--shard.index', '--shard.index: is shard 3, but --shard.total is 3: shards are numbered 0 to 2'],
    [['--shard.index=1'], {}, '--shard.index', '--shard.index: is shard 1, but --shard.total is 1: shards are numbered 0 to 0'],
    [
      ['--shard.total=3'],
      { WOLKVOX_SHARD_INDEX: 'wolkvox-exporter' },
      'WOLKVOX_SHARD_INDEX',
      'WOLKVOX_SHARD_INDEX: "wolkvox-exporter" is neither a shard number such as 2 nor a StatefulSet pod name ending in its ordinal, such as wolkvox-exporter-2',
    ],
    [['--shard.total=3', '--shard.index=-1'], {}, '--shard.index', '--shard.index: "-1" is neither a shard number such as 2 nor a StatefulSet pod name ending in its ordinal, such as wolkvox-exporter-2'],
  ] as const)('refuses %j %j, naming %s', (argv, env, key, message) => {
    const error = rejection([...SINGLE, ...argv], { ...TOKEN_ENV, ...env });
    expect(error.key).toBe(key);
    expect(error.message).toBe(message);
  });

  it('names the file key when shard_total makes the index too large, and refuses it per account', () => {
    const tooSmall = rejection(['--config.file=/c.yml', '--shard.index=2'], { T: 'tok' }, file(`shard_total: 2\n${ACCOUNTS}`));
    expect(tooSmall.message).toBe('--shard.index: is shard 2, but shard_total (in /c.yml) is 2: shards are numbered 0 to 1');
    const bad = rejection(['--config.file=/c.yml'], { T: 'tok' }, file(`shard_total: 0\n${ACCOUNTS}`));
    expect(bad.message).toBe(`shard_total: ${TOTAL_MESSAGE} (in /c.yml)`);
    const perAccount = rejection(['--config.file=/c.yml'], { T: 'tok' }, file(`${ACCOUNTS}    shard_total: 2\n`));
    expect(perAccount.key).toBe('accounts[0].shard_total');
  });

  it('is refused with --demo, whose one account could only go to another shard', () => {
    expect(rejection(['--demo', '--shard.total=2']).message).toBe('--shard.total: cannot be combined with --demo, which polls its built-in simulator');
  });
});
