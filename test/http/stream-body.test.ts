// Sending a generated body in pieces: identity or gzip, HEAD without rendering, the event loop let go, and a client that leaves.
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { sendPieces } from '../../src/http/stream-body.js';

const HEADERS = { 'Content-Type': 'text/plain; charset=utf-8' };

let servers: Array<ReturnType<typeof createServer>> = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A server whose one route sends `pieces()`; `done` settles when sendPieces does. */
async function serve(pieces: () => Iterable<string>): Promise<{ port: number; done: Promise<PromiseSettledResult<void>[]> }> {
  const sent: Array<Promise<void>> = [];
  let settle!: () => void;
  const first = new Promise<void>((resolve) => (settle = resolve));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    sent.push(sendPieces(req, res, HEADERS, pieces()));
    settle();
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, done: first.then(() => Promise.allSettled(sent)) };
}

type Raw = { status: number; headers: IncomingMessage['headers']; body: Buffer };

function fetchRaw(port: number, options: { method?: string; gzip?: boolean } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: options.method ?? 'GET', agent: false, headers: options.gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const PIECES = Array.from({ length: 300 }, (_, i) => `piece ${i} ${'x'.repeat(1000)}\n`);

describe('sendPieces', () => {
  it('sends the pieces as they are, chunked, to a client that does not take gzip', async () => {
    const { port, done } = await serve(() => PIECES);
    const reply = await fetchRaw(port);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(reply.headers['content-encoding']).toBeUndefined();
    expect(reply.headers['transfer-encoding']).toBe('chunked');
    expect(reply.headers.vary).toBe('Accept-Encoding');
    expect(reply.body.toString('utf8')).toBe(PIECES.join(''));
    expect(await done).toEqual([{ status: 'fulfilled', value: undefined }]);
  });

  it('gzips them for a client that takes gzip', async () => {
    const { port } = await serve(() => PIECES);
    const reply = await fetchRaw(port, { gzip: true });
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(reply.body.length).toBeLessThan(PIECES.join('').length / 10);
    expect(gunzipSync(reply.body).toString('utf8')).toBe(PIECES.join(''));
  });

  it('answers HEAD with the headers alone, and renders nothing', async () => {
    let rendered = 0;
    const { port, done } = await serve(function* () {
      for (const piece of PIECES) {
        rendered++;
        yield piece;
      }
    });
    const reply = await fetchRaw(port, { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(reply.body.length).toBe(0);
    await done;
    expect(rendered).toBe(0);
  });

  it('lets the event loop run between batches, so other requests are not held up by a large body', async () => {
    const events: string[] = [];
    const { port } = await serve(function* () {
      for (const [i, piece] of PIECES.entries()) {
        // The first piece is rendered on the request's turn; a check is queued for the next one.
        if (i === 0) setImmediate(() => events.push('other work'));
        events.push(`piece ${i}`);
        yield piece;
      }
    });
    await fetchRaw(port);
    const other = events.indexOf('other work');
    expect(other).toBeGreaterThan(0);
    // It ran after the first batch (about 64 KB: 64 pieces of 1 KB), not after all 300.
    expect(other).toBeLessThan(100);
  });

  it('stops rendering when the client goes away, and settles without an error', async () => {
    let rendered = 0;
    const many = 20_000;
    const { port, done } = await serve(function* () {
      for (let i = 0; i < many; i++) {
        rendered++;
        yield `${i} ${'y'.repeat(1000)}\n`;
      }
    });
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false, headers: { 'accept-encoding': 'gzip' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.end();
    });
    expect(await done).toEqual([{ status: 'fulfilled', value: undefined }]);
    expect(rendered).toBeLessThan(many);
  });
});
