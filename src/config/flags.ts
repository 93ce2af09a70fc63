// Every flag in one table (name, env var, default, help, which command takes it), and argv + env → raw settings.
import { ConfigError } from './error.js';

/** What the binary can be asked to do; `exporter` is the default, the others are a first word on argv. */
export const COMMANDS = ['exporter', 'healthcheck', 'backfill'] as const;
export type CommandName = (typeof COMMANDS)[number];

export type FlagSpec = {
  name: string;
  env?: string;
  /** The value used when neither the flag nor its env var is given; --help shows it too. */
  default?: string;
  /** What --help shows as the default where it is not a literal value, e.g. "3 x interval". */
  defaultHelp?: string;
  placeholder?: string;
  boolean?: boolean;
  /** May be given several times; each value is kept, in order (RawSettings.lists). */
  repeatable?: boolean;
  help: string;
  /**
   * The commands that take the flag. The healthcheck takes every exporter flag, so it can be
   * given the exporter's own argv and read the listen address and web config from it.
   */
  commands: readonly CommandName[];
};

const EXPORTER = ['exporter', 'healthcheck'] as const;
/** Where the accounts are and how to reach them: the backfill needs them too. */
const ACCOUNTS = ['exporter', 'healthcheck', 'backfill'] as const;
const HEALTHCHECK = ['healthcheck'] as const;
const BACKFILL = ['backfill'] as const;

/**
 * Default of --wolkvox.max-in-flight: API calls in flight to one origin, over all its tokens and
 * accounts. 16 is 8 tokens' worth of Wolkvox's 2 simultaneous calls per token. Calls in flight =
 * calls a second × seconds a call: 1,000 accounts × 3 windows at 5m, plus hourly counter chunks,
 * is 3,000 / 300 + 1,000 / 3,600 ≈ 10.3 calls/s, so about 10 in flight with 1 s calls. 16 leaves
 * half again as much for retries and slow calls, and drains the 3,000 first polls of a start in
 * about 3,000 / 16 ≈ 190 s, inside the interval. (8 would serve only 8 calls/s at 1 s a call:
 * fewer than that workload needs.) One slot serves about 200 windows at 5m with 1 s calls and
 * that headroom; the README says when to raise it.
 */
export const DEFAULT_MAX_IN_FLIGHT = 16;

