// Merges config file, flags, env and defaults into one validated Config, or throws ConfigError naming the key.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, formatPath } from './error.js';
import { settingOrDefault, TOKEN_ENV, type FlagName, type RawSettings, type RawValue } from './flags.js';
import { readNamedFile, type ReadFile } from './read-file.js';
import { Secret } from './secret.js';
import { formatDuration } from './duration.js';
import {
  baseUrlSchema,
  configFileSchema,
  counterDelaySchema,
  counterStepSchema,
  dailyQuotaSchema,
  listenAddressSchema,
  LOG_FORMATS,
  LOG_LEVELS,
  maxConcurrencySchema,
  maxInFlightSchema,
  positiveDurationSchema,
  serverSchema,
  shardIndexSchema,
  shardTotalSchema,
  telemetryPathSchema,
  timeZoneSchema,
  windowCsvSchema,
  type AccountConfig,
  type Config,
  type ConfigFile,
  type FileAccount,
} from './schema.js';
import { parseYaml } from './yaml.js';

export type { ReadFile };

export type LoadInput = {
  /** What the user gave on argv and in the environment (config/flags.ts parseCommandLine). */
  settings: RawSettings;
  /** For `token_env`, which names any variable. */
  env: NodeJS.ProcessEnv;
  readFile: ReadFile;
};

/** The account label and token of `--demo` (spec: Flags). */
export const DEMO_ACCOUNT = 'demo';
export const DEMO_TOKEN = 'demo-token';
/** `--demo` polls every 15 s unless --collector.interval says otherwise. */
export const DEMO_INTERVAL_MS = 15_000;
/** `--demo` windows, counter step and delay unless their flags say otherwise. */
export const DEMO_WINDOWS = '1h,today,week,month';
export const DEMO_COUNTER_STEP_MS = 60_000;
export const DEMO_COUNTER_DELAY_MS = 10_000;

/** Settings that describe where a real account is; the demo has its own (the built-in simulator). */
const ACCOUNT_FLAGS = ['wolkvox.server', 'wolkvox.token-file', 'wolkvox.account', 'wolkvox.base-url'] as const satisfies readonly FlagName[];

/** The first zod issue as a ConfigError; `prefix` is where the value came from (a flag or the file). */
function issueToError(error: z.ZodError, prefix: string, fileNote = ''): ConfigError {
  const issue = error.issues[0];
  if (!issue) return new ConfigError(prefix, `invalid value${fileNote}`);
  let path = formatPath(issue.path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    path = formatPath([...issue.path, issue.keys[0] ?? '']);
    message = 'unknown key';
  } else if (issue.code === 'invalid_type' && issue.input === undefined) {
    message = 'is required';
  }
  const key = prefix === '' || path === '' || path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
  // A file whose top level is not a mapping has no key to blame but the file itself.
  return new ConfigError(key === '' ? 'config.file' : key, `${message}${fileNote}`);
}

// reportInput: zod 4 leaves `input` out of issues by default, and issueToError needs it to tell
// a missing value ("is required") from one of the wrong type.
function parseSetting<S extends z.ZodType>(raw: RawValue, schema: S): z.output<S> {
  const result = schema.safeParse(raw.value, { reportInput: true });
  if (!result.success) throw issueToError(result.error, raw.key);
  return result.data;
}

/** The flag's value (or its default from the flag table) parsed by `schema`; undefined when neither exists. */
function setting<S extends z.ZodType>(settings: RawSettings, name: FlagName, schema: S): z.output<S> | undefined {
  const raw = settingOrDefault(settings, name);
  return raw ? parseSetting(raw, schema) : undefined;
}

/** Like setting(), for flags whose table entry has a default, so a value always exists. */
function required<S extends z.ZodType>(settings: RawSettings, name: FlagName, schema: S): z.output<S> {
  const value = setting(settings, name, schema);
  if (value === undefined) throw new ConfigError(`--${name}`, 'is required');
  return value;
}

function readTokenFile(path: string, key: string, readFile: ReadFile, note = ''): Secret {
  const text = readNamedFile(readFile, path, key, { what: 'token file', note });
  return checkToken(text.replace(/\s+$/, ''), key, ` in ${path}`);
}

