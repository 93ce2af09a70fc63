// classify(status, body): one row per case of wolkvox-api-facts.md and spec "Reading the response", plus properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAILURE_KINDS, isRetryable, OUTCOMES, WolkvoxError, type FailureKind } from '../../src/wolkvox/outcome.js';
import { CHAT15_FIELDS, classify, zeroCounts, type Counts } from '../../src/wolkvox/response.js';

const J = JSON.stringify;
const ZERO = zeroCounts();
const counts = (partial: Partial<Counts>): Counts => ({ ...ZERO, ...partial });
const ok = (data: unknown, code: unknown = '200') => J({ code, error: null, msg: 'N records were found', data });
const failure = (code: string, error: string) => J({ code, error, msg: null, data: null });
const FULL_ROW = { ad_chatbot: '1', ad_agents: '2', post_chatbot: '3', post_agents: '4', total_chatbot: '5', total_agents: '6' };

function thrown(status: number, body: string): WolkvoxError {
  try {
    classify(status, body);
  } catch (error) {
    expect(error).toBeInstanceOf(WolkvoxError);
    return error as WolkvoxError;
  }
  throw new Error('classify returned instead of throwing');
}

describe('classify: success', () => {
  it.each<[string, number, string, Counts]>([
    ['the documented answer, code as a string', 200, ok([FULL_ROW]), counts({ ad_chatbot: 1, ad_agents: 2, post_chatbot: 3, post_agents: 4, total_chatbot: 5, total_agents: 6 })],
    ['code as a number and values as numbers', 200, ok([{ ad_chatbot: 1, ad_agents: 2, post_chatbot: 3, post_agents: 4, total_chatbot: 5, total_agents: 6 }], 200), counts({ ad_chatbot: 1, ad_agents: 2, post_chatbot: 3, post_agents: 4, total_chatbot: 5, total_agents: 6 })],
    ['the documentation example: every value ""', 200, ok([{ ad_chatbot: '', ad_agents: '', post_chatbot: '', post_agents: '', total_chatbot: '', total_agents: '' }]), ZERO],
    ['null values', 200, ok([{ ad_chatbot: null, ad_agents: '7', post_chatbot: null, post_agents: null, total_chatbot: null, total_agents: null }]), counts({ ad_agents: 7 })],
    ['missing fields', 200, ok([{ total_agents: '9' }]), counts({ total_agents: 9 })],
    ['an empty row', 200, ok([{}]), ZERO],
    ['several rows summed', 200, ok([FULL_ROW, { ...FULL_ROW, ad_chatbot: 10 }, { total_agents: '100' }]), counts({ ad_chatbot: 11, ad_agents: 4, post_chatbot: 6, post_agents: 8, total_chatbot: 10, total_agents: 112 })],
    ['an empty array', 200, ok([]), ZERO],
    ['zeros', 200, ok([{ ad_chatbot: '0', ad_agents: 0, post_chatbot: '000', post_agents: '0', total_chatbot: '0', total_agents: '0' }]), ZERO],
    ['leading zeros', 200, ok([{ ad_chatbot: '007' }]), counts({ ad_chatbot: 7 })],
    ['fields we do not read, which are ignored', 200, ok([{ ...FULL_ROW, campaign: 'x', date: '2024-06-15', ad_chatbot: '1' }]), counts({ ad_chatbot: 1, ad_agents: 2, post_chatbot: 3, post_agents: 4, total_chatbot: 5, total_agents: 6 })],
    ['extra envelope fields', 200, J({ code: '200', error: null, msg: 'ok', data: [{ ad_agents: '3' }], version: 2 }), counts({ ad_agents: 3 })],
    ['the largest exact count', 200, ok([{ total_chatbot: String(Number.MAX_SAFE_INTEGER) }]), counts({ total_chatbot: Number.MAX_SAFE_INTEGER })],
    ['code " 200 " with spaces', 200, ok([{ ad_chatbot: '1' }], ' 200 '), counts({ ad_chatbot: 1 })],
    ['code null, judged by the HTTP status and the rows', 200, J({ code: null, error: null, msg: null, data: [{ ad_chatbot: '2' }] }), counts({ ad_chatbot: 2 })],
    ['JSON with surrounding whitespace', 200, `\n  ${ok([{ ad_chatbot: '1' }])}\n`, counts({ ad_chatbot: 1 })],
  ])('%s', (_name, status, body, expected) => {
    expect(classify(status, body)).toEqual({ kind: 'success', counts: expected });
  });

  it('publishes the six chat_15 fields', () => {
    expect(CHAT15_FIELDS).toEqual(['ad_chatbot', 'ad_agents', 'post_chatbot', 'post_agents', 'total_chatbot', 'total_agents']);
    expect(zeroCounts()).toEqual({ ad_chatbot: 0, ad_agents: 0, post_chatbot: 0, post_agents: 0, total_chatbot: 0, total_agents: 0 });
    expect(zeroCounts()).not.toBe(zeroCounts());
  });
});

