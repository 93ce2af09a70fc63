// The wolkvox-exporter binary: builds everything from the Config, serves HTTP, handles signals and exit codes.
//
// The installed command is src/bin.ts (dist/main.js): it loads this module, bundled as dist/exporter.cjs,
// with its V8 code cache, then calls runAsBinary(). What only some runs need (the web config, the
// simulator, the healthcheck and backfill commands) is imported when they need it.
import { realpathSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { helpText, versionText } from './cli.js';
import { systemClock, type Clock } from './clock.js';
import { ConfigError } from './config/error.js';
import { exporterSettings, parseCommandLine } from './config/flags.js';
import { DEMO_TOKEN, loadConfig } from './config/load.js';
import { planWarnings } from './config/plan.js';
import { accountsOfShard, SINGLE_SHARD } from './config/shard.js';
import { readUtf8 } from './config/read-file.js';
import type { AccountConfig, Config } from './config/schema.js';
import { createApp, type Guard } from './http/app.js';
import { createScrapeHandler } from './http/scrape.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics/metrics.js';
import { createRuntimeMetrics, EXPOSITION_CONTENT_TYPE } from './metrics/runtime.js';
import { createSnapshotCache } from './poller/cache.js';
import { createCounterStore } from './poller/counters.js';
import { createPoller } from './poller/poller.js';
import type { Simulator } from './simulator/server.js';
import { createCallsToday } from './status/calls-today.js';
import { buildStatus } from './status/status.js';
import { readBuildInfo } from './version.js';
import { createWolkvoxClient } from './wolkvox/client.js';

/** SIGTERM must end the process within 10 s (spec: Operations); leave margin for the runtime. */
const SHUTDOWN_GRACE_MS = 8_000;

export type RunningExporter = {
  /** The address the web server listens on (port resolved when 0 was asked for). */
  address: AddressInfo;
  reload(): Promise<void>;
  shutdown(): Promise<void>;
};

export type StartOptions = {
  config: Config;
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  logger: Logger;
  clock?: Clock;
};

/**
 * `WOLKVOX_EXPORTER_RESPONSE_CACHE=off` re-renders and re-compresses /metrics on every scrape. Only
 * the benchmark sets it: it measures what a scrape costs when the values changed since the last one.
 */
export const RESPONSE_CACHE_ENV = 'WOLKVOX_EXPORTER_RESPONSE_CACHE';

function withBaseUrl(accounts: readonly AccountConfig[], baseUrl: string): AccountConfig[] {
  return accounts.map((account) => ({ ...account, baseUrl }));
}

/**
 * Accounts a reload gives this process that another shard polled until now: configured before,
 * not this shard's then, this shard's now. Their first polls wait (PollerSettings.handedOver).
 */
function handedOver(configuredBefore: readonly AccountConfig[], ownedBefore: readonly AccountConfig[], ownedNow: readonly AccountConfig[]): Set<string> {
  const before = new Set(configuredBefore.map((account) => account.name));
  const owned = new Set(ownedBefore.map((account) => account.name));
  return new Set(ownedNow.map((account) => account.name).filter((name) => before.has(name) && !owned.has(name)));
}

function listen(server: Server, config: Config): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: config.web.listenAddress.port, host: config.web.listenAddress.host }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** The web config's parts, imported only when a web config file is given. */
async function loadWebStack(file: string) {
  const [{ loadWebConfig }, { webConfigMiddleware }, { createWebServer, reportTlsClientErrors }] = await Promise.all([
    import('./http/web-config.js'),
    import('./http/guard.js'),
    import('./http/tls.js'),
  ]);
  const webConfig = await loadWebConfig(file);
  // Holds the bcrypt worker thread: shutdown() must close it.
  const guard: Guard & { close(): Promise<void> } = webConfigMiddleware(webConfig);
  return {
    guard,
    tls: Boolean(webConfig.tls),
    createServer(app: Parameters<typeof createWebServer>[0], logger: Logger, clock: Clock): Server {
      const server = createWebServer(app, webConfig);
      // Anyone can fail a handshake: one warning per interval, with a count of those left out.
      reportTlsClientErrors(server, logger, clock);
      return server;
    },
  };
}

