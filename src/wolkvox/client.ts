// The chat_15 HTTP client: builds the request, enforces timeout and body size, and classifies the answer.
import { inspect } from 'node:util';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
import type { Secret } from '../config/secret.js';
import { WolkvoxError } from './outcome.js';
import { classify, type Chat15Result } from './response.js';
import type { WindowBounds } from './window.js';

// undici is imported with the first call, after the exporter already listens: it is the heaviest
// module on the way to the first scrape (about 18 MB and 140 ms), and a scrape never needs it.
let undici: Promise<typeof Undici> | undefined;
// undici is CommonJS: Node's import names its exports, a bundle hands over only `default`.
const loadUndici = (): Promise<typeof Undici> =>
  (undici ??= import('undici').then((module) => ((module as unknown as { default?: typeof Undici }).default ?? module)));

/** Bodies past this are not chat_15 answers (one summary row is ~200 bytes); stop reading early. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export type WolkvoxClientOptions = {
  /** Origin such as https://wv0032.wolkvox.com, without a trailing slash. */
  baseUrl: string;
  token: Secret;
  timeoutMs: number;
  /** undici dispatcher for this client's calls (tests pass a MockAgent); never set globally. */
  dispatcher?: Dispatcher;
  maxBodyBytes?: number;
};

export type WolkvoxClient = {
  /** One call. Resolves with counts or no_data; rejects only with WolkvoxError. */
  fetchChat15(window: Pick<WindowBounds, 'dateIni' | 'dateEnd'>, signal?: AbortSignal): Promise<Chat15Result>;
};

export const REPORT_PATH = '/api/v2/reports_manager.php';

export function chat15Url(baseUrl: string, window: Pick<WindowBounds, 'dateIni' | 'dateEnd'>): string {
  // spec: `{base}/api/v2/...`: a proxy's path prefix (https://proxy.example/wolkvox) is kept, not replaced.
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}${REPORT_PATH}`);
  url.searchParams.set('api', 'chat_15');
  url.searchParams.set('date_ini', window.dateIni);
  url.searchParams.set('date_end', window.dateEnd);
  return url.toString();
}

/**
 * The error to keep as `cause`. Some dispatcher errors quote the request, headers included (undici's
 * MockNotMatchedError does): such a cause is replaced by a copy with the token blanked out.
 */
function safeCause(error: unknown, token: string): unknown {
  let text: string;
  try {
    text = `${inspect(error, { depth: 10, showHidden: true })}\n${String((error as Error | undefined)?.stack)}`;
  } catch {
    return undefined;
  }
  if (token === '' || !text.includes(token)) return error;
  const { name, code, message } = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  const copy = new Error(String(message ?? '').split(token).join('[REDACTED]')) as Error & { code?: unknown };
  if (typeof name === 'string') copy.name = name;
  if (typeof code === 'string' || typeof code === 'number') copy.code = code;
  return copy;
}

/** Maps what undici or the abort machinery threw to a failure kind, with a message free of secrets. */
function toWolkvoxError(error: unknown, timedOut: boolean, token: string, undiciErrors: typeof Undici.errors | undefined): WolkvoxError {
  if (error instanceof WolkvoxError) return error;
  const cause = safeCause(error, token);
  if (
    timedOut ||
    (undiciErrors !== undefined &&
      (error instanceof undiciErrors.HeadersTimeoutError ||
        error instanceof undiciErrors.BodyTimeoutError ||
        error instanceof undiciErrors.ConnectTimeoutError))
  ) {
    return new WolkvoxError('timeout', 'no complete answer within the timeout', { cause });
  }
  // A dispatcher may reject with anything, null included.
  const thrown = (error ?? {}) as { code?: unknown; name?: unknown; cause?: { code?: unknown } | null };
  const label = [thrown.code, (thrown.cause ?? {}).code, thrown.name].find((c) => typeof c === 'string') ?? 'error';
  return new WolkvoxError('network_error', `request failed: ${String(label)}`, { cause });
}

/** The body with every copy of the token replaced, before any part of it can reach an error message. */
export function scrubToken(text: string, token: string): string {
  return token !== '' && text.includes(token) ? text.split(token).join('[REDACTED]') : text;
}

async function readCapped(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      throw new WolkvoxError('invalid_response', `body larger than ${maxBytes} bytes; not a chat_15 answer`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createWolkvoxClient(options: WolkvoxClientOptions): WolkvoxClient {
  const { baseUrl, token, timeoutMs, dispatcher } = options;
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;

  return {
    async fetchChat15(window, signal) {
      // One controller for both the timeout and the caller's signal. AbortSignal.any() would leave
      // a listener on the caller's long-lived signal per call until GC; this one is removed below.
      const cancelled = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        cancelled.abort();
      }, timeoutMs);
      const onCallerAbort = () => cancelled.abort();
      signal?.addEventListener('abort', onCallerAbort, { once: true });
      if (signal?.aborted) cancelled.abort();
      try {
        const { request } = await loadUndici();
        const response = await request(chat15Url(baseUrl, window), {
          method: 'GET',
          headers: { 'wolkvox-token': token.reveal(), accept: 'application/json' },
          signal: cancelled.signal,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          ...(dispatcher ? { dispatcher } : {}),
        });
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBodyBytes) {
          response.body.destroy();
          throw new WolkvoxError('invalid_response', `body of ${declared} bytes announced; not a chat_15 answer`, {
            status: response.statusCode,
          });
        }
        let text: string;
        try {
          text = await readCapped(response.body, maxBodyBytes);
        } catch (error) {
          response.body.destroy();
          throw error;
        }
        // A server may echo the token back in `error`, `msg` or a field; messages quote those.
        return classify(response.statusCode, scrubToken(text, token.reveal()));
      } catch (error) {
        throw toWolkvoxError(error, timedOut, token.reveal(), (await loadUndici().catch(() => undefined))?.errors);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onCallerAbort);
      }
    },
  };
}
