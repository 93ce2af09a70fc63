// Turns an HTTP status and body text from chat_15 into counts, "no data", or a kinded WolkvoxError; pure.
import { z } from 'zod';
import { WolkvoxError, type FailureKind } from './outcome.js';

/** The six fields of a chat_15 row (wolkvox-chat_15-api.txt). */
export const CHAT15_FIELDS = [
  'ad_chatbot',
  'ad_agents',
  'post_chatbot',
  'post_agents',
  'total_chatbot',
  'total_agents',
] as const;

export type Chat15Field = (typeof CHAT15_FIELDS)[number];
export type Counts = Record<Chat15Field, number>;
export type Chat15Result = { kind: 'success'; counts: Counts } | { kind: 'no_data' };

export function zeroCounts(): Counts {
  return { ad_chatbot: 0, ad_agents: 0, post_chatbot: 0, post_agents: 0, total_chatbot: 0, total_agents: 0 };
}

// Vendors add fields over time, so the envelope is not strict; only the fields we read are checked.
const envelopeSchema = z.looseObject({
  code: z.unknown().optional(),
  error: z.unknown().optional(),
  msg: z.unknown().optional(),
  data: z.unknown().optional(),
});

// `""`, null or a missing field counts 0 (spec: Reading the response).
const countSchema = z.union([
  z.string().regex(/^\d*$/),
  z.number().int().nonnegative(),
  z.null(),
  z.undefined(),
]);

const rowSchema = z.record(z.string(), z.unknown());

const QUOTA_TEXT = 'TOKEN LIMIT EXCEEDED';
const CONCURRENCY_TEXT = 'SIMULTANEOUS REQUESTS';
const INVALID_TOKEN_TEXT = 'PLEASE VALIDATE TOKEN';

/** A short, printable excerpt of a value for an error message. */
function excerpt(value: unknown, max = 40): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Reads `code` when it is an integer, as string or number. */
function bodyCode(code: unknown): number | undefined {
  if (typeof code === 'number' && Number.isInteger(code)) return code;
  if (typeof code === 'string' && /^\s*\d{3}\s*$/.test(code)) return Number(code);
  return undefined;
}

/** The failure kind for an error status, reading the message where 403 hides several meanings. */
function kindForStatus(status: number, text: string): FailureKind | 'no_data' {
  const upper = text.toUpperCase();
  if (status === 404) return 'no_data';
  if (status === 401) return 'unauthorized';
  if (status === 403) {
    if (upper.includes(QUOTA_TEXT)) return 'quota_exceeded';
    if (upper.includes(CONCURRENCY_TEXT)) return 'concurrency_limited';
    if (upper.includes(INVALID_TOKEN_TEXT)) return 'unauthorized';
    // Maintenance and backup windows answer 403 with varying pages: the server, not us.
    return 'server_error';
  }
  // Undocumented, but a 429 is a rate limit: back off and retry like the simultaneous-calls 403.
  if (status === 429) return 'concurrency_limited';
  if (status === 408) return 'timeout';
  if (status >= 500 && status <= 599) return 'server_error';
  if (status >= 400 && status <= 499) return 'bad_request';
  return 'invalid_response';
}

function sumRows(data: unknown[]): Counts {
  const counts = zeroCounts();
  data.forEach((row, index) => {
    const parsedRow = rowSchema.safeParse(row);
    if (!parsedRow.success) {
      throw new WolkvoxError('invalid_response', `data[${index}] is ${excerpt(row)}, not an object`);
    }
    for (const field of CHAT15_FIELDS) {
      const raw = parsedRow.data[field];
      const parsed = countSchema.safeParse(raw);
      if (!parsed.success) {
        throw new WolkvoxError(
          'invalid_response',
          `data[${index}].${field} is ${excerpt(raw)}, not a non-negative integer`,
        );
      }
      const value = parsed.data === null || parsed.data === undefined || parsed.data === '' ? 0 : Number(parsed.data);
      const sum = counts[field] + value;
      if (!Number.isSafeInteger(sum)) {
        throw new WolkvoxError('invalid_response', `data[${index}].${field} is too large to count exactly`);
      }
      counts[field] = sum;
    }
  });
  return counts;
}

/**
 * Classifies one chat_15 answer (spec: Reading the response). Returns counts or no_data;
 * throws a WolkvoxError for every failure, and nothing else.
 */
export function classify(status: number, bodyText: string): Chat15Result {
  const upper = bodyText.toUpperCase();
  // A revoked token is a credentials problem whatever the status says, 200 included.
  if (upper.includes(INVALID_TOKEN_TEXT)) {
    throw new WolkvoxError('unauthorized', 'Wolkvox rejected the token (PLEASE VALIDATE TOKEN)', { status });
  }
  const json = parseJson(bodyText);
  const envelope = envelopeSchema.safeParse(json);
  const code = envelope.success ? bodyCode(envelope.data.code) : undefined;

  // The error code may come in the HTTP status, the body's `code`, or both; a non-2xx status wins.
  const effective = status < 200 || status > 299 ? status : code ?? status;
  if (effective !== 200) {
    const message = envelope.success
      ? [envelope.data.error, envelope.data.msg].filter((part) => typeof part === 'string').join(' ')
      : bodyText.slice(0, 2000);
    const kind = kindForStatus(effective, message);
    if (kind === 'no_data') return { kind: 'no_data' };
    const where = effective === status ? `HTTP ${status}` : `HTTP ${status} with body code ${effective}`;
    const detail = envelope.success && message.trim() !== '' ? `: ${excerpt(message.trim(), 120)}` : '';
    throw new WolkvoxError(kind, `${where}${detail}`, { status: effective });
  }

  if (json === undefined) {
    const looksHtml = /^\s*</.test(bodyText);
    throw new WolkvoxError(
      'invalid_response',
      looksHtml ? 'HTTP 200 with an HTML page instead of JSON' : 'HTTP 200 with a body that is not JSON',
      { status },
    );
  }
  if (!envelope.success) throw new WolkvoxError('invalid_response', `body is ${excerpt(json)}, not a JSON object`, { status });
  const { data } = envelope.data;
  if (!Array.isArray(data)) {
    throw new WolkvoxError('invalid_response', `"data" is ${excerpt(data)}, not an array of rows`, { status });
  }
  return { kind: 'success', counts: sumRows(data) };
}