/** Every flag (spec: Flags). Parsing, defaults and --help all read this table. */
export const FLAGS = [
  { name: 'config.file', env: 'WOLKVOX_CONFIG_FILE', placeholder: 'FILE', help: 'YAML file with several Wolkvox accounts', commands: ACCOUNTS },
  { name: 'wolkvox.server', env: 'WOLKVOX_SERVER', placeholder: 'ID', help: '4-digit Wolkvox server id, e.g. 0032 for https://wv0032.wolkvox.com', commands: ACCOUNTS },
  { name: 'wolkvox.token-file', env: 'WOLKVOX_TOKEN_FILE', placeholder: 'FILE', help: 'file holding the Wolkvox token (or set WOLKVOX_TOKEN; the token is never read from argv)', commands: ACCOUNTS },
  { name: 'wolkvox.account', env: 'WOLKVOX_ACCOUNT', placeholder: 'NAME', defaultHelp: 'the server id', help: 'value of the account label', commands: ACCOUNTS },
  { name: 'wolkvox.base-url', env: 'WOLKVOX_BASE_URL', placeholder: 'URL', defaultHelp: 'https://wv<server>.wolkvox.com', help: 'Wolkvox API origin (proxies, tests); with --config.file, the default for accounts without base_url', commands: ACCOUNTS },
  { name: 'wolkvox.timezone', env: 'WOLKVOX_TIMEZONE', placeholder: 'ZONE', default: 'America/Bogota', help: 'IANA time zone that date_ini/date_end are written in', commands: ACCOUNTS },
  { name: 'wolkvox.timeout', env: 'WOLKVOX_TIMEOUT', placeholder: 'DURATION', default: '60s', help: 'timeout of one API call', commands: ACCOUNTS },
  { name: 'wolkvox.max-concurrency', env: 'WOLKVOX_MAX_CONCURRENCY', placeholder: 'N', default: '1', help: 'API calls in flight per token, 1 or 2 (Wolkvox rejects a third)', commands: ACCOUNTS },
  { name: 'wolkvox.max-in-flight', env: 'WOLKVOX_MAX_IN_FLIGHT', placeholder: 'N', default: String(DEFAULT_MAX_IN_FLIGHT), help: 'API calls in flight to one origin (scheme, host and port), over all its tokens and accounts; config key max_in_flight, top level only', commands: ACCOUNTS },
  { name: 'wolkvox.daily-quota', env: 'WOLKVOX_DAILY_QUOTA', placeholder: 'CALLS', help: "the token's API calls per day (licenses x 1000), if known", commands: ACCOUNTS },
  { name: 'shard.total', env: 'WOLKVOX_SHARD_TOTAL', placeholder: 'N', default: '1', help: 'how many processes split the accounts, each polling the tokens that hash to it; config key shard_total, top level only, so a reload can reshard', commands: EXPORTER },
  { name: 'shard.index', env: 'WOLKVOX_SHARD_INDEX', placeholder: 'I|POD', default: '0', help: "this process's shard, 0..total-1, or a StatefulSet pod name ending in its ordinal (wolkvox-exporter-2)", commands: EXPORTER },
  { name: 'collector.windows', env: 'WOLKVOX_WINDOWS', placeholder: 'LIST', default: '1h,today', help: 'comma list of windows: durations 1m..31d, today, yesterday, week, month, last_week, last_month', commands: EXPORTER },
  { name: 'collector.counter.step', env: 'WOLKVOX_COUNTER_STEP', placeholder: 'DURATION', default: '1h', help: 'length of the settled chunks summed into the _total counters, 1m..1d; 0 turns counters off', commands: EXPORTER },
  { name: 'collector.counter.delay', env: 'WOLKVOX_COUNTER_DELAY', placeholder: 'DURATION', default: '15m', help: 'how long after a chunk ends it is queried, so late chats have settled', commands: EXPORTER },
  { name: 'collector.interval', env: 'WOLKVOX_INTERVAL', placeholder: 'DURATION', default: '5m', help: 'how often each window is polled', commands: EXPORTER },
  { name: 'collector.max-staleness', env: 'WOLKVOX_MAX_STALENESS', placeholder: 'DURATION', defaultHelp: '3 x interval', help: 'how long the last good values are served after failures; at least the interval', commands: EXPORTER },
  { name: 'web.listen-address', env: 'WOLKVOX_LISTEN_ADDRESS', placeholder: 'ADDRESS', default: ':9867', help: 'address to serve the web interface and metrics on', commands: EXPORTER },
  { name: 'web.telemetry-path', placeholder: 'PATH', default: '/metrics', help: 'path under which metrics are served', commands: EXPORTER },
  { name: 'web.config.file', placeholder: 'FILE', help: 'exporter-toolkit web config file: TLS and basic auth', commands: EXPORTER },
  { name: 'web.enable-lifecycle', boolean: true, default: 'false', help: 'enable POST /-/reload', commands: EXPORTER },
  { name: 'log.level', env: 'LOG_LEVEL', placeholder: 'LEVEL', default: 'info', help: 'one of debug, info, warn, error', commands: ACCOUNTS },
  { name: 'log.format', env: 'LOG_FORMAT', placeholder: 'FORMAT', default: 'json', help: 'json or logfmt', commands: ACCOUNTS },
  { name: 'demo', boolean: true, default: 'false', help: 'run against the built-in Wolkvox simulator; no token needed', commands: EXPORTER },
  { name: 'from', placeholder: 'YYYY-MM-DD', help: 'first local day to backfill (required)', commands: BACKFILL },
  { name: 'to', placeholder: 'YYYY-MM-DD|TIME', help: 'last local day to backfill, whole; or an RFC 3339 instant to stop at, such as where a running exporter\'s counters began (required)', commands: BACKFILL },
  { name: 'step', placeholder: 'DURATION', default: '1d', help: 'length of each backfilled chunk (one API call each), 1h..1d', commands: BACKFILL },
  { name: 'output', placeholder: 'FILE', defaultHelp: 'stdout', help: 'where to write the OpenMetrics text', commands: BACKFILL },
  { name: 'label', placeholder: 'NAME=VALUE', repeatable: true, help: 'a label for every series, such as job or instance, so they join the scraped ones (repeatable)', commands: BACKFILL },
  { name: 'max-calls', placeholder: 'N', help: 'refuse to start when the backfill would make more API calls than this', commands: BACKFILL },
  { name: 'healthcheck.username', env: 'WOLKVOX_HEALTHCHECK_USERNAME', placeholder: 'USER', help: 'basic auth user, when the web config has basic_auth_users', commands: HEALTHCHECK },
  { name: 'healthcheck.password-file', env: 'WOLKVOX_HEALTHCHECK_PASSWORD_FILE', placeholder: 'FILE', help: "file holding that user's password (trailing newline trimmed)", commands: HEALTHCHECK },
  { name: 'healthcheck.cert-file', env: 'WOLKVOX_HEALTHCHECK_CERT_FILE', placeholder: 'FILE', help: 'client certificate, when the web config asks for one', commands: HEALTHCHECK },
  { name: 'healthcheck.key-file', env: 'WOLKVOX_HEALTHCHECK_KEY_FILE', placeholder: 'FILE', help: 'private key of that client certificate', commands: HEALTHCHECK },
  { name: 'healthcheck.timeout', env: 'WOLKVOX_HEALTHCHECK_TIMEOUT', placeholder: 'DURATION', default: '4s', help: 'how long to wait for the answer', commands: HEALTHCHECK },
] as const satisfies readonly FlagSpec[];

export type FlagName = (typeof FLAGS)[number]['name'];

/** The env var that holds the token itself: never a flag, so it never shows in `ps`. */
export const TOKEN_ENV = 'WOLKVOX_TOKEN';

/** A raw value and where it came from, so errors name `--flag` or `ENV_VAR` as the user wrote it. */
export type RawValue = { value: string; key: string };

