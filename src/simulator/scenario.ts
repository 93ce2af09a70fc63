// What the simulated Wolkvox answers in each scenario, written out by hand (never via the exporter's parser).

import { isZero, type Chat15Counts } from './data.js';

export type Scenario =
  | { kind: 'ok' }
  | { kind: 'no_data'; via?: 'status' | 'body' }
  | { kind: 'missing_token' }
  | { kind: 'invalid_token'; status?: 200 | 403 }
  | { kind: 'quota_exceeded' }
  | { kind: 'concurrency_limited' }
  | { kind: 'maintenance' }
  | { kind: 'server_error'; status: 500 | 502 | 503 | 504 }
  | { kind: 'bad_request' }
  | { kind: 'code_in_body'; code: string; error: string }
  | { kind: 'html' }
  | { kind: 'truncated_json' }
  | { kind: 'wrong_shape'; as?: 'object' | 'string' }
  | { kind: 'bad_value'; value: string }
  | { kind: 'huge_body'; bytes: number }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'hang' }
  | { kind: 'reset' };

/** How the server should answer one request. */
export type Reply =
  | { type: 'body'; status: number; contentType: string; body: string }
  | { type: 'stream'; bytes: number }
  | { type: 'hang' }
  | { type: 'reset' };

export const JSON_TYPE = 'application/json';
export const HTML_TYPE = 'text/html; charset=UTF-8';
const TEXT_TYPE = 'text/plain; charset=UTF-8';

// Messages as Wolkvox documents them (wolkvox-api-facts.md: Responses).
export const MESSAGES = {
  noData: 'NO DATA FOUND',
  missingToken: 'PLEASE ENTER THE WOLKVOX-TOKEN',
  invalidToken: 'PLEASE VALIDATE TOKEN',
  quotaExceeded: 'TOKEN LIMIT EXCEEDED',
  parametersRequired: 'SOME PARAMETERS ARE REQUIRED',
  unknownApi: 'THE API YOU WANT TO CONSULT DOES NOT EXIST',
  // Not documented by Wolkvox; worded in the same style.
  endBeforeStart: 'THE FINAL DATE CANNOT BE LESS THAN THE INITIAL DATE',
  rangeTooLong: 'THE MAXIMUM RANGE TO CONSULT IS 31 DAYS',
} as const;

/** The real text names the limit: "(2)" for every token today. */
export function simultaneousMessage(limit: number): string {
  return `EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (${limit})`;
}

/** `{"code":"403","error":"...","msg":null,"data":null}` with the HTTP status equal to the code. */
export function errorReply(status: number, error: string): Reply {
  return { type: 'body', status, contentType: JSON_TYPE, body: errorBody(String(status), error) };
}

function errorBody(code: string, error: string): string {
  return `{"code":${JSON.stringify(code)},"error":${JSON.stringify(error)},"msg":null,"data":null}`;
}

/** Splits each field into `rows` non-negative integers that sum to it exactly; totals per row are that row's parts. */
export function splitRows(counts: Chat15Counts, rows: number): Chat15Counts[] {
  const part = (value: number, i: number): number =>
    Math.floor((value * (i + 1)) / rows) - Math.floor((value * i) / rows);
  const otherChatbot = counts.total_chatbot - counts.ad_chatbot - counts.post_chatbot;
  const otherAgents = counts.total_agents - counts.ad_agents - counts.post_agents;
  const out: Chat15Counts[] = [];
  for (let i = 0; i < rows; i++) {
    // Rotate which row gets the remainders so every row sees some traffic.
    const j = (i + 1) % rows;
    const adChatbot = part(counts.ad_chatbot, i);
    const adAgents = part(counts.ad_agents, j);
    const postChatbot = part(counts.post_chatbot, i);
    const postAgents = part(counts.post_agents, j);
    out.push({
      ad_chatbot: adChatbot,
      ad_agents: adAgents,
      post_chatbot: postChatbot,
      post_agents: postAgents,
      total_chatbot: adChatbot + postChatbot + part(otherChatbot, i),
      total_agents: adAgents + postAgents + part(otherAgents, j),
    });
  }
  return out;
}

function rowJson(row: Chat15Counts, adChatbotRaw?: string): string {
  const adChatbot = adChatbotRaw ?? String(row.ad_chatbot);
  return (
    `{"ad_chatbot":${JSON.stringify(adChatbot)},"ad_agents":"${row.ad_agents}",` +
    `"post_chatbot":"${row.post_chatbot}","post_agents":"${row.post_agents}",` +
    `"total_chatbot":"${row.total_chatbot}","total_agents":"${row.total_agents}"}`
  );
}

/** The real success shape: code as a string, every value a decimal string. */
export function successBody(counts: Chat15Counts, rows: number, adChatbotRaw?: string): string {
  const parts = splitRows(counts, rows);
  const data = parts.map((row, i) => rowJson(row, i === 0 ? adChatbotRaw : undefined)).join(',');
  return `{"code":"200","error":null,"msg":"${parts.length} records were found","data":[${data}]}`;
}

