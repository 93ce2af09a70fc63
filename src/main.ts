#!/usr/bin/env node
// The wolkvox-exporter binary: builds everything from the Config, serves HTTP, handles signals and exit codes.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { backfillCommand } from './backfill/command.js';
import { helpText, versionText } from './cli.js';
import { systemClock, type Clock } from './clock.js';
import { ConfigError } from './config/error.js';
import { exporterSettings, parseCommandLine } from './config/flags.js';
import { DEMO_TOKEN, loadConfig } from './config/load.js';
import { planWarnings } from './config/plan.js';
import { readUtf8 } from './config/read-file.js';
import type { AccountConfig, Config } from './config/schema.js';
import { createApp } from './http/app.js';
import { webConfigMiddleware } from './http/guard.js';
import { createWebServer, reportTlsClientErrors } from './http/tls.js';
import { loadWebConfig } from './http/web-config.js';
import { exporterArgvOfPidOne, healthcheck } from './healthcheck.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics/metrics.js';
import { createSnapshotCache } from './poller/cache.js';
import { createCounterStore } from './poller/counters.js';
import { createPoller } from './poller/poller.js';
import { startSimulator, type Simulator } from './simulator/server.js';
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

function withBaseUrl(accounts: readonly AccountConfig[], baseUrl: string): AccountConfig[] {
  return accounts.map((account) => ({ ...account, baseUrl }));
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

/** Starts the exporter for a loaded config; resolves once it listens and polling has begun. */
export async function startExporter({ config, argv, env, logger, clock = systemClock }: StartOptions): Promise<RunningExporter> {
  const build = readBuildInfo();
  const webConfig = config.web.configFile ? await loadWebConfig(config.web.configFile) : undefined;

  let simulator: Simulator | undefined;
  let accounts: readonly AccountConfig[] = config.accounts;
  if (config.demo) {
    simulator = await startSimulator({ token: DEMO_TOKEN });
    accounts = withBaseUrl(accounts, simulator.url);
    logger.info({ simulator: simulator.url }, 'demo mode: polling the built-in Wolkvox simulator');
  }
  // Quota advice is about Wolkvox; the simulator has none.
  if (!config.demo) for (const warning of planWarnings(accounts)) logger.warn(warning);

  const registry = new Registry();
  const cache = createSnapshotCache();
  const counters = createCounterStore();
  const metrics = createMetrics({ registry, cache, counters, clock, accounts: () => accounts, build });
  const poller = createPoller({
    accounts,
    counters,
    clientFor: (account) =>
      createWolkvoxClient({ baseUrl: account.baseUrl, token: account.token, timeoutMs: account.timeoutMs }),
    cache,
    clock,
    logger,
    onRequest: metrics.recordRequest,
  });

  // spec: SIGHUP and POST /-/reload re-read the config; a bad file is logged and the old config keeps running.
  const reload = async () => {
    try {
      const loaded = loadConfig({ settings: exporterSettings(argv, env), env, readFile: readUtf8 });
      const next = simulator ? withBaseUrl(loaded.accounts, simulator.url) : loaded.accounts;
      poller.update(next);
      accounts = next;
      metrics.syncAccounts(next);
      metrics.recordReload(true, clock.now());
      if (!config.demo) for (const warning of planWarnings(next)) logger.warn(warning);
      logger.info({ accounts: next.map((a) => a.name) }, 'configuration reloaded');
    } catch (error) {
      metrics.recordReload(false, clock.now());
      logger.error({ err: (error as Error).message }, 'configuration reload failed; keeping the running configuration');
      throw error;
    }
  };

  // Holds the bcrypt worker thread: shutdown() must close it.
  const guard = webConfig ? webConfigMiddleware(webConfig) : undefined;
  const app = createApp({
    registry: metrics.exposition,
    telemetryPath: config.web.telemetryPath,
    version: build.version,
    isReady: () => poller.ready(),
    accountNames: () => accounts.map((account) => account.name),
    ...(config.web.enableLifecycle ? { reload } : {}),
    ...(guard ? { guard } : {}),
    onError: (error) => logger.error({ err: (error as Error)?.message ?? String(error) }, 'HTTP route failed'),
  });
  const server = createWebServer(app, webConfig);
  // Anyone can fail a handshake: one warning per interval, with a count of those left out.
  reportTlsClientErrors(server, logger, clock);
  let address: AddressInfo;
  try {
    address = await listen(server, config);
  } catch (error) {
    await simulator?.close();
    throw error;
  }
  logger.info(
    { address: address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`, version: build.version, accounts: accounts.map((a) => a.name), tls: Boolean(webConfig?.tls) },
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
      await guard?.close();
      await simulator?.close();
    })();
    return stopping;
  };

  return { address, reload, shutdown };
}

/** Runs the binary; resolves with the exit status. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
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

// Run only as the binary, not when a test imports startExporter.
function invokedAsBinary(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (invokedAsBinary()) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`wolkvox-exporter: error: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