/** `where` says which file the token came from; the key stays the flag or file key alone. */
function checkToken(token: string, key: string, where = ''): Secret {
  if (token === '') throw new ConfigError(key, `the token${where} is empty`);
  // Never quote the token: say what is wrong with it, not what it is.
  if (/[\x00-\x1f\x7f]/.test(token)) {
    throw new ConfigError(key, `the token${where} contains control characters or line breaks, which an HTTP header cannot carry`);
  }
  return new Secret(token);
}

function defaultBaseUrl(server: string): string {
  return `https://wv${server}.wolkvox.com`;
}

/** A value and the key it came from, so a check across two settings can blame the right one. */
type Sourced<T> = { value: T; key: string };

type CommonSettings = {
  timeZone: string;
  intervalMs: number;
  maxStaleness?: Sourced<number>;
  timeoutMs: number;
  maxConcurrency: 1 | 2;
  windows: AccountConfig['windows'];
  baseUrl?: string;
  dailyQuota?: number;
  counterStepMs: number;
  counterDelayMs: number;
};

function commonFromSettings(settings: RawSettings): CommonSettings {
  const maxStaleness = settings.values['collector.max-staleness'];
  return {
    timeZone: required(settings, 'wolkvox.timezone', timeZoneSchema),
    intervalMs: required(settings, 'collector.interval', positiveDurationSchema),
    ...(maxStaleness ? { maxStaleness: { value: parseSetting(maxStaleness, positiveDurationSchema), key: maxStaleness.key } } : {}),
    timeoutMs: required(settings, 'wolkvox.timeout', positiveDurationSchema),
    maxConcurrency: required(settings, 'wolkvox.max-concurrency', maxConcurrencySchema),
    windows: required(settings, 'collector.windows', windowCsvSchema),
    baseUrl: setting(settings, 'wolkvox.base-url', baseUrlSchema),
    dailyQuota: setting(settings, 'wolkvox.daily-quota', dailyQuotaSchema),
    counterStepMs: required(settings, 'collector.counter.step', counterStepSchema),
    counterDelayMs: required(settings, 'collector.counter.delay', counterDelaySchema),
  };
}

function finishAccount(
  common: CommonSettings,
  account: { name: string; server?: string; baseUrl: string; token: Secret },
  note = '',
): AccountConfig {
  const { maxStaleness, intervalMs } = common;
  // Values kept for less than an interval would vanish between two good polls.
  if (maxStaleness !== undefined && maxStaleness.value < intervalMs) {
    throw new ConfigError(
      maxStaleness.key,
      `${formatDuration(maxStaleness.value)} is shorter than the interval ${formatDuration(intervalMs)} of account ${account.name}: values would vanish between good polls; use at least the interval (the default is 3 x interval)${note}`,
    );
  }
  return {
    name: account.name,
    ...(account.server !== undefined ? { server: account.server } : {}),
    baseUrl: account.baseUrl.replace(/\/+$/, ''),
    token: account.token,
    timeZone: common.timeZone,
    windows: common.windows,
    intervalMs,
    maxStalenessMs: maxStaleness?.value ?? 3 * intervalMs,
    timeoutMs: common.timeoutMs,
    maxConcurrency: common.maxConcurrency,
    ...(common.dailyQuota !== undefined ? { dailyQuota: common.dailyQuota } : {}),
    counterStepMs: common.counterStepMs,
    counterDelayMs: common.counterDelayMs,
  };
}

function singleAccount(settings: RawSettings, common: CommonSettings, readFile: ReadFile): AccountConfig {
  const server = setting(settings, 'wolkvox.server', serverSchema);
  if (server === undefined && common.baseUrl === undefined) {
    throw new ConfigError('--wolkvox.server', 'is required (or --wolkvox.base-url, --config.file, or --demo to try the simulator)');
  }
  const tokenFile = settings.values['wolkvox.token-file'];
  if (tokenFile && settings.token) {
    throw new ConfigError(tokenFile.key, `set either ${tokenFile.key} or ${settings.token.key}, not both`);
  }
  let token: Secret;
  if (tokenFile) token = readTokenFile(tokenFile.value, tokenFile.key, readFile);
  else if (settings.token) token = checkToken(settings.token.value, settings.token.key);
  else throw new ConfigError('--wolkvox.token-file', `no token: set ${TOKEN_ENV} or --wolkvox.token-file`);
  const name = setting(settings, 'wolkvox.account', z.string().min(1, { message: 'must not be empty' })) ?? server ?? 'default';
  const baseUrl = common.baseUrl ?? defaultBaseUrl(server ?? '');
  return finishAccount(common, { name, ...(server !== undefined ? { server } : {}), baseUrl, token });
}

