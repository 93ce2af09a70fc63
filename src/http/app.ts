// The express app: landing page, metrics, health, readiness and reload routes. It never listens itself.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Exposition } from '../metrics/metrics.js';
import { landingPage } from './landing.js';

const gzipAsync = promisify(gzip);

export type AppDeps = {
  /** Renders /metrics: metrics.exposition, or any prom-client Registry. */
  registry: Exposition;
  telemetryPath: string;
  version: string;
  isReady: () => boolean;
  accountNames: () => readonly string[];
  /** Present with --web.enable-lifecycle: re-reads the config; rejects with a message when the new file is bad. */
  reload?: () => Promise<void>;
  /** Runs before every route, e.g. the web config's basic auth and headers. */
  guard?: RequestHandler;
  /** Told about an error in a route (main logs it); the client only learns that it failed. */
  onError?: (error: unknown) => void;
};

export function createApp(deps: AppDeps): Express {
  const app = express();
  // Whatever NODE_ENV says: outside production mode express sends stack traces to clients.
  app.set('env', 'production');
  app.disable('x-powered-by');
  app.set('etag', false);
  if (deps.guard) app.use(deps.guard);

  app.get('/', (_req, res) => {
    res.type('html').send(
      landingPage({
        version: deps.version,
        telemetryPath: deps.telemetryPath,
        lifecycleEnabled: deps.reload !== undefined,
        accounts: deps.accountNames(),
      }),
    );
  });

  app.get(deps.telemetryPath, async (req, res, next) => {
    try {
      const { registry } = deps;
      res.set('Content-Type', registry.contentType);
      res.vary('Accept-Encoding');
      const chunks = registry.metricsChunks ? await registry.metricsChunks() : [Buffer.from(await registry.metrics())];
      // Prometheus asks for gzip, as Go exporters' promhttp answers it; other clients get plain text.
      if (req.acceptsEncodings('gzip', 'identity') === 'gzip') {
        const body = await gzipAsync(Buffer.concat(chunks));
        res.set('Content-Encoding', 'gzip').set('Content-Length', String(body.length)).end(body);
        return;
      }
      res.set('Content-Length', String(chunks.reduce((sum, chunk) => sum + chunk.length, 0)));
      for (const chunk of chunks) res.write(chunk);
      res.end();
    } catch (error) {
      next(error);
    }
  });

  app.get('/healthz', (_req, res) => {
    res.type('text').send('OK\n');
  });

  app.get('/readyz', (_req, res) => {
    if (deps.isReady()) res.type('text').send('ready\n');
    else res.status(503).type('text').send('not ready: waiting for the first poll of every window\n');
  });

  const { reload } = deps;
  if (reload) {
    app.post('/-/reload', async (_req, res) => {
      try {
        await reload();
        res.type('text').send('config reloaded\n');
      } catch (error) {
        res.status(500).type('text').send(`failed to reload config: ${(error as Error).message}\n`);
      }
    });
  } else {
    // As Prometheus does: the route exists, but says how to turn it on.
    app.post('/-/reload', (_req, res) => {
      res.status(403).type('text').send('lifecycle APIs are not enabled: start with --web.enable-lifecycle\n');
    });
  }

  app.use((_req, res) => {
    res.status(404).type('text').send('not found\n');
  });

  // A route that fails answers 500 with one plain line: no stack trace, no error text.
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    deps.onError?.(error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(500).type('text').send('internal server error\n');
  };
  app.use(onError);

  return app;
}
