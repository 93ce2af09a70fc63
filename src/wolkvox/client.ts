// The chat_15 HTTP client: builds the request, enforces timeout and body size, and classifies the answer.
import type { Agent } from 'node:http';
import { inspect } from 'node:util';
import type { Secret } from '../config/secret.js';
import { get } from './http-get.js';
import { WolkvoxError } from './outcome.js';
import { classify, type Chat15Result } from './response.js';
import type { WindowBounds } from './window.js';

/** Bodies past this are not chat_15 answers (one summary row is ~200 bytes); stop reading early. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export type WolkvoxClientOptions = {
  /** Origin such as https://wv0032.wolkvox.com, without a trailing slash. */
  baseUrl: string;
  token: Secret;
  timeoutMs: number;
  /** node:http(s) agent for this client's calls (tests pass one with their own lookup or CA); shared keep-alive agents by default. */
  agent?: Agent;
  maxBodyBytes?: number;
};

export type WolkvoxClient = {
  /** One call. Resolves with counts or no_data; rejects only with WolkvoxError. */
  fetchChat15(window: Pick<WindowBounds, 'dateIni' | 'dateEnd'>, signal?: AbortSignal): Promise<Chat15Result>;
};

export const REPORT_PATH = '/api/v2/reports_manager.php';

/** The report's URL for a window, as a URL object: the transport takes it as it is, with no second parse. */
export function chat15Url(baseUrl: string, window: Pick<WindowBounds, 'dateIni' | 'dateEnd'>): URL {
  // spec: `{base}/api/v2/...`: a proxy's path prefix (https://proxy.example/wolkvox) is kept, not replaced.
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}${REPORT_PATH}`);
  url.searchParams.set('api', 'chat_15');
  url.searchParams.set('date_ini', window.dateIni);
  url.searchParams.set('date_end', window.dateEnd);
  return url;
}

/**
 * The error to keep as `cause`. An error that quotes the request, headers included (a proxy's or an HTTP library's
 * may), is replaced by a copy with the token blanked out.
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

/** Maps what the transport or the abort machinery threw to a failure kind, with a message free of secrets. */
export function transportFailure(error: unknown, timedOut: boolean, token: string): WolkvoxError {
  if (error instanceof WolkvoxError) return error;
  const cause = safeCause(error, token);
  if (timedOut) return new WolkvoxError('timeout', 'no complete answer within the timeout', { cause });
  // Anything may be thrown, null included.
  const thrown = (error ?? {}) as { code?: unknown; name?: unknown; cause?: { code?: unknown } | null };
  const label = [thrown.code, (thrown.cause ?? {}).code, thrown.name].find((c) => typeof c === 'string') ?? 'error';
  return new WolkvoxError('network_error', `request failed: ${String(label)}`, { cause });
}

/** The body with every copy of the token replaced, before any part of it can reach an error message. */
export function scrubToken(text: string, token: string): string {
  return token !== '' && text.includes(token) ? text.split(token).join('[REDACTED]') : text;
}

export function createWolkvoxClient(options: WolkvoxClientOptions): WolkvoxClient {
  const { baseUrl, token, timeoutMs, agent } = options;
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
        const answer = await get(chat15Url(baseUrl, window), {
          headers: { 'wolkvox-token': token.reveal(), accept: 'application/json' },
          signal: cancelled.signal,
          maxBodyBytes,
          ...(agent ? { agent } : {}),
        });
        // A server may echo the token back in `error`, `msg` or a field; messages quote those.
        return classify(answer.status, scrubToken(answer.text, token.reveal()));
      } catch (error) {
        throw transportFailure(error, timedOut, token.reveal());
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onCallerAbort);
      }
    },
  };
}