describe('classify: no data', () => {
  it.each<[string, number, string]>([
    ['HTTP 404 with an empty body', 404, ''],
    ['HTTP 404 with an HTML page', 404, '<html><body>Not Found</body></html>'],
    ['HTTP 404 with a JSON body', 404, J({ code: '404', error: 'NO RECORDS WERE FOUND', msg: null, data: null })],
    ['HTTP 200 with code "404"', 200, J({ code: '404', error: null, msg: '0 records were found', data: null })],
    ['HTTP 200 with code 404', 200, J({ code: 404, error: 'NO DATA' })],
  ])('%s', (_name, status, body) => {
    expect(classify(status, body)).toEqual({ kind: 'no_data' });
  });
});

describe('classify: failures', () => {
  const maintenance = '<html><head><title>Mantenimiento</title></head><body><h1>Servidor en mantenimiento</h1></body></html>';

  it.each<[string, number, string, FailureKind, number | undefined, string]>([
    // 401 and 403 "PLEASE VALIDATE TOKEN": the token.
    ['401 PLEASE ENTER THE WOLKVOX-TOKEN', 401, failure('401', 'PLEASE ENTER THE WOLKVOX-TOKEN'), 'unauthorized', 401, 'HTTP 401: "PLEASE ENTER THE WOLKVOX-TOKEN"'],
    ['401 with an empty body', 401, '', 'unauthorized', 401, 'HTTP 401'],
    ['403 PLEASE VALIDATE TOKEN', 403, failure('403', 'PLEASE VALIDATE TOKEN'), 'unauthorized', 403, 'Wolkvox rejected the token (PLEASE VALIDATE TOKEN)'],
    ['PLEASE VALIDATE TOKEN under HTTP 200', 200, failure('403', 'PLEASE VALIDATE TOKEN'), 'unauthorized', 200, 'Wolkvox rejected the token (PLEASE VALIDATE TOKEN)'],
    ['PLEASE VALIDATE TOKEN under HTTP 200 with code 200', 200, J({ code: '200', error: null, msg: 'Please validate token', data: [] }), 'unauthorized', 200, 'Wolkvox rejected the token (PLEASE VALIDATE TOKEN)'],
    ['PLEASE VALIDATE TOKEN in an HTML page', 403, '<html><body>PLEASE VALIDATE TOKEN</body></html>', 'unauthorized', 403, 'Wolkvox rejected the token (PLEASE VALIDATE TOKEN)'],
    // 403: quota, concurrency, maintenance.
    ['403 TOKEN LIMIT EXCEEDED', 403, failure('403', 'TOKEN LIMIT EXCEEDED'), 'quota_exceeded', 403, 'HTTP 403: "TOKEN LIMIT EXCEEDED"'],
    ['403 TOKEN LIMIT EXCEEDED in msg', 403, J({ code: '403', error: null, msg: 'TOKEN LIMIT EXCEEDED', data: null }), 'quota_exceeded', 403, 'HTTP 403: "TOKEN LIMIT EXCEEDED"'],
    ['403 TOKEN LIMIT EXCEEDED as plain text', 403, 'TOKEN LIMIT EXCEEDED', 'quota_exceeded', 403, 'HTTP 403'],
    ['403 SIMULTANEOUS REQUESTS', 403, failure('403', 'EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)'), 'concurrency_limited', 403, 'HTTP 403: "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)"'],
    ['403 maintenance HTML', 403, maintenance, 'server_error', 403, 'HTTP 403'],
    ['403 with an empty body', 403, '', 'server_error', 403, 'HTTP 403'],
    ['403 with another message', 403, failure('403', 'SERVER BACKUP IN PROGRESS'), 'server_error', 403, 'HTTP 403: "SERVER BACKUP IN PROGRESS"'],
    // 400.
    ['400 THE API YOU WANT TO CONSULT DOES NOT EXIST', 400, failure('400', 'THE API YOU WANT TO CONSULT DOES NOT EXIST'), 'bad_request', 400, 'HTTP 400: "THE API YOU WANT TO CONSULT DOES NOT EXIST"'],
    ['400 SOME PARAMETERS ARE REQUIRED', 400, failure('400', 'SOME PARAMETERS ARE REQUIRED'), 'bad_request', 400, 'HTTP 400: "SOME PARAMETERS ARE REQUIRED"'],
    // 5xx, JSON or HTML or nothing.
    ['500 JSON', 500, J({ code: '500', error: null, msg: 'Internal error', data: null }), 'server_error', 500, 'HTTP 500: "Internal error"'],
    ['500 HTML', 500, '<html><body><h1>500 Internal Server Error</h1></body></html>', 'server_error', 500, 'HTTP 500'],
    ['502 HTML from a proxy', 502, '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>', 'server_error', 502, 'HTTP 502'],
    ['503 empty', 503, '', 'server_error', 503, 'HTTP 503'],
    ['503 HTML', 503, maintenance, 'server_error', 503, 'HTTP 503'],
    ['504 text', 504, 'Gateway Timeout', 'server_error', 504, 'HTTP 504'],
    // The code only in the body.
    ['HTTP 200 with code "403" TOKEN LIMIT EXCEEDED', 200, failure('403', 'TOKEN LIMIT EXCEEDED'), 'quota_exceeded', 403, 'HTTP 200 with body code 403: "TOKEN LIMIT EXCEEDED"'],
    ['HTTP 200 with code 403 SIMULTANEOUS', 200, J({ code: 403, msg: 'EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)' }), 'concurrency_limited', 403, 'HTTP 200 with body code 403: "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)"'],
    ['HTTP 200 with code "403" and no message', 200, J({ code: '403', error: null, msg: null, data: null }), 'server_error', 403, 'HTTP 200 with body code 403'],
    ['HTTP 200 with code "401"', 200, failure('401', 'PLEASE ENTER THE WOLKVOX-TOKEN'), 'unauthorized', 401, 'HTTP 200 with body code 401: "PLEASE ENTER THE WOLKVOX-TOKEN"'],
    ['HTTP 200 with code "400"', 200, failure('400', 'SOME PARAMETERS ARE REQUIRED'), 'bad_request', 400, 'HTTP 200 with body code 400: "SOME PARAMETERS ARE REQUIRED"'],
    ['HTTP 200 with code "500"', 200, J({ code: '500', error: null, msg: null, data: null }), 'server_error', 500, 'HTTP 200 with body code 500'],
    ['HTTP 200 with code 503', 200, J({ code: 503, error: 'MAINTENANCE' }), 'server_error', 503, 'HTTP 200 with body code 503: "MAINTENANCE"'],
    // A non-2xx status wins over the body's code.
    ['HTTP 500 with code "200"', 500, ok([FULL_ROW]), 'server_error', 500, 'HTTP 500: "N records were found"'],
    ['HTTP 403 with code "200" and TOKEN LIMIT EXCEEDED', 403, J({ code: '200', error: 'TOKEN LIMIT EXCEEDED' }), 'quota_exceeded', 403, 'HTTP 403: "TOKEN LIMIT EXCEEDED"'],
    // Statuses the documentation does not list.
    ['429', 429, '', 'concurrency_limited', 429, 'HTTP 429'],
    ['408', 408, '', 'timeout', 408, 'HTTP 408'],
    ['418', 418, '', 'bad_request', 418, 'HTTP 418'],
    ['302 redirect', 302, '', 'invalid_response', 302, 'HTTP 302'],
    ['204 no content', 204, '', 'invalid_response', 204, 'HTTP 204'],
    ['HTTP 200 with code "201"', 200, J({ code: '201', data: [] }), 'invalid_response', 201, 'HTTP 200 with body code 201'],
    // Not JSON, or JSON of the wrong shape.
    ['HTML under 200', 200, '<!DOCTYPE html><html><body>Login</body></html>', 'invalid_response', 200, 'HTTP 200 with an HTML page instead of JSON'],
    ['HTML under 200 after whitespace', 200, '\n  <html></html>', 'invalid_response', 200, 'HTTP 200 with an HTML page instead of JSON'],
    ['truncated JSON', 200, ok([FULL_ROW]).slice(0, 60), 'invalid_response', 200, 'HTTP 200 with a body that is not JSON'],
    ['an empty body under 200', 200, '', 'invalid_response', 200, 'HTTP 200 with a body that is not JSON'],
    ['plain text under 200', 200, 'OK', 'invalid_response', 200, 'HTTP 200 with a body that is not JSON'],
    ['data an object', 200, ok(FULL_ROW), 'invalid_response', 200, `"data" is ${J(FULL_ROW).slice(0, 40)}…, not an array of rows`],
    ['data null', 200, ok(null), 'invalid_response', 200, '"data" is null, not an array of rows'],
    ['data missing', 200, J({ code: '200', error: null, msg: 'ok' }), 'invalid_response', 200, '"data" is undefined, not an array of rows'],
    ['data a string', 200, ok('[]'), 'invalid_response', 200, '"data" is "[]", not an array of rows'],
    ['body an array', 200, J([FULL_ROW]), 'invalid_response', 200, `body is ${J([FULL_ROW]).slice(0, 40)}…, not a JSON object`],
    ['body a string', 200, J('hello'), 'invalid_response', 200, 'body is "hello", not a JSON object'],
    ['body null', 200, 'null', 'invalid_response', 200, 'body is null, not a JSON object'],
    ['body a number', 200, '42', 'invalid_response', 200, 'body is 42, not a JSON object'],
    ['a row that is a number', 200, ok([1]), 'invalid_response', undefined, 'data[0] is 1, not an object'],
    ['a row that is null', 200, ok([FULL_ROW, null]), 'invalid_response', undefined, 'data[1] is null, not an object'],
    ['a row that is an array', 200, ok([[1, 2]]), 'invalid_response', undefined, 'data[0] is [1,2], not an object'],
    // Values that are not non-negative integers, each naming its field.
    ['"abc"', 200, ok([{ ad_chatbot: 'abc' }]), 'invalid_response', undefined, 'data[0].ad_chatbot is "abc", not a non-negative integer'],
    ['"-3"', 200, ok([{ ad_agents: '-3' }]), 'invalid_response', undefined, 'data[0].ad_agents is "-3", not a non-negative integer'],
    ['"1.5"', 200, ok([{ post_chatbot: '1.5' }]), 'invalid_response', undefined, 'data[0].post_chatbot is "1.5", not a non-negative integer'],
    ['-3', 200, ok([{ post_agents: -3 }]), 'invalid_response', undefined, 'data[0].post_agents is -3, not a non-negative integer'],
    ['1.5', 200, ok([{ total_chatbot: 1.5 }]), 'invalid_response', undefined, 'data[0].total_chatbot is 1.5, not a non-negative integer'],
    ['"1e3"', 200, ok([{ total_agents: '1e3' }]), 'invalid_response', undefined, 'data[0].total_agents is "1e3", not a non-negative integer'],
    ['" 7"', 200, ok([{ ad_chatbot: ' 7' }]), 'invalid_response', undefined, 'data[0].ad_chatbot is " 7", not a non-negative integer'],
    ['"7 "', 200, ok([{ ad_chatbot: '7 ' }]), 'invalid_response', undefined, 'data[0].ad_chatbot is "7 ", not a non-negative integer'],
    ['"0x10"', 200, ok([{ ad_chatbot: '0x10' }]), 'invalid_response', undefined, 'data[0].ad_chatbot is "0x10", not a non-negative integer'],
    ['"١٢" (Arabic-Indic digits)', 200, ok([{ ad_chatbot: '١٢' }]), 'invalid_response', undefined, 'data[0].ad_chatbot is "١٢", not a non-negative integer'],
    ['true', 200, ok([{ ad_chatbot: true }]), 'invalid_response', undefined, 'data[0].ad_chatbot is true, not a non-negative integer'],
    ['an array', 200, ok([{ ad_chatbot: [1] }]), 'invalid_response', undefined, 'data[0].ad_chatbot is [1], not a non-negative integer'],
    ['an object', 200, ok([{ ad_chatbot: { n: 1 } }]), 'invalid_response', undefined, 'data[0].ad_chatbot is {"n":1}, not a non-negative integer'],
    ['a bad value in the second row', 200, ok([FULL_ROW, { ...FULL_ROW, total_agents: 'n/a' }]), 'invalid_response', undefined, 'data[1].total_agents is "n/a", not a non-negative integer'],
    ['a count past 2^53', 200, ok([{ ad_chatbot: '9007199254740993' }]), 'invalid_response', undefined, 'data[0].ad_chatbot is too large to count exactly'],
    ['a sum past 2^53', 200, ok([{ ad_chatbot: Number.MAX_SAFE_INTEGER }, { ad_chatbot: 1 }]), 'invalid_response', undefined, 'data[1].ad_chatbot is too large to count exactly'],
    ['a long value, cut short', 200, ok([{ ad_chatbot: 'x'.repeat(100) }]), 'invalid_response', undefined, `data[0].ad_chatbot is "${'x'.repeat(39)}…, not a non-negative integer`],
  ])('%s', (_name, status, body, kind, errorStatus, message) => {
    const error = thrown(status, body);
    expect({ kind: error.kind, status: error.status, message: error.message }).toEqual({ kind, status: errorStatus, message });
    expect(error.name).toBe('WolkvoxError');
  });

  it('cuts a long error message to 120 characters', () => {
    const error = thrown(500, J({ code: '500', error: 'E'.repeat(300) }));
    expect(error.message).toBe(`HTTP 500: "${'E'.repeat(119)}…`);
  });

  it('reads the 403 message case-insensitively', () => {
    expect(thrown(403, failure('403', 'Token limit exceeded')).kind).toBe('quota_exceeded');
    expect(thrown(403, failure('403', 'exceeds the limit of simultaneous requests per token (2)')).kind).toBe('concurrency_limited');
  });
});

