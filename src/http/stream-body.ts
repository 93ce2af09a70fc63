// Sending a large generated body (the status page, its JSON) in pieces: gzip when the client takes it, and the event loop let go between pieces.
//
// The page of 1,000 accounts with 3 windows each is about 4 MB of HTML and 65 ms of rendering.
// Rendered in one go, that would hold up every scrape arriving meanwhile; rendered account by
// account into ~64 KB writes with a turn of the event loop between them, a scrape waits for one
// batch at most (a few milliseconds). gzip, in zlib's thread pool, makes it some 40 times smaller.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import { acceptsGzip } from './scrape.js';

/** Pieces are gathered up to this many bytes before a write and a turn of the event loop. */
const BATCH_BYTES = 64 * 1024;

/** Resolves once `out` takes writes again or the response is gone; leaves no listener behind either way. */
function drainedOrClosed(out: Writable, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      res.off('close', done);
      resolve();
    };
    out.once('drain', done);
    res.once('close', done);
  });
}

/**
 * Answers 200 with `headers` and the concatenation of `pieces`, which are produced (rendered) only as
 * they are sent. HEAD gets the headers alone, and nothing is rendered. A client that goes away stops
 * the rendering.
 */
export async function sendPieces(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>, pieces: Iterable<string>): Promise<void> {
  if (req.method === 'HEAD') {
    res.writeHead(200, headers);
    res.end();
    return;
  }
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  res.writeHead(200, { ...headers, Vary: 'Accept-Encoding', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
  const zip = gzip ? createGzip() : undefined;
  const out: Writable = zip ?? res;
  // A client that leaves mid-body fails the pipeline; that is no error of the route.
  const piped = zip
    ? pipeline(zip, res).catch((error: unknown) => {
        if (!res.destroyed) throw error;
      })
    : undefined;
  let batch: string[] = [];
  let size = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const chunk = batch.join('');
    batch = [];
    size = 0;
    if (!out.write(chunk)) await drainedOrClosed(out, res);
    await nextTurn();
  };
  for (const piece of pieces) {
    if (res.destroyed) break;
    batch.push(piece);
    size += piece.length;
    if (size >= BATCH_BYTES) await flush();
  }
  if (res.destroyed) {
    out.destroy();
    return;
  }
  await flush();
  out.end();
  await piped;
}
