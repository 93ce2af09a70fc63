// `wolkvox-exporter backfill`: plan, refuse or run, show progress, and write the OpenMetrics file (spec: History).
import { writeFileSync } from 'node:fs';
import type { Clock } from '../clock.js';
import { formatDuration } from '../config/duration.js';
import type { RawSettings } from '../config/flags.js';
import { loadConfig } from '../config/load.js';
import type { ReadFile } from '../config/read-file.js';
import type { AccountConfig } from '../config/schema.js';
import { createLogger } from '../log.js';
import type { WolkvoxClient } from '../wolkvox/client.js';
import { renderOpenMetrics } from './openmetrics.js';
import { parseBackfillOptions, planBackfill, plannedCalls, refusal, type BackfillOptions } from './plan.js';
import { runBackfill, type ChunkEvent } from './run.js';

export type BackfillCommandDeps = {
  settings: RawSettings;
  env: NodeJS.ProcessEnv;
  readFile: ReadFile;
  clock: Clock;
  clientFor(account: AccountConfig): WolkvoxClient;
  /** Where the OpenMetrics text goes without --output. */
  stdout: { write(text: string): unknown };
  /** The plan, progress and problems: never mixed into the data. */
  stderr: { write(text: string): unknown; isTTY?: boolean };
  writeFile?: (path: string, text: string) => void;
  signal?: AbortSignal;
};

const BAR_WIDTH = 30;

function describeRange(options: BackfillOptions): string {
  const day = (d: { year: number; month: number; day: number }) =>
    `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
  const end = options.to.kind === 'date' ? `${day(options.to.date)} (whole)` : `until ${new Date(options.to.ms).toISOString()}`;
  return `${day(options.from)} to ${end}`;
}

/** One line a chunk where nobody watches; a bar redrawn in place on a terminal. */
function progressReporter(stderr: BackfillCommandDeps['stderr']): (event: ChunkEvent) => void {
  if (stderr.isTTY) {
    return ({ done, total, outcome }) => {
      const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
      stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${done}/${total} chunks${outcome === 'added' ? '' : ` (${outcome})`}`);
      if (done === total || outcome !== 'added') stderr.write('\n');
    };
  }
  return ({ account, chunk, outcome, done, total }) => {
    stderr.write(`backfill: ${account} ${chunk.dateIni}..${chunk.dateEnd} ${outcome} (${done}/${total})\n`);
  };
}

/**
 * Runs the command. Resolves with the exit status: 0 done, 1 stopped early (the file is still
 * valid up to each account's last complete chunk), 2 refused before any call. A bad flag or
 * config throws ConfigError, which main turns into status 2.
 */
export async function backfillCommand(deps: BackfillCommandDeps): Promise<number> {
  const options = parseBackfillOptions(deps.settings);
  const config = loadConfig({ settings: deps.settings, env: deps.env, readFile: deps.readFile });
  const plans = planBackfill(config.accounts, options);
  const { total, perToken } = plannedCalls(plans);
  deps.stderr.write(
    `backfill: ${describeRange(options)}, ${config.accounts.length} account(s), chunks of ${formatDuration(options.stepMs)}: ${total} API call(s)\n`,
  );
  for (const token of perToken) {
    deps.stderr.write(`backfill:   ${token.accounts.join(', ')}: ${token.calls} call(s) of a daily quota of ${token.quota}${token.quotaStated ? '' : ' (assumed: one license)'}\n`);
  }
  const refused = refusal(plans, options);
  if (refused !== undefined) {
    deps.stderr.write(`backfill: refused: ${refused}\n`);
    return 2;
  }

  const logger = createLogger({ level: config.log.level, format: config.log.format });
  const result = await runBackfill({
    plans,
    ...(config.maxInFlightPerOrigin !== undefined ? { maxInFlightPerOrigin: config.maxInFlightPerOrigin } : {}),
    clientFor: deps.clientFor,
    clock: deps.clock,
    logger,
    onChunk: progressReporter(deps.stderr),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  const text = renderOpenMetrics(
    result.series.filter((series) => series.chunks.length > 0),
    options.labels,
  );
  if (options.output !== undefined) (deps.writeFile ?? ((path, data) => writeFileSync(path, data)))(options.output, text);
  else deps.stdout.write(text);

  const added = result.series.reduce((sum, series) => sum + series.chunks.length, 0);
  for (const problem of result.problems) deps.stderr.write(`backfill: ${problem}\n`);
  const where = options.output !== undefined ? options.output : 'stdout';
  if (result.problems.length > 0) {
    deps.stderr.write(`backfill: stopped early: ${added} of ${total} chunk(s) written to ${where}, valid up to each account's last complete chunk\n`);
    return 1;
  }
  deps.stderr.write(`backfill: done: ${added} chunk(s) written to ${where}; next: promtool tsdb create-blocks-from openmetrics ${options.output ?? 'FILE'} DATA_DIR\n`);
  return 0;
}