function parseConfigFile(path: string, readFile: ReadFile): ConfigFile {
  const text = readNamedFile(readFile, path, 'config.file');
  const value = parseYaml(text, 'config.file', path);
  const result = configFileSchema.safeParse(value ?? {}, { reportInput: true });
  if (!result.success) throw issueToError(result.error, '', ` (in ${path})`);
  return result.data;
}

/** What a config file yields: its accounts, and the settings of the whole process it may set. */
type FileSettings = { accounts: AccountConfig[]; maxInFlight?: number; shardTotal?: number };

function fileSettings(
  path: string,
  settings: RawSettings,
  common: CommonSettings,
  env: NodeJS.ProcessEnv,
  readFile: ReadFile,
): FileSettings {
  for (const name of ['wolkvox.server', 'wolkvox.token-file', 'wolkvox.account'] as const) {
    const raw = settings.values[name];
    if (raw) throw new ConfigError(raw.key, 'cannot be combined with a config file: set it per account in the file');
  }
  const file = parseConfigFile(path, readFile);
  const note = ` (in ${path})`;
  // The file names each token's variable itself; WOLKVOX_TOKEN set besides it would be silently unused.
  if (settings.token && !file.accounts.some((account) => account.token_env === TOKEN_ENV)) {
    throw new ConfigError(
      settings.token.key,
      `is not used with a config file: give an account token_env: ${TOKEN_ENV}, or unset it${note}`,
    );
  }
  const fileDir = dirname(path);
  const seen = new Set<string>();
  const accounts = file.accounts.map((account: FileAccount, index) => {
    const key = (field: string) => `accounts[${index}].${field}`;
    if (seen.has(account.name)) throw new ConfigError(key('name'), `duplicate account name "${account.name}"${note}`);
    seen.add(account.name);
    if (account.server === undefined && account.base_url === undefined && common.baseUrl === undefined) {
      throw new ConfigError(key('server'), `is required (or base_url)${note}`);
    }
    if ((account.token_file === undefined) === (account.token_env === undefined)) {
      throw new ConfigError(key('token_file'), `set exactly one of token_file and token_env${note}`);
    }
    let token: Secret;
    if (account.token_file !== undefined) {
      token = readTokenFile(resolve(fileDir, account.token_file), key('token_file'), readFile, note);
    } else {
      const envName = account.token_env ?? '';
      const value = env[envName];
      if (value === undefined || value === '') {
        throw new ConfigError(key('token_env'), `environment variable ${envName} is not set${note}`);
      }
      token = checkToken(value, key('token_env'));
    }
    const maxStaleness: Sourced<number> | undefined =
      account.max_staleness !== undefined
        ? { value: account.max_staleness, key: key('max_staleness') }
        : file.max_staleness !== undefined
          ? { value: file.max_staleness, key: 'max_staleness' }
          : common.maxStaleness;
    const merged: CommonSettings = {
      timeZone: account.timezone ?? file.timezone ?? common.timeZone,
      intervalMs: account.interval ?? file.interval ?? common.intervalMs,
      ...(maxStaleness ? { maxStaleness } : {}),
      timeoutMs: account.timeout ?? file.timeout ?? common.timeoutMs,
      maxConcurrency: account.max_concurrency ?? file.max_concurrency ?? common.maxConcurrency,
      windows: account.windows ?? file.windows ?? common.windows,
      dailyQuota: account.daily_quota ?? common.dailyQuota,
      counterStepMs: account.counter_step ?? file.counter_step ?? common.counterStepMs,
      counterDelayMs: account.counter_delay ?? file.counter_delay ?? common.counterDelayMs,
    };
    const baseUrl = account.base_url ?? common.baseUrl ?? defaultBaseUrl(account.server ?? '');
    const fromFile = maxStaleness !== undefined && maxStaleness !== common.maxStaleness;
    return finishAccount(
      merged,
      { name: account.name, ...(account.server !== undefined ? { server: account.server } : {}), baseUrl, token },
      fromFile ? note : '',
    );
  });
  return {
    accounts,
    ...(file.max_in_flight !== undefined ? { maxInFlight: file.max_in_flight } : {}),
    ...(file.shard_total !== undefined ? { shardTotal: file.shard_total } : {}),
  };
}

