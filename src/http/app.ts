// The HTTP handler: status page and its JSON and files, metrics, health, readiness and reload, behind the optional guard. It never listens itself.
//
// A dozen lines of routing on node:http instead of express: express cost 14 MB of RSS and about
// 130 ms of start-up for these six routes (README: Performance), against a 128Mi container and a
// 300 ms cold start.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StatusReport } from '../status/report.js';
import { sendText } from './respond.js';
import type { ScrapeHandler } from './scrape.js';
import { STATIC_ASSETS, sendAsset } from './static/assets.js';
import { STATUS_PAGE_CSP, refreshFromQuery, statusPageParts } from './status-page.js';
import { sendPieces } from './stream-body.js';

/** Runs before every route (the web config's rate limit, headers and basic auth); calls next() to let the request through. */
export type Guard = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export type AppDeps = {
  /** Answers GET on the telemetry path (http/scrape.ts). */
  scrape: ScrapeHandler;
  telemetryPath: string;
  version: string;
  isReady: () => boolean;
  /** What the status page and /api/v1/status show; made on each request from the cache, never by calling Wolkvox. */
  status: () => StatusReport;
  /** Present with --web.enable-lifecycle: re-reads the config; rejects with a message when the new file is bad. */
  reload?: () => Promise<void>;
  guard?: Guard;
  /** Told about an error in a route (main logs it); the client only learns that it failed. */
  onError?: (error: unknown) => void;
};

/** Live data, possibly behind basic auth: no cache keeps it, and no page elsewhere may frame it or learn its URL. */
const LIVE_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
} as const;

const PAGE_HEADERS = {
  ...LIVE_HEADERS,
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': STATUS_PAGE_CSP,
  'X-Frame-Options': 'DENY',
} as const;

const JSON_HEADERS = { ...LIVE_HEADERS, 'Content-Type': 'application/json; charset=utf-8' } as const;

export function createApp(deps: AppDeps): RequestListener {
  const { reload } = deps;

  const fail = (res: ServerResponse, error: unknown) => {
    deps.onError?.(error);
    // A route that fails answers one plain line: no stack trace, no error text.
    if (res.headersSent) res.destroy();
    else sendText(res, 500, 'internal server error\n');
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const query = queryAt === -1 ? '' : url.slice(queryAt + 1);
    const get = req.method === 'GET' || req.method === 'HEAD';
    const asset = STATIC_ASSETS.get(path);
    if (get && path === deps.telemetryPath) {
      await deps.scrape(req, res);
    } else if (get && path === '/') {
      const refreshSeconds = refreshFromQuery(query);
      const options = {
        version: deps.version,
        telemetryPath: deps.telemetryPath,
        lifecycleEnabled: reload !== undefined,
        ...(refreshSeconds !== undefined ? { refreshSeconds } : {}),
      };
      await sendPieces(req, res, PAGE_HEADERS, statusPageParts(deps.status(), options));
    } else if (get && path === '/api/v1/status') {
      await sendPieces(req, res, JSON_HEADERS, [`${JSON.stringify(deps.status())}\n`]);
    } else if (get && asset) {
      sendAsset(req, res, asset);
    } else if (get && path === '/healthz') {
      sendText(res, 200, 'OK\n');
    } else if (get && path === '/readyz') {
      if (deps.isReady()) sendText(res, 200, 'ready\n');
      else sendText(res, 503, 'not ready: waiting for the first poll of every window\n');
    } else if (req.method === 'POST' && path === '/-/reload') {
      if (!reload) {
        // As Prometheus does: the route exists, but says how to turn it on.
        sendText(res, 403, 'lifecycle APIs are not enabled: start with --web.enable-lifecycle\n');
        return;
      }
      try {
        await reload();
        sendText(res, 200, 'config reloaded\n');
      } catch (error) {
        sendText(res, 500, `failed to reload config: ${(error as Error).message}\n`);
      }
    } else {
      sendText(res, 404, 'not found\n');
    }
  };

  return (req, res) => {
    const next = (error?: unknown) => {
      if (error !== undefined) fail(res, error);
      else route(req, res).catch((thrown: unknown) => fail(res, thrown));
    };
    if (deps.guard) deps.guard(req, res, next);
    else next();
  };
}