describe('outcomes', () => {
  it('lists the failure kinds of the spec, and success and no_data besides', () => {
    expect(FAILURE_KINDS).toEqual([
      'unauthorized',
      'quota_exceeded',
      'concurrency_limited',
      'bad_request',
      'server_error',
      'timeout',
      'network_error',
      'invalid_response',
    ]);
    expect(OUTCOMES).toEqual(['success', 'no_data', ...FAILURE_KINDS]);
  });

  it.each<[FailureKind, boolean]>([
    ['timeout', true],
    ['network_error', true],
    ['server_error', true],
    ['concurrency_limited', true],
    ['unauthorized', false],
    ['quota_exceeded', false],
    ['bad_request', false],
    ['invalid_response', false],
  ])('%s is retried: %s', (kind, retried) => {
    expect(isRetryable(kind)).toBe(retried);
  });

  it('WolkvoxError keeps kind, status and cause', () => {
    const cause = new Error('socket hang up');
    const error = new WolkvoxError('network_error', 'request failed', { status: 502, cause });
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.kind, error.status, error.cause, error.message]).toEqual([
      'WolkvoxError',
      'network_error',
      502,
      cause,
      'request failed',
    ]);
    expect(new WolkvoxError('timeout', 'slow')).not.toHaveProperty('cause');
  });
});

