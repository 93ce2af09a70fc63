// Command line and environment → raw settings (a flag wins over its env var), plus --help and --version.
import { ConfigError } from './config/error.js';

export type FlagSpec = {
  name: string;
  env?: string;
  /** The default shown in --help; the real default lives in config/load.ts. */
  default?: string;
  placeholder?: string;
  boolean?: boolean;
  help: string;
};

/** Every flag the exporter knows (spec: Flags). Help text and parsing both read this table. */
export const FLAGS = [
  { name: 'config.file', env: 'WOLKVOX_CONFIG_FILE', placeholder: 'FILE', help: 'YAML file with several Wolkvox accounts' },
  { name: 'wolkvox.server', env: 'WOLKVOX_SERVER', placeholder: 'ID', help: '4-digit Wolkvox server id, e.g. 0032 for https://wv0032.wolkvox.com' },
  { name: 'wolkvox.token-file', env: 'WOLKVOX_TOKEN_FILE', placeholder: 'FILE', help: 'file holding the Wolkvox token (or set WOLKVOX_TOKEN; the token is never read from argv)' },
  { name: 'wolkvox.account', env: 'WOLKVOX_ACCOUNT', placeholder: 'NAME', default: 'the server id', help: 'value of the account label' },
  { name: 'wolkvox.base-url', env: 'WOLKVOX_BASE_URL', placeholder: 'URL', default: 'https://wv<server>.wolkvox.com', help: 'Wolkvox API origin (proxies, tests); with --config.file, the default for accounts without base_url' },
  { name: 'wolkvox.timezone', env: 'WOLKVOX_TIMEZONE', placeholder: 'ZONE', default: 'America/Bogota', help: 'IANA time zone that date_ini/date_end are written in' },
  { name: 'wolkvox.timeout', env: 'WOLKVOX_TIMEOUT', placeholder: 'DURATION', default: '60s', help: 'timeout of one API call' },
  { name: 'wolkvox.max-concurrency', env: 'WOLKVOX_MAX_CONCURRENCY', placeholder: 'N', default: '1', help: 'API calls in flight per token, 1 or 2 (Wolkvox rejects a third)' },
  { name: 'wolkvox.daily-quota', env: 'WOLKVOX_DAILY_QUOTA', placeholder: 'CALLS', help: "the token's API calls per day (licenses x 1000), if known" },
  { name: 'collector.windows', env: 'WOLKVOX_WINDOWS', placeholder: 'LIST', default: '1h,today', help: 'comma list of windows: durations 1m..31d, today, yesterday' },
  { name: 'collector.interval', env: 'WOLKVOX_INTERVAL', placeholder: 'DURATION', default: '5m', help: 'how often each window is polled' },
  { name: 'collector.max-staleness', env: 'WOLKVOX_MAX_STALENESS', placeholder: 'DURATION', default: '3 x interval', help: 'how long the last good values are served after failures' },
  { name: 'web.listen-address', env: 'WOLKVOX_LISTEN_ADDRESS', placeholder: 'ADDRESS', default: ':9867', help: 'address to serve the web interface and metrics on' },
  { name: 'web.telemetry-path', placeholder: 'PATH', default: '/metrics', help: 'path under which metrics are served' },
  { name: 'web.config.file', placeholder: 'FILE', help: 'exporter-toolkit web config file: TLS and basic auth' },
  { name: 'web.enable-lifecycle', boolean: true, default: 'false', help: 'enable POST /-/reload' },
  { name: 'log.level', env: 'LOG_LEVEL', placeholder: 'LEVEL', default: 'info', help: 'one of debug, info, warn, error' },
  { name: 'log.format', env: 'LOG_FORMAT', placeholder: 'FORMAT', default: 'json', help: 'json or logfmt' },
  { name: 'demo', boolean: true, default: 'false', help: 'run against the built-in Wolkvox simulator; no token needed' },
] as const satisfies readonly FlagSpec[];

export type FlagName = (typeof FLAGS)[number]['name'];

/** The env var that holds the token itself: never a flag, so it never shows in `ps`. */
export const TOKEN_ENV = 'WOLKVOX_TOKEN';

/** A raw value and where it came from, so errors name `--flag` or `ENV_VAR` as the user wrote it. */
export type RawValue = { value: string; key: string };

export type RawSettings = {
  values: Partial<Record<FlagName, RawValue>>;
  token?: RawValue;
};

export type Command = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; settings: RawSettings };

const flagsByName = new Map<string, FlagSpec>(FLAGS.map((flag) => [flag.name, flag]));

function parseBoolean(text: string, key: string): string {
  if (text === 'true' || text === 'false') return text;
  throw new ConfigError(key, `"${text}" is not true or false`);
}

/**
 * Reads argv (without node and script) and the environment. Throws ConfigError for an unknown,
 * repeated or valueless flag. Never puts a value of an unknown flag into an error: someone may
 * have typed `--wolkvox.token=...`.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  const fromArgv: Partial<Record<FlagName, RawValue>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('--')) {
      throw new ConfigError('argv', `unexpected argument at position ${i + 1}: flags look like --name=value (see --help)`);
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
    if (fromArgv[name as FlagName]) throw new ConfigError(key, 'flag given more than once');
    let value: string;
    if (flag.boolean) {
      value = inline === undefined ? 'true' : parseBoolean(inline, key);
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError(key, 'needs a value');
      value = next;
      i++;
    }
    fromArgv[name as FlagName] = { value, key };
  }

  const values: Partial<Record<FlagName, RawValue>> = {};
  for (const flag of FLAGS) {
    const given = fromArgv[flag.name];
    const envName = 'env' in flag ? flag.env : undefined;
    const envValue = envName ? env[envName] : undefined;
    if (given) values[flag.name] = given;
    else if (envName && envValue !== undefined && envValue !== '') values[flag.name] = { value: envValue, key: envName };
  }
  const token = env[TOKEN_ENV];
  return {
    kind: 'run',
    settings: { values, ...(token !== undefined && token !== '' ? { token: { value: token, key: TOKEN_ENV } } : {}) },
  };
}

/** The --help text: every flag with its env var and default, in the style of Go exporters. */
export function helpText(version: string): string {
  const rows = FLAGS.map((flag) => {
    const placeholder = 'placeholder' in flag ? `=${flag.placeholder}` : '';
    const left = `  --${flag.name}${placeholder}`;
    const extras = [
      'default' in flag ? `default: ${flag.default}` : undefined,
      'env' in flag ? `env: ${flag.env}` : undefined,
    ].filter(Boolean);
    const suffix = extras.length > 0 ? ` (${extras.join('; ')})` : '';
    return `${left.padEnd(40)} ${flag.help}${suffix}`;
  });
  return [
    `usage: wolkvox-exporter [<flags>]`,
    '',
    `Prometheus exporter for the Wolkvox chat_15 report (WhatsApp Click Summary), version ${version}.`,
    '',
    'Flags:',
    `${'  -h, --help'.padEnd(40)} show this help and exit`,
    `${'  --version'.padEnd(40)} print the version and exit`,
    ...rows,
    '',
    `Environment: ${TOKEN_ENV} holds the token itself. A flag wins over its env var.`,
    '',
  ].join('\n');
}