/** `--demo` polls the built-in simulator: account settings would be silently unused, so they are errors. */
function demoAccount(settings: RawSettings, common: CommonSettings): AccountConfig {
  const unused = [
    settings.values['config.file'],
    ...ACCOUNT_FLAGS.map((name) => settings.values[name]),
    settings.token,
    // One simulated account: a shard layout could only leave it to another process.
    settings.values['shard.total'],
    settings.values['shard.index'],
  ].find(
    (raw) => raw !== undefined,
  );
  if (unused) throw new ConfigError(unused.key, 'cannot be combined with --demo, which polls its built-in simulator');
  // The simulator has no quota: poll it often enough, settle chunks soon enough and show the calendar
  // windows, so that a person trying the demo sees numbers, history and every dashboard panel move.
  const demoCommon = {
    ...common,
    ...(settings.values['collector.interval'] ? {} : { intervalMs: DEMO_INTERVAL_MS }),
    ...(settings.values['collector.windows'] ? {} : { windows: parseSetting({ value: DEMO_WINDOWS, key: '--collector.windows' }, windowCsvSchema) }),
    ...(settings.values['collector.counter.step'] ? {} : { counterStepMs: DEMO_COUNTER_STEP_MS }),
    ...(settings.values['collector.counter.delay'] ? {} : { counterDelayMs: DEMO_COUNTER_DELAY_MS }),
  };
  return finishAccount(demoCommon, { name: DEMO_ACCOUNT, baseUrl: 'http://127.0.0.1:0', token: new Secret(DEMO_TOKEN) });
}

/** The web server's settings; the healthcheck reads them too, to find the server it checks. */
export function loadWebSettings(settings: RawSettings): Config['web'] {
  const webConfigFile = settings.values['web.config.file']?.value;
  return {
    listenAddress: required(settings, 'web.listen-address', listenAddressSchema),
    telemetryPath: required(settings, 'web.telemetry-path', telemetryPathSchema),
    ...(webConfigFile !== undefined ? { configFile: webConfigFile } : {}),
    enableLifecycle: settings.values['web.enable-lifecycle']?.value === 'true',
  };
}

/** Reads the settings and the files they name into a Config. Throws ConfigError for anything it cannot accept. */
export function loadConfig({ settings, env, readFile }: LoadInput): Config {
  const common = commonFromSettings(settings);
  const level = required(settings, 'log.level', z.enum(LOG_LEVELS, { error: 'must be one of debug, info, warn, error' }));
  const format = required(settings, 'log.format', z.enum(LOG_FORMATS, { error: 'must be json or logfmt' }));
  const web = loadWebSettings(settings);
  const demo = settings.values.demo?.value === 'true';
  const configFile = settings.values['config.file'];
  const flagMaxInFlight = required(settings, 'wolkvox.max-in-flight', maxInFlightSchema);

  const shardTotalRaw = settingOrDefault(settings, 'shard.total')!;
  const shardIndexRaw = settingOrDefault(settings, 'shard.index')!;
  let shardTotal = { value: parseSetting(shardTotalRaw, shardTotalSchema), key: shardTotalRaw.key };
  const shardIndex = parseSetting(shardIndexRaw, shardIndexSchema);

  let accounts: AccountConfig[];
  // Precedence as for the other keys: the file's top-level key, then the flag or env var, then the default.
  let maxInFlightPerOrigin = flagMaxInFlight;
  if (demo) accounts = [demoAccount(settings, common)];
  else if (configFile) {
    const file = fileSettings(configFile.value, settings, common, env, readFile);
    accounts = file.accounts;
    maxInFlightPerOrigin = file.maxInFlight ?? flagMaxInFlight;
    if (file.shardTotal !== undefined) shardTotal = { value: file.shardTotal, key: `shard_total (in ${configFile.value})` };
  } else accounts = [singleAccount(settings, common, readFile)];
  if (shardIndex >= shardTotal.value) {
    throw new ConfigError(
      shardIndexRaw.key,
      `is shard ${shardIndex}, but ${shardTotal.key} is ${shardTotal.value}: shards are numbered 0 to ${shardTotal.value - 1}`,
    );
  }

  return {
    accounts,
    maxInFlightPerOrigin,
    shard: { index: shardIndex, total: shardTotal.value },
    demo,
    ...(configFile ? { configFile: configFile.value } : {}),
    web,
    log: { level, format },
  };
}