describe('classify properties', () => {
  const jsonValue = fc.jsonValue({ maxDepth: 3 });
  const countValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(''), fc.nat().map(String));
  const row = fc.dictionary(fc.oneof(fc.constantFrom(...CHAT15_FIELDS), fc.string()), fc.oneof(countValue, jsonValue), { maxKeys: 8 });
  const body = fc.oneof(
    fc.string(),
    jsonValue.map((value) => J(value)),
    fc
      .record({
        code: fc.oneof(fc.constantFrom('200', 200, '404', 404, '403', '401', '400', '500', ' 200 ', '2OO'), jsonValue),
        error: fc.oneof(fc.constantFrom(null, 'TOKEN LIMIT EXCEEDED', 'PLEASE VALIDATE TOKEN', 'EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)'), jsonValue),
        msg: fc.oneof(fc.string(), jsonValue),
        data: fc.oneof(fc.array(row, { maxLength: 4 }), jsonValue),
      }, { requiredKeys: [] })
      .map((value) => J(value)),
    fc.tuple(fc.string(), fc.string()).map(([a, b]) => `<html>${a}</html>${b}`),
  );
  const status = fc.oneof(fc.constantFrom(200, 201, 204, 301, 400, 401, 403, 404, 408, 429, 500, 502, 503, 504), fc.integer({ min: 0, max: 999 }));

  it('throws nothing but WolkvoxError, and maps every answer to exactly one outcome', () => {
    fc.assert(
      fc.property(status, body, (s, b) => {
        let outcomes: string[];
        try {
          const result = classify(s, b);
          outcomes = [result.kind];
          if (result.kind === 'success') {
            for (const field of CHAT15_FIELDS) {
              expect(Number.isSafeInteger(result.counts[field]) && result.counts[field] >= 0).toBe(true);
            }
            expect(Object.keys(result.counts).sort()).toEqual([...CHAT15_FIELDS].sort());
          }
        } catch (error) {
          if (!(error instanceof WolkvoxError)) throw error;
          outcomes = [error.kind];
          expect(error.message.length).toBeLessThan(200);
        }
        expect(outcomes.filter((o) => (OUTCOMES as readonly string[]).includes(o))).toHaveLength(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('sums rows of non-negative integers, given as strings or numbers, exactly', () => {
    const value = fc.oneof(
      fc.nat({ max: 1_000_000_000 }).map((n) => ({ raw: n as unknown, n })),
      fc.nat({ max: 1_000_000_000 }).map((n) => ({ raw: String(n) as unknown, n })),
      fc.constantFrom({ raw: '' as unknown, n: 0 }, { raw: null as unknown, n: 0 }),
    );
    const rowArb = fc.record(
      Object.fromEntries(CHAT15_FIELDS.map((field) => [field, value])) as Record<(typeof CHAT15_FIELDS)[number], typeof value>,
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 20 }), fc.constantFrom('200', 200), (rows, code) => {
        const expected = zeroCounts();
        const data = rows.map((r) => {
          const out: Record<string, unknown> = {};
          for (const [field, cell] of Object.entries(r) as Array<[keyof Counts, { raw: unknown; n: number }]>) {
            out[field] = cell.raw;
            expected[field] += cell.n;
          }
          return out;
        });
        expect(classify(200, ok(data, code))).toEqual({ kind: 'success', counts: expected });
      }),
      { numRuns: 500 },
    );
  });

  it('calls any value that is not a non-negative integer invalid_response, naming the field', () => {
    const bad = fc.oneof(
      fc.string().filter((s) => !/^\d*$/.test(s)),
      fc.integer({ max: -1 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d) || d < 0),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 2 }),
      fc.dictionary(fc.string(), fc.nat(), { maxKeys: 2 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...CHAT15_FIELDS), bad, fc.nat({ max: 3 }), (field, value, index) => {
        const rows: unknown[] = Array.from({ length: index }, () => FULL_ROW);
        rows.push({ ...FULL_ROW, [field]: value });
        const error = thrown(200, ok(rows));
        expect(error.kind).toBe('invalid_response');
        expect(error.message.startsWith(`data[${index}].${field} is `)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
