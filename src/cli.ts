// What the command line prints by itself: --help for each command and --version, in the style of Go exporters.
import { FLAGS, TOKEN_ENV, type CommandName, type FlagSpec } from './config/flags.js';

const USAGE: Record<CommandName, { usage: string; about: string }> = {
  exporter: {
    usage: 'usage: wolkvox-exporter [<flags>]',
    about: 'Prometheus exporter for the Wolkvox chat_15 report (WhatsApp Click Summary)',
  },
  backfill: {
    usage: 'usage: wolkvox-exporter backfill --from=YYYY-MM-DD --to=YYYY-MM-DD [<flags>]',
    about:
      'Writes the _total counters for a past range of local days as OpenMetrics text with timestamps, for ' +
      '`promtool tsdb create-blocks-from openmetrics`. It takes the account flags of the exporter (--config.file, ' +
      '--wolkvox.*, --log.*), prints the calls it will make, and refuses beyond --max-calls or the daily quota',
  },
  healthcheck: {
    usage: 'usage: wolkvox-exporter healthcheck [<flags>]',
    about:
      'Checks that the exporter answers GET /healthz, over TLS and with basic auth when its web config asks for them. ' +
      "It takes the exporter's own flags; given none, it reads those of PID 1 when PID 1 is the exporter (a container). " +
      'Exits 0 when healthy, 1 when not, 2 on a bad flag',
  },
};

function flagLine(flag: FlagSpec): string {
  const placeholder = flag.placeholder !== undefined ? `=${flag.placeholder}` : '';
  const left = `  --${flag.name}${placeholder}`;
  const shownDefault = flag.default ?? flag.defaultHelp;
  const extras = [shownDefault !== undefined ? `default: ${shownDefault}` : undefined, flag.env !== undefined ? `env: ${flag.env}` : undefined].filter(
    Boolean,
  );
  const suffix = extras.length > 0 ? ` (${extras.join('; ')})` : '';
  return `${left.padEnd(40)} ${flag.help}${suffix}`;
}

/** The --help text of a command: every flag it takes, with its env var and default. */
export function helpText(version: string, command: CommandName = 'exporter'): string {
  // A subcommand lists only its own flags; the exporter's are described once, under the exporter.
  const own = (FLAGS as readonly FlagSpec[]).filter((flag) =>
    command === 'exporter' ? flag.commands.includes('exporter') : flag.commands.includes(command) && !flag.commands.includes('exporter'),
  );
  const { usage, about } = USAGE[command];
  const lines = [
    usage,
    '',
    `${about}, version ${version}.`,
    '',
    'Flags:',
    `${'  -h, --help'.padEnd(40)} show this help and exit`,
    `${'  --version'.padEnd(40)} print the version and exit`,
    ...own.map(flagLine),
    '',
  ];
  if (command === 'exporter') {
    lines.push(
      'Commands:',
      `${'  healthcheck'.padEnd(40)} check a running exporter (see wolkvox-exporter healthcheck --help)`,
      `${'  backfill'.padEnd(40)} write past counters for promtool (see wolkvox-exporter backfill --help)`,
      '',
      `Environment: ${TOKEN_ENV} holds the token itself. A flag wins over its env var.`,
      '',
    );
  } else if (command === 'healthcheck') {
    lines.push('It also accepts every exporter flag (see wolkvox-exporter --help) and uses the web ones.', '');
  } else {
    lines.push('It also takes the account flags of the exporter: --config.file, --wolkvox.*, --log.* (see wolkvox-exporter --help).', '');
  }
  return lines.join('\n');
}

/** The --version text, as Go exporters print it. */
export function versionText(build: { version: string; revision: string }): string {
  return `wolkvox-exporter, version ${build.version} (revision: ${build.revision})\n  node: ${process.version}\n`;
}