/** What the user gave, flag or env; defaults are not in here (see settingOrDefault). */
export type RawSettings = {
  values: Partial<Record<FlagName, RawValue>>;
  /** Every value of a repeatable flag, in order; present only when one was given. */
  lists?: Partial<Record<FlagName, RawValue[]>>;
  token?: RawValue;
};

export type Command =
  | { kind: 'help'; command: CommandName }
  | { kind: 'version' }
  | { kind: 'run'; command: CommandName; settings: RawSettings };

const flagsByName = new Map<string, FlagSpec>(FLAGS.map((flag) => [flag.name, flag]));

function parseBoolean(text: string, key: string): string {
  if (text === 'true' || text === 'false') return text;
  throw new ConfigError(key, `"${text}" is not true or false`);
}

/** The first word of argv when it names a subcommand. */
function subcommandOf(argv: readonly string[]): CommandName {
  const first = argv[0];
  return COMMANDS.find((name) => name !== 'exporter' && name === first) ?? 'exporter';
}

/**
 * Reads argv (without node and script) and the environment. Throws ConfigError for an unknown,
 * repeated, valueless or empty flag. Never puts a value of an unknown flag into an error: someone
 * may have typed `--wolkvox.token=...`.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  const command = subcommandOf(argv);
  const args = command === 'exporter' ? argv : argv.slice(1);
  const offset = argv.length - args.length;
  const fromArgv: Partial<Record<FlagName, RawValue>> = {};
  const lists: Partial<Record<FlagName, RawValue[]>> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--help' || arg === '-h') return { kind: 'help', command };
    if (arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('--')) {
      throw new ConfigError('argv', `unexpected argument at position ${i + offset + 1}: flags look like --name=value (see --help)`);
    }
    const body = arg.slice(2);
    const equals = body.indexOf('=');
    let name = equals === -1 ? body : body.slice(0, equals);
    let inline: string | undefined = equals === -1 ? undefined : body.slice(equals + 1);
    let flag = flagsByName.get(name);
    if (!flag && name.startsWith('no-') && flagsByName.get(name.slice(3))?.boolean && inline === undefined) {
      name = name.slice(3);
      flag = flagsByName.get(name);
      inline = 'false';
    }
    const key = `--${name}`;
    if (!flag) {
      const hint = name.startsWith('wolkvox.token')
        ? `; the token is read from ${TOKEN_ENV} or --wolkvox.token-file, never from argv`
        : '';
      throw new ConfigError(key, `unknown flag${hint} (see --help)`);
    }
    if (!flag.commands.includes(command)) {
      const where = command === 'exporter' ? 'the exporter' : `the ${command} command`;
      throw new ConfigError(key, `is not a flag of ${where} (see --help)`);
    }
    if (fromArgv[name as FlagName] && !flag.repeatable) throw new ConfigError(key, 'flag given more than once');
    let value: string;
    if (flag.boolean) {
      value = inline === undefined ? 'true' : parseBoolean(inline, key);
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError(key, 'needs a value');
      value = next;
      i++;
    }
    // `--web.config.file=$UNSET` must not quietly mean "no TLS, no auth" (spec: Flags).
    if (value === '') throw new ConfigError(key, 'is empty: an empty value does not turn anything off; leave the flag out instead');
    if (flag.repeatable) (lists[name as FlagName] ??= []).push({ value, key });
    else fromArgv[name as FlagName] = { value, key };
  }

  const values: Partial<Record<FlagName, RawValue>> = {};
  for (const flag of FLAGS) {
    const given = fromArgv[flag.name];
    const envName = 'env' in flag ? flag.env : undefined;
    const envValue = envName ? env[envName] : undefined;
    if (given) values[flag.name] = given;
    // An empty variable counts as unset, as in most shells' `VAR= cmd`.
    else if (envName && envValue !== undefined && envValue !== '' && (flag.commands as readonly CommandName[]).includes(command)) {
      values[flag.name] = { value: envValue, key: envName };
    }
  }
  const token = env[TOKEN_ENV];
  return {
    kind: 'run',
    command,
    settings: {
      values,
      ...(Object.keys(lists).length > 0 ? { lists } : {}),
      ...(token !== undefined && token !== '' ? { token: { value: token, key: TOKEN_ENV } } : {}),
    },
  };
}

/** The exporter's settings from argv and env; throws ConfigError when argv asks for anything else (reloads, tests). */
export function exporterSettings(argv: readonly string[], env: NodeJS.ProcessEnv): RawSettings {
  const command = parseCommandLine(argv, env);
  if (command.kind !== 'run' || command.command !== 'exporter') {
    throw new ConfigError('argv', 'expected the exporter\'s flags');
  }
  return command.settings;
}

/** The value given for a flag, else its default from FLAGS (keyed as the flag), else undefined. */
export function settingOrDefault(settings: RawSettings, name: FlagName): RawValue | undefined {
  const given = settings.values[name];
  if (given) return given;
  const flag = flagsByName.get(name);
  return flag?.default !== undefined ? { value: flag.default, key: `--${name}` } : undefined;
}
