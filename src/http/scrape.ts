// Serving /metrics: the exporter's series cached and compressed once per change, the runtime series at most once a second, gzip as one stream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw } from 'node:zlib';

const deflateRawAsync = promisify(deflateRaw);

/** The gzip header: deflate, no name, no mtime, from a Unix system (RFC 1952). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

/** A part of the body, and its compressed form, made once and served to every scrape until it changes. */
type Encoded = {
  identity: Buffer;
  crc: number;
  /** Raw deflate ending at a byte boundary (full flush): more deflate blocks may follow it. */
  deflated(): Promise<Buffer>;
};

function encode(text: string | readonly Buffer[], last: boolean): Encoded {
  const identity = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.concat(text);
  let deflated: Promise<Buffer> | undefined;
  return {
    identity,
    crc: crc32(identity),
    // Compressed on the first gzip scrape only, in zlib's thread pool, off the event loop.
    deflated: () => (deflated ??= deflateRawAsync(identity, { finishFlush: last ? constants.Z_FINISH : constants.Z_FULL_FLUSH })),
  };
}

/**
 * One gzip member holding both parts: the large part's deflate blocks, cut at a full flush, then the
 * small part's, the last one final, then the CRC-32 and length of the whole (RFC 1952). Every gzip
 * reader takes it, and the large part is compressed once per change, not per scrape.
 */
async function gzipOf(large: Encoded, small: Encoded): Promise<Buffer> {
  const [head, tail] = await Promise.all([large.deflated(), small.deflated()]);
  const trailer = Buffer.alloc(8);
  // An empty part leaves the CRC as it is. Node's crc32() cannot be asked that: once zlib has read an empty Buffer
  // (deflated() above), Node hands zlib a null pointer for it, and zlib's crc32 answers a null buffer with 0.
  trailer.writeUInt32LE(small.identity.length === 0 ? large.crc : crc32(small.identity, large.crc), 0);
  trailer.writeUInt32LE((large.identity.length + small.identity.length) % 2 ** 32, 4);
  return Buffer.concat([GZIP_HEADER, head, tail, trailer]);
}

/** True when the client takes gzip: listed (or `*`) with a q-value above 0, as Prometheus sends it. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star = false;
  for (const part of header.split(',')) {
    const [token = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (token.trim() === 'gzip') return weight > 0;
    if (token.trim() === '*') star = weight > 0;
  }
  return star;
}

export type ScrapeSources = {
  /** The exporter's own series: text, and a key that changes whenever the text would. */
  exporter: { generation(nowMs: number): string; render(nowMs: number): Promise<string | Buffer[]> };
  /** process_* and nodejs_*: they change all the time, so they are refreshed at most every runtimeMaxAgeMs. */
  runtime: { text(): Promise<string> };
  /** Wall-clock milliseconds for the exporter's generation (staleness is about wall time). */
  now: () => number;
  /** Monotonic milliseconds for the runtime part's age. */
  monotonicNow?: () => number;
  runtimeMaxAgeMs?: number;
  /** false re-renders and re-compresses on every scrape: what a scrape costs when values changed since the last one. */
  cacheResponses?: boolean;
  contentType: string;
};

export type ScrapeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Answers a scrape from cached parts. Scrapes that arrive while a part is being rendered wait for
 * that one render instead of starting their own.
 */
export function createScrapeHandler(sources: ScrapeSources): ScrapeHandler {
  const monotonicNow = sources.monotonicNow ?? (() => performance.now());
  const runtimeMaxAgeMs = sources.runtimeMaxAgeMs ?? 1_000;
  const cacheResponses = sources.cacheResponses ?? true;
  let exporterPart: { generation: string; encoded: Promise<Encoded> } | undefined;
  let runtimePart: { at: number; encoded: Promise<Encoded> } | undefined;
  /** The gzip body of the last pair of parts: both change rarely, so most gzip scrapes reuse it. */
  let gzipped: { large: Encoded; small: Encoded; body: Promise<Buffer> } | undefined;
  const gzipBody = (large: Encoded, small: Encoded): Promise<Buffer> => {
    if (gzipped?.large !== large || gzipped.small !== small) gzipped = { large, small, body: gzipOf(large, small) };
    return gzipped.body;
  };

  const exporter = (): Promise<Encoded> => {
    const now = sources.now();
    const generation = sources.exporter.generation(now);
    if (!cacheResponses || exporterPart?.generation !== generation) {
      const encoded = sources.exporter.render(now).then((text) => encode(text, false));
      exporterPart = { generation, encoded };
      // A failed render must not be served again: the next scrape tries anew.
      encoded.catch(() => {
        if (exporterPart?.encoded === encoded) exporterPart = undefined;
      });
    }
    return exporterPart.encoded;
  };

  const runtime = (): Promise<Encoded> => {
    const at = monotonicNow();
    if (!cacheResponses || !runtimePart || at - runtimePart.at >= runtimeMaxAgeMs) {
      const encoded = sources.runtime.text().then((text) => encode(text, true));
      runtimePart = { at, encoded };
      encoded.catch(() => {
        if (runtimePart?.encoded === encoded) runtimePart = undefined;
      });
    }
    return runtimePart.encoded;
  };

  return async (req, res) => {
    const [large, small] = await Promise.all([exporter(), runtime()]);
    const headers: Record<string, string> = { 'Content-Type': sources.contentType, Vary: 'Accept-Encoding' };
    let body: Buffer[];
    if (acceptsGzip(req.headers['accept-encoding'])) {
      body = [await gzipBody(large, small)];
      headers['Content-Encoding'] = 'gzip';
    } else {
      body = [large.identity, small.identity];
    }
    headers['Content-Length'] = String(body.reduce((sum, part) => sum + part.length, 0));
    res.writeHead(200, headers);
    for (const part of body) res.write(part);
    res.end();
  };
}