const NO_DATA_BODY = errorBody('404', MESSAGES.noData);

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>\n`;
}

export const NOT_FOUND_PAGE = page(
  '404 Not Found',
  '<h1>Not Found</h1><p>The requested URL was not found on this server.</p>',
);

const MAINTENANCE_PAGE = page(
  'wolkvox - Mantenimiento',
  '<h1>Estamos en mantenimiento</h1><p>We are performing a scheduled backup. Please try again later.</p>',
);

const LOGIN_PAGE = page(
  'Sign in',
  '<form method="post" action="/login"><label>User <input name="user"></label>' +
    '<label>Password <input type="password" name="password"></label><button>Sign in</button></form>',
);

function serverErrorReply(status: 500 | 502 | 503 | 504): Reply {
  switch (status) {
    case 500:
      return { type: 'body', status, contentType: TEXT_TYPE, body: 'Internal Server Error' };
    case 502:
      return { type: 'body', status, contentType: HTML_TYPE, body: page('502 Bad Gateway', '<h1>502 Bad Gateway</h1><hr><center>nginx</center>') };
    case 503:
      return { type: 'body', status, contentType: TEXT_TYPE, body: 'Service Unavailable' };
    case 504:
      return { type: 'body', status, contentType: HTML_TYPE, body: page('504 Gateway Time-out', '<h1>504 Gateway Time-out</h1><hr><center>nginx</center>') };
  }
}

/** Rejects scenarios whose numbers make no sense, so a typo in a test fails loudly. */
export function validateScenario(s: Scenario): void {
  const nonNegative = (name: string, n: number): void => {
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`${s.kind}.${name} must be a non-negative number, got ${n}`);
  };
  if (s.kind === 'huge_body') {
    nonNegative('bytes', s.bytes);
    if (!Number.isSafeInteger(s.bytes)) throw new RangeError(`huge_body.bytes must be an integer, got ${s.bytes}`);
  }
  if (s.kind === 'slow') nonNegative('delayMs', s.delayMs);
  if (s.kind === 'server_error' && ![500, 502, 503, 504].includes(s.status)) {
    throw new RangeError(`server_error.status must be 500, 502, 503 or 504, got ${s.status}`);
  }
}

/**
 * The answer for a request that passed the token, concurrency, quota and parameter checks.
 * `counts` are the window's counts; `concurrencyLimit` only shapes the SIMULTANEOUS message.
 */
export function scenarioReply(s: Scenario, counts: Chat15Counts, rows: number, concurrencyLimit: number): Reply {
  switch (s.kind) {
    case 'ok':
    case 'slow':
      // spec: Reading the response — Wolkvox answers an all-zero window with 404, not zeros.
      if (isZero(counts)) return { type: 'body', status: 404, contentType: JSON_TYPE, body: NO_DATA_BODY };
      return { type: 'body', status: 200, contentType: JSON_TYPE, body: successBody(counts, rows) };
    case 'no_data':
      return { type: 'body', status: s.via === 'body' ? 200 : 404, contentType: JSON_TYPE, body: NO_DATA_BODY };
    case 'missing_token':
      return errorReply(401, MESSAGES.missingToken);
    case 'invalid_token':
      return {
        type: 'body',
        status: s.status ?? 403,
        contentType: JSON_TYPE,
        body: errorBody('403', MESSAGES.invalidToken),
      };
    case 'quota_exceeded':
      return errorReply(403, MESSAGES.quotaExceeded);
    case 'concurrency_limited':
      return errorReply(403, simultaneousMessage(concurrencyLimit));
    case 'maintenance':
      return { type: 'body', status: 403, contentType: HTML_TYPE, body: MAINTENANCE_PAGE };
    case 'server_error':
      return serverErrorReply(s.status);
    case 'bad_request':
      return errorReply(400, MESSAGES.parametersRequired);
    case 'code_in_body':
      return { type: 'body', status: 200, contentType: JSON_TYPE, body: errorBody(s.code, s.error) };
    case 'html':
      return { type: 'body', status: 200, contentType: HTML_TYPE, body: LOGIN_PAGE };
    case 'truncated_json': {
      const full = successBody(counts, rows);
      return { type: 'body', status: 200, contentType: JSON_TYPE, body: full.slice(0, Math.floor(full.length / 2)) };
    }
    case 'wrong_shape': {
      const row = rowJson(counts);
      const data = s.as === 'string' ? JSON.stringify(row) : row;
      return {
        type: 'body',
        status: 200,
        contentType: JSON_TYPE,
        body: `{"code":"200","error":null,"msg":"1 records were found","data":${data}}`,
      };
    }
    case 'bad_value':
      return { type: 'body', status: 200, contentType: JSON_TYPE, body: successBody(counts, rows, s.value) };
    case 'huge_body':
      return { type: 'stream', bytes: s.bytes };
    case 'hang':
      return { type: 'hang' };
    case 'reset':
      return { type: 'reset' };
  }
}

const HUGE_PREFIX = Buffer.from('{"code":"200","error":null,"msg":"1 records were found","data":[');
const HUGE_SUFFIX = Buffer.from(']}');

/**
 * The pieces of a `bytes`-long body: a success prefix, spaces, and a closing `]}`, so a
 * client with no size limit reads valid JSON with an empty data array (and must not).
 * `filler` is the reusable chunk of spaces; yields slices of it, never a whole-body buffer.
 */
export function* hugeBodyChunks(bytes: number, filler: Buffer): Generator<Buffer> {
  if (bytes < HUGE_PREFIX.length + HUGE_SUFFIX.length) {
    yield Buffer.concat([HUGE_PREFIX, HUGE_SUFFIX]).subarray(0, bytes);
    return;
  }
  yield HUGE_PREFIX;
  let spaces = bytes - HUGE_PREFIX.length - HUGE_SUFFIX.length;
  while (spaces > 0) {
    const n = Math.min(spaces, filler.length);
    yield filler.subarray(0, n);
    spaces -= n;
  }
  yield HUGE_SUFFIX;
}
