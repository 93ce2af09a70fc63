// The files under /static/: the status page's stylesheet and script, kept as strings in the bundle and served with validators.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CSS } from './status-css.js';
import { STATUS_JS } from './status-js.js';

export type StaticAsset = {
  body: Buffer;
  contentType: string;
  /** 16 hex digits of the content's SHA-256: the `v` query of the page's links and the ETag. */
  hash: string;
};

function asset(text: string, contentType: string): StaticAsset {
  const body = Buffer.from(text, 'utf8');
  return { body, contentType, hash: createHash('sha256').update(body).digest('hex').slice(0, 16) };
}

export const STATIC_ASSETS: ReadonlyMap<string, StaticAsset> = new Map([
  ['/static/status.css', asset(STATUS_CSS, 'text/css; charset=utf-8')],
  ['/static/status.js', asset(STATUS_JS, 'text/javascript; charset=utf-8')],
]);

/**
 * The URL the page links for an asset: absolute, like its links to /metrics and the health
 * endpoints; its `v` names this content, so it may be cached for good.
 */
export function assetHref(path: '/static/status.css' | '/static/status.js'): string {
  const found = STATIC_ASSETS.get(path);
  if (!found) throw new Error(`no static asset ${path}`);
  return `${path}?v=${found.hash}`;
}

/**
 * Answers GET or HEAD for an asset. A request naming the current content (`?v=<hash>`) may be
 * cached for a year: a new build links a new hash. Any other is revalidated every time (304 on a
 * matching ETag), so a page from an older build never keeps a stale file.
 */
export function sendAsset(req: IncomingMessage, res: ServerResponse, found: StaticAsset): void {
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  const etag = `"${found.hash}"`;
  const headers: Record<string, string> = {
    'Content-Type': found.contentType,
    'X-Content-Type-Options': 'nosniff',
    ETag: etag,
    // Behind basic auth the files are as public as the exporter's source: a shared cache may keep them.
    'Cache-Control': query.get('v') === found.hash ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  const matches = (req.headers['if-none-match'] ?? '').split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
  if (matches) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': String(found.body.length) });
  res.end(found.body);
}
