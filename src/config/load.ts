// Merges config file, flags, env and defaults into one validated Config, or throws ConfigError naming the key.
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { parseCommandLine, type FlagName, type RawSettings, type RawValue } from '../cli.js';
import { ConfigError, formatPath } from './error.js';
import { Secret } from './secret.js';
import {
  baseUrlSchema,
  configFileSchema,
  dailyQuotaSchema,
  listenAddressSchema,
  LOG_FORMATS,
  LOG_LEVELS,
  maxConcurrencySchema,
  positiveDurationSchema,
  serverSchema,
  telemetryPathSchema,
  timeZoneSchema,
  windowCsvSchema,
  type AccountConfig,
  type Config,
  type ConfigFile,
  type FileAccount,
} from './schema.js';
import { z as zod } from 'zod';

export type ReadFile = (path: string) => string;

export type LoadInput = {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  readFile: ReadFile;
};

export type LoadResult = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: Config };

/** The account label and token of `--demo` (spec: Flags). */
export const DEMO_ACCOUNT = 'demo';
export const DEMO_TOKEN = 'demo-token';
/** `--demo` polls every 15 s unless --collector.interval says otherwise. */
export const DEMO_INTERVAL_MS = 15_000;

const DEFAULTS = {
  timeZone: 'America/Bogota',
  intervalMs: 5 * 60_000,
  timeoutMs: 60_000,
  maxConcurrency: 1 as const,
  windows: '1h,today',
  listenAddress: ':9867',
  telemetryPath: '/metrics',
};

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

function optionalSetting<S extends z.ZodType>(
  settings: RawSettings,
  name: FlagName,
  schema: S,
): z.output<S> | undefined {
  const raw = settings.values[name];
  return raw ? parseSetting(raw, schema) : undefined;
}

function readTokenFile(path: string, key: string, readFile: ReadFile): Secret {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(key, `cannot read token file ${path}: ${code}`);
  }
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

type CommonSettings = {
  timeZone: string;
  intervalMs: number;
  maxStalenessMs?: number;
  timeoutMs: number;
  maxConcurrency: 1 | 2;
  windows: AccountConfig['windows'];
  baseUrl?: string;
  dailyQuota?: number;
};

function commonFromSettings(settings: RawSettings): CommonSettings {
  const windowsRaw = settings.values['collector.windows'] ?? { value: DEFAULTS.windows, key: '--collector.windows' };
  return {
    timeZone: optionalSetting(settings, 'wolkvox.timezone', timeZoneSchema) ?? DEFAULTS.timeZone,
    intervalMs: optionalSetting(settings, 'collector.interval', positiveDurationSchema) ?? DEFAULTS.intervalMs,
    maxStalenessMs: optionalSetting(settings, 'collector.max-staleness', positiveDurationSchema),
    timeoutMs: optionalSetting(settings, 'wolkvox.timeout', positiveDurationSchema) ?? DEFAULTS.timeoutMs,
    maxConcurrency: optionalSetting(settings, 'wolkvox.max-concurrency', maxConcurrencySchema) ?? DEFAULTS.maxConcurrency,
    windows: parseSetting(windowsRaw, windowCsvSchema),
    baseUrl: optionalSetting(settings, 'wolkvox.base-url', baseUrlSchema),
    dailyQuota: optionalSetting(settings, 'wolkvox.daily-quota', dailyQuotaSchema),
  };
}

function finishAccount(
  common: CommonSettings,
  account: { name: string; server?: string; baseUrl: string; token: Secret },
): AccountConfig {
  return {
    name: account.name,
    ...(account.server !== undefined ? { server: account.server } : {}),
    baseUrl: account.baseUrl.replace(/\/+$/, ''),
    token: account.token,
    timeZone: common.timeZone,
    windows: common.windows,
    intervalMs: common.intervalMs,
    maxStalenessMs: common.maxStalenessMs ?? 3 * common.intervalMs,
    timeoutMs: common.timeoutMs,
    maxConcurrency: common.maxConcurrency,
    ...(common.dailyQuota !== undefined ? { dailyQuota: common.dailyQuota } : {}),
  };
}

function singleAccount(settings: RawSettings, common: CommonSettings, readFile: ReadFile): AccountConfig {
  const server = optionalSetting(settings, 'wolkvox.server', serverSchema);
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
  else throw new ConfigError('--wolkvox.token-file', 'no token: set WOLKVOX_TOKEN or --wolkvox.token-file');
  const name = optionalSetting(settings, 'wolkvox.account', zod.string().min(1, { message: 'must not be empty' })) ?? server ?? 'default';
  const baseUrl = common.baseUrl ?? defaultBaseUrl(server ?? '');
  return finishAccount(common, { name, ...(server !== undefined ? { server } : {}), baseUrl, token });
}