/** Starts the exporter for a loaded config; resolves once it listens and polling has begun. */
export async function startExporter({ config, argv, env, logger, clock = systemClock }: StartOptions): Promise<RunningExporter> {
  const build = readBuildInfo();
  // Loaded only with --web.config.file: TLS options, the basic-auth guard and its bcrypt worker.
  const web = config.web.configFile ? await loadWebStack(config.web.configFile) : undefined;

  let simulator: Simulator | undefined;
  /** Every account in the config, this shard's or not. */
  let configured: readonly AccountConfig[] = config.accounts;
  if (config.demo) {
    const { startSimulator } = await import('./simulator/server.js');
    simulator = await startSimulator({ token: DEMO_TOKEN });
    configured = withBaseUrl(configured, simulator.url);
    logger.info({ simulator: simulator.url }, 'demo mode: polling the built-in Wolkvox simulator');
  }
  let shard = config.shard ?? SINGLE_SHARD;
  /** The accounts this process polls: its shard's share (spec: Scaling out). */
  let accounts: readonly AccountConfig[] = accountsOfShard(configured, shard);
  if (shard.total > 1) logger.info({ shard: shard.index, shards: shard.total, accounts: accounts.length, configured: configured.length }, 'polling this shard\'s accounts only');
  // Quota advice is about Wolkvox; the simulator has none.
  if (!config.demo) for (const warning of planWarnings(accounts)) logger.warn(warning);

  const cache = createSnapshotCache();
  const counters = createCounterStore();
  const metrics = createMetrics({ cache, counters, clock, accounts: () => accounts, build, shard: () => shard });
  const scrape = createScrapeHandler({
    exporter: metrics,
    runtime: createRuntimeMetrics(),
    now: () => clock.now(),
    contentType: EXPOSITION_CONTENT_TYPE,
    cacheResponses: env[RESPONSE_CACHE_ENV] !== 'off',
  });
  const callsToday = createCallsToday();
  callsToday.sync(accounts);
  const poller = createPoller({
    accounts,
    counters,
    ...(config.maxInFlightPerOrigin !== undefined ? { maxInFlightPerOrigin: config.maxInFlightPerOrigin } : {}),
    clientFor: (account) =>
      createWolkvoxClient({ baseUrl: account.baseUrl, token: account.token, timeoutMs: account.timeoutMs }),
    cache,
    clock,
    logger,
    onRequest: (account, outcome, seconds) => {
      metrics.recordRequest(account, outcome, seconds);
      callsToday.record(account, outcome, clock.now());
    },
  });

  // spec: SIGHUP and POST /-/reload re-read the config; a bad file is logged and the old config keeps running.
  const reload = async () => {
    try {
      const loaded = loadConfig({ settings: exporterSettings(argv, env), env, readFile: readUtf8 });
      const nextConfigured = simulator ? withBaseUrl(loaded.accounts, simulator.url) : loaded.accounts;
      const nextShard = loaded.shard ?? SINGLE_SHARD;
      const next = accountsOfShard(nextConfigured, nextShard);
      poller.update(next, {
        ...(loaded.maxInFlightPerOrigin !== undefined ? { maxInFlightPerOrigin: loaded.maxInFlightPerOrigin } : {}),
        handedOver: handedOver(configured, accounts, next),
      });
      configured = nextConfigured;
      accounts = next;
      if (nextShard.index !== shard.index || nextShard.total !== shard.total) {
        logger.info({ shard: nextShard.index, shards: nextShard.total, was: `${shard.index}/${shard.total}`, accounts: next.length }, 'resharded');
      }
      shard = nextShard;
      metrics.syncAccounts(next);
      callsToday.sync(next);
      metrics.recordReload(true, clock.now());
      if (!config.demo) for (const warning of planWarnings(next)) logger.warn(warning);
      logger.info({ accounts: next.map((a) => a.name) }, 'configuration reloaded');
    } catch (error) {
      metrics.recordReload(false, clock.now());
      logger.error({ err: (error as Error).message }, 'configuration reload failed; keeping the running configuration');
      throw error;
    }
  };

  const app = createApp({
    scrape,
    telemetryPath: config.web.telemetryPath,
    version: build.version,
    isReady: () => poller.ready(),
    status: () =>
      buildStatus({
        nowMs: clock.now(),
        build,
        ready: poller.ready(),
        ...(shard.total > 1 ? { shard } : {}),
        accounts,
        windows: cache.records(),
        counters: counters.view(),
        nextPollAt: poller.nextPollAt,
        quotaPausedUntil: poller.quotaPausedUntil,
        callsToday: callsToday.of,
      }),
    ...(config.web.enableLifecycle ? { reload } : {}),
    ...(web ? { guard: web.guard } : {}),
    onError: (error) => logger.error({ err: (error as Error)?.message ?? String(error) }, 'HTTP route failed'),
  });
  const server = web ? web.createServer(app, logger, clock) : createHttpServer(app);
  let address: AddressInfo;
  try {
    address = await listen(server, config);
  } catch (error) {
    await simulator?.close();
    throw error;
  }
  logger.info(
    { address: address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`, version: build.version, accounts: accounts.map((a) => a.name), tls: web?.tls ?? false },
    'listening',
  );
  poller.start();

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      logger.info('shutting down');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Finish scrapes in flight, but do not wait on idle keep-alive connections.
      server.closeIdleConnections();
      await poller.stop();
      await closed;
      // Ends the bcrypt worker thread of basic auth, if one was started.
      await web?.guard.close();
      await simulator?.close();
    })();
    return stopping;
  };

  return { address, reload, shutdown };
}

/** Runs the binary; resolves with the exit status. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, start: BinaryStart = {}): Promise<number> {
  let config: Config;
  try {
    const command = parseCommandLine(argv, env);
    if (command.kind === 'help') {
      process.stdout.write(helpText(readBuildInfo().version, command.command));
      return 0;
    }
    if (command.kind === 'version') {
      process.stdout.write(versionText(readBuildInfo()));
      return 0;
    }
    if (command.command === 'healthcheck') return await runHealthcheck(argv.slice(1), env);
    if (command.command === 'backfill') {
      const { backfillCommand } = await import('./backfill/command.js');
      return await backfillCommand({
        settings: command.settings,
        env,
        readFile: readUtf8,
        clock: systemClock,
        clientFor: (account) => createWolkvoxClient({ baseUrl: account.baseUrl, token: account.token, timeoutMs: account.timeoutMs }),
        stdout: process.stdout,
        stderr: process.stderr,
      });
    }
    config = loadConfig({ settings: command.settings, env, readFile: readUtf8 });
  } catch (error) {
    if (argv[0] === 'healthcheck') {
      // A bad healthcheck flag: unhealthy (1), not Docker's reserved 2.
      process.stderr.write(`unhealthy: ${(error as Error).message}\n`);
      return 1;
    }
    return configFailure(error);
  }

  const logger = createLogger(config.log);
  if (start.codeCache) logger.debug({ codeCache: start.codeCache }, CODE_CACHE_MESSAGES[start.codeCache]);
  // Installed before start-up: without a handler, a SIGHUP would end the process.
  let exporter: RunningExporter | undefined;
  process.on('SIGHUP', () => {
    if (!exporter) {
      logger.warn('SIGHUP received while starting; ignored');
      return;
    }
    exporter.reload().catch(() => {
      // reload() has logged why; the running config stays.
    });
  });
  let running: RunningExporter;
  try {
    running = await startExporter({ config, argv, env, logger });
    exporter = running;
  } catch (error) {
    if (error instanceof ConfigError) return configFailure(error);
    logger.error({ err: (error as Error).message }, 'failed to start');
    return 1;
  }

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'received signal');
      const timer = setTimeout(() => {
        logger.warn('shutdown took too long; exiting');
        resolve(0);
      }, SHUTDOWN_GRACE_MS);
      timer.unref();
      void running.shutdown().then(() => {
        clearTimeout(timer);
        resolve(0);
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** Docker reads exit status 1 as unhealthy and reserves 2, so the healthcheck exits 0 or 1 only. */
async function runHealthcheck(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { exporterArgvOfPidOne, healthcheck } = await import('./healthcheck.js');
  const result = await healthcheck({ argv, env, readFile: readUtf8, exporterArgv: () => exporterArgvOfPidOne() });
  (result.healthy ? process.stdout : process.stderr).write(`${result.message}\n`);
  return result.healthy ? 0 : 1;
}

function configFailure(error: unknown): number {
  if (error instanceof ConfigError) {
    // The one console line of the project (style: Avoid): exit 2 with the key, no stack trace.
    console.error(`wolkvox-exporter: error: ${error.message}`);
    return 2;
  }
  console.error(`wolkvox-exporter: error: ${(error as Error).message}`);
  return 1;
}

/** What became of the V8 code cache at this start (src/bin.ts). */
export type CodeCacheUse = 'used' | 'rejected' | 'missing';

/** How src/bin.ts started the exporter; nothing when this module runs by itself (under tsx). */
export type BinaryStart = { codeCache?: CodeCacheUse };

const CODE_CACHE_MESSAGES: Record<CodeCacheUse, string> = {
  used: 'started from the V8 code cache of the build',
  // V8 accepts a cache only from the same Node.js build run with the same V8 flags (the #! line's).
  rejected: 'V8 rejected the code cache of the build (another Node.js build or other V8 flags); compiled without it',
  missing: 'no V8 code cache beside dist/exporter.cjs; compiled without it',
};

/** Runs the command line of this process and exits with its status: the whole life of the binary. */
export function runAsBinary(start: BinaryStart = {}): void {
  main(process.argv.slice(2), process.env, start).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`wolkvox-exporter: error: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}

// `tsx src/main.ts` runs the exporter from source; a test that imports startExporter does not.
function invokedAsBinary(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (invokedAsBinary()) runAsBinary();