function parseConfigFile(path: string, readFile: ReadFile): ConfigFile {
  const note = ` (in ${path})`;
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError('config.file', `cannot read ${path}: ${code}`);
  }
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const yamlError = document.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0].line;
    const where = line !== undefined ? ` at line ${line}` : '';
    throw new ConfigError('config.file', `${path} is not valid YAML${where}: ${(yamlError.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  let value: unknown;
  try {
    value = document.toJS();
  } catch (error) {
    // yaml throws while resolving aliases: unknown anchors, and alias bombs past its expansion limit.
    throw new ConfigError('config.file', `${path} is not valid YAML: ${(error as Error).message}`);
  }
  const result = configFileSchema.safeParse(value ?? {}, { reportInput: true });
  if (!result.success) throw issueToError(result.error, '', note);
  return result.data;
}

function fileAccounts(
  path: string,
  settings: RawSettings,
  common: CommonSettings,
  env: NodeJS.ProcessEnv,
  readFile: ReadFile,
): AccountConfig[] {
  for (const name of ['wolkvox.server', 'wolkvox.token-file', 'wolkvox.account'] as const) {
    const raw = settings.values[name];
    if (raw) throw new ConfigError(raw.key, 'cannot be combined with a config file: set it per account in the file');
  }
  const file = parseConfigFile(path, readFile);
  const note = ` (in ${path})`;
  const fileDir = dirname(path);
  const seen = new Set<string>();
  return file.accounts.map((account: FileAccount, index) => {
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
      token = readTokenFile(resolve(fileDir, account.token_file), key('token_file'), readFile);
    } else {
      const envName = account.token_env ?? '';
      const value = env[envName];
      if (value === undefined || value === '') {
        throw new ConfigError(key('token_env'), `environment variable ${envName} is not set${note}`);
      }
      token = checkToken(value, key('token_env'));
    }
    const merged: CommonSettings = {
      timeZone: account.timezone ?? file.timezone ?? common.timeZone,
      intervalMs: account.interval ?? file.interval ?? common.intervalMs,
      maxStalenessMs: account.max_staleness ?? file.max_staleness ?? common.maxStalenessMs,
      timeoutMs: account.timeout ?? file.timeout ?? common.timeoutMs,
      maxConcurrency: account.max_concurrency ?? file.max_concurrency ?? common.maxConcurrency,
      windows: account.windows ?? file.windows ?? common.windows,
      dailyQuota: account.daily_quota ?? common.dailyQuota,
    };
    const baseUrl = account.base_url ?? common.baseUrl ?? defaultBaseUrl(account.server ?? '');
    return finishAccount(merged, {
      name: account.name,
      ...(account.server !== undefined ? { server: account.server } : {}),
      baseUrl,
      token,
    });
  });
}

/** Reads argv, env and files into a Config. Throws ConfigError for anything it cannot accept. */
export function loadConfig({ argv, env, readFile }: LoadInput): LoadResult {
  const command = parseCommandLine(argv, env);
  if (command.kind !== 'run') return command;
  const { settings } = command;

  const common = commonFromSettings(settings);
  const level = optionalSetting(settings, 'log.level', zod.enum(LOG_LEVELS, { error: 'must be one of debug, info, warn, error' })) ?? 'info';
  const format = optionalSetting(settings, 'log.format', zod.enum(LOG_FORMATS, { error: 'must be json or logfmt' })) ?? 'json';
  const listenAddress = parseSetting(
    settings.values['web.listen-address'] ?? { value: DEFAULTS.listenAddress, key: '--web.listen-address' },
    listenAddressSchema,
  );
  const telemetryPath = optionalSetting(settings, 'web.telemetry-path', telemetryPathSchema) ?? DEFAULTS.telemetryPath;
  const webConfigFile = settings.values['web.config.file']?.value;
  const demo = settings.values.demo?.value === 'true';
  const configFile = settings.values['config.file'];

  let accounts: AccountConfig[];
  if (demo) {
    if (configFile) throw new ConfigError(configFile.key, 'cannot be combined with --demo');
    // The simulator has no quota: poll it often enough that a person trying the demo sees numbers move.
    const demoCommon = settings.values['collector.interval'] ? common : { ...common, intervalMs: DEMO_INTERVAL_MS };
    accounts = [
      finishAccount(demoCommon, { name: DEMO_ACCOUNT, baseUrl: 'http://127.0.0.1:0', token: new Secret(DEMO_TOKEN) }),
    ];
  } else if (configFile) {
    accounts = fileAccounts(configFile.value, settings, common, env, readFile);
  } else {
    accounts = [singleAccount(settings, common, readFile)];
  }

  return {
    kind: 'run',
    config: {
      accounts,
      demo,
      ...(configFile ? { configFile: configFile.value } : {}),
      web: {
        listenAddress,
        telemetryPath,
        ...(webConfigFile !== undefined ? { configFile: webConfigFile } : {}),
        enableLifecycle: settings.values['web.enable-lifecycle']?.value === 'true',
      },
      log: { level, format },
    },
  };
}
