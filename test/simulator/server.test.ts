// The simulator over real loopback HTTP: the Wolkvox answer shapes, checks, limits and failure scenarios.

import { afterEach, describe, expect, it } from 'vitest';
import { countsForWindow } from '../../src/simulator/data.js';
import { startSimulator, type Scenario, type Simulator, type SimulatorOptions } from '../../src/simulator/server.js';

const PATH = '/api/v2/reports_manager.php';
const TOKEN = 'sentinel-token-7f3a';
// A busy Tuesday afternoon in the past: counts are non-zero for seed 1.
const INI = '20250311000000';
const END = '20250311150000';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ port: 0, token: TOKEN, ...options });
  return sim;
}

type Answer = { status: number; contentType: string; text: string };

async function call(
  s: Simulator,
  query: Record<string, string> = { api: 'chat_15', date_ini: INI, date_end: END },
  token: string | null = TOKEN,
  path = PATH,
): Promise<Answer> {
  const res = await fetch(`${s.url}${path}?${new URLSearchParams(query).toString()}`, {
    headers: token === null ? {} : { 'wolkvox-token': token },
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

const window = (ini: string, end: string): Record<string, string> => ({ api: 'chat_15', date_ini: ini, date_end: end });

const errorJson = (code: string, error: string): string =>
  `{"code":"${code}","error":"${error}","msg":null,"data":null}`;
const NO_DATA = errorJson('404', 'NO DATA FOUND');

/** Waits for a condition on the simulator with a deadline, instead of a fixed sleep. */
async function until(check: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

type Row = Record<string, string>;
const rowsOf = (text: string): Row[] => (JSON.parse(text) as { data: Row[] }).data;

describe('a good answer', () => {
  it('has the exact Wolkvox shape with string values', async () => {
    const s = await start();
    const expected = countsForWindow(INI, END, 1);
    const answer = await call(s);
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('application/json');
    expect(answer.text).toBe(
      '{"code":"200","error":null,"msg":"1 records were found","data":[{' +
        `"ad_chatbot":"${expected.ad_chatbot}","ad_agents":"${expected.ad_agents}",` +
        `"post_chatbot":"${expected.post_chatbot}","post_agents":"${expected.post_agents}",` +
        `"total_chatbot":"${expected.total_chatbot}","total_agents":"${expected.total_agents}"}]}`,
    );
    expect(expected.ad_chatbot).toBeGreaterThan(0);
  });

  it('grows through the day', async () => {
    const s = await start();
    const [morning, evening] = await Promise.all([
      call(s, window('20250311000000', '20250311100000')),
      call(s, window('20250311000000', '20250311200000')),
    ]);
    const m = rowsOf(morning.text)[0] ?? {};
    const e = rowsOf(evening.text)[0] ?? {};
    for (const field of ['ad_chatbot', 'ad_agents', 'post_chatbot', 'post_agents', 'total_chatbot', 'total_agents']) {
      expect(Number(e[field])).toBeGreaterThan(Number(m[field]));
    }
  });

  it('adds up over adjacent windows', async () => {
    const s = await start();
    const first = rowsOf((await call(s, window('20250311000000', '20250311093000'))).text)[0] ?? {};
    const second = rowsOf((await call(s, window('20250311093000', '20250311180000'))).text)[0] ?? {};
    const whole = rowsOf((await call(s, window('20250311000000', '20250311180000'))).text)[0] ?? {};
    for (const field of Object.keys(whole)) {
      expect(Number(first[field]) + Number(second[field])).toBe(Number(whole[field]));
    }
  });

  it('uses the seed', async () => {
    const s = await start({ seed: 5 });
    const row = rowsOf((await call(s)).text)[0] ?? {};
    expect(Number(row.ad_chatbot)).toBe(countsForWindow(INI, END, 5).ad_chatbot);
  });

  it('splits the counts over several rows that sum to the totals', async () => {
    const s = await start({ rows: 3 });
    const answer = await call(s);
    const body = JSON.parse(answer.text) as { msg: string; data: Row[] };
    expect(body.msg).toBe('3 records were found');
    expect(body.data).toHaveLength(3);
    const expected = countsForWindow(INI, END, 1);
    for (const [field, value] of Object.entries(expected)) {
      const parts = body.data.map((row) => row[field] ?? '');
      for (const part of parts) expect(part).toMatch(/^\d+$/);
      expect(parts.reduce((acc, p) => acc + Number(p), 0)).toBe(value);
    }
  });

  it('answers a 0-second window with 404 NO DATA FOUND', async () => {
    const s = await start();
    const answer = await call(s, window('20250311120000', '20250311120000'));
    expect(answer).toEqual({ status: 404, contentType: 'application/json', text: NO_DATA });
  });

  it('answers a window in the future with 404 NO DATA FOUND', async () => {
    const s = await start();
    const answer = await call(s, window('20990101000000', '20990120000000'));
    expect(answer).toEqual({ status: 404, contentType: 'application/json', text: NO_DATA });
  });

  it('takes "now" from the injected clock', async () => {
    const s = await start({ now: () => Date.UTC(2025, 2, 11, 5) }); // 10:00 wall clock in Bogota, 19:00 at UTC+14
    const upToNow = countsForWindow('20250311000000', '20250311190000', 1);
    const row = rowsOf((await call(s, window('20250311000000', '20250311235959'))).text)[0] ?? {};
    expect(Number(row.total_chatbot)).toBe(upToNow.total_chatbot);
    expect((await call(s, window('20250312000000', '20250312120000'))).status).toBe(404);
  });

  it('accepts exactly 31 days', async () => {
    const s = await start();
    const answer = await call(s, window('20250101000000', '20250201000000'));
    expect(answer.status).toBe(200);
    expect(Number(rowsOf(answer.text)[0]?.ad_chatbot)).toBe(countsForWindow('20250101000000', '20250201000000', 1).ad_chatbot);
  });
});

describe('request checks', () => {
  it('rejects a missing token with 401 and a wrong one with 403', async () => {
    const s = await start();
    expect(await call(s, undefined, null)).toEqual({
      status: 401,
      contentType: 'application/json',
      text: errorJson('401', 'PLEASE ENTER THE WOLKVOX-TOKEN'),
    });
    expect(await call(s, undefined, '   ')).toMatchObject({ status: 401 });
    expect(await call(s, undefined, 'demo-token')).toEqual({
      status: 403,
      contentType: 'application/json',
      text: errorJson('403', 'PLEASE VALIDATE TOKEN'),
    });
  });

  it('accepts demo-token by default', async () => {
    sim = await startSimulator();
    expect((await call(sim, undefined, 'demo-token')).status).toBe(200);
  });

  it('checks the token before the scenario', async () => {
    const s = await start({ scenario: { kind: 'maintenance' } });
    expect(await call(s, undefined, 'wrong')).toMatchObject({ status: 403, text: errorJson('403', 'PLEASE VALIDATE TOKEN') });
    expect(await call(s, undefined, null)).toMatchObject({ status: 401 });
  });

  it('answers other paths with a 404 HTML page', async () => {
    const s = await start();
    const answer = await call(s, undefined, TOKEN, '/api/v2/other.php');
    expect(answer.status).toBe(404);
    expect(answer.contentType).toBe('text/html; charset=UTF-8');
    expect(answer.text).toContain('<h1>Not Found</h1>');
  });

  it('rejects an unknown report', async () => {
    const s = await start();
    expect(await call(s, { api: 'chat_99', date_ini: INI, date_end: END })).toEqual({
      status: 400,
      contentType: 'application/json',
      text: errorJson('400', 'THE API YOU WANT TO CONSULT DOES NOT EXIST'),
    });
  });

  it.each<[string, Record<string, string>]>([
    ['no api', { date_ini: INI, date_end: END }],
    ['no date_ini', { api: 'chat_15', date_end: END }],
    ['no date_end', { api: 'chat_15', date_ini: INI }],
    ['13 digits', window('2025031100000', END)],
    ['a dash', window('2025-03-11 000', END)],
    ['30 February', window('20250230000000', '20250301000000')],
    ['hour 24', window('20250311240000', '20250312000000')],
  ])('answers %s with 400 SOME PARAMETERS ARE REQUIRED', async (_name, query) => {
    const s = await start();
    expect(await call(s, query)).toEqual({
      status: 400,
      contentType: 'application/json',
      text: errorJson('400', 'SOME PARAMETERS ARE REQUIRED'),
    });
  });

  it.each([
    ['an end before the start', '20250311100000', '20250311090000', 'THE FINAL DATE CANNOT BE LESS THAN THE INITIAL DATE'],
    ['31 days and a second', '20250101000000', '20250201000001', 'THE MAXIMUM RANGE TO CONSULT IS 31 DAYS'],
  ])('answers %s with 400', async (_name, ini, end, message) => {
    const s = await start();
    expect(await call(s, window(ini, end))).toMatchObject({ status: 400, text: errorJson('400', message) });
  });

  it('logs calls without the token value', async () => {
    const s = await start();
    await call(s);
    await call(s, undefined, null);
    const log = s.requests();
    expect(log).toHaveLength(2);
    expect(log[0]).toMatchObject({ path: PATH, query: { api: 'chat_15', date_ini: INI, date_end: END }, tokenPresent: true });
    expect(log[1]?.tokenPresent).toBe(false);
    expect(typeof log[0]?.at).toBe('number');
    expect(JSON.stringify(log)).not.toContain(TOKEN);
    expect(s.stats()).toMatchObject({ requests: 2, inFlight: 0, byStatus: { '200': 1, '401': 1 } });
    s.resetStats();
    expect(s.requests()).toHaveLength(0);
    expect(s.stats()).toEqual({ requests: 0, maxInFlight: 0, inFlight: 0, byStatus: {} });
  });

  it('rejects nonsensical options', async () => {
    await expect(startSimulator({ rows: 0 })).rejects.toThrow(RangeError);
    await expect(startSimulator({ maxConcurrent: 0 })).rejects.toThrow(RangeError);
    await expect(startSimulator({ scenario: { kind: 'huge_body', bytes: -1 } })).rejects.toThrow(RangeError);
  });
});

describe('limits', () => {
  it('rejects a third simultaneous request with 403 SIMULTANEOUS', async () => {
    const s = await start({ latencyMs: 150 });
    const answers = await Promise.all([call(s), call(s), call(s)]);
    const rejected = answers.filter((a) => a.status === 403);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.text).toBe(errorJson('403', 'EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)'));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(2);
    expect(s.stats()).toMatchObject({ requests: 3, maxInFlight: 3, inFlight: 0, byStatus: { '200': 2, '403': 1 } });
    expect((await call(s)).status).toBe(200);
  });

  it('lets two simultaneous requests through and counts them', async () => {
    const s = await start({ latencyMs: 100 });
    const answers = await Promise.all([call(s), call(s)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(s.stats().maxInFlight).toBe(2);
  });

  it('honours maxConcurrent 1', async () => {
    const s = await start({ latencyMs: 100, maxConcurrent: 1 });
    const answers = await Promise.all([call(s), call(s)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 403]);
    expect(answers.find((a) => a.status === 403)?.text).toContain('SIMULTANEOUS REQUESTS PER TOKEN (1)');
  });

  it('sees one in flight at a time from a sequential client', async () => {
    const s = await start({ latencyMs: 20 });
    for (let i = 0; i < 3; i++) expect((await call(s)).status).toBe(200);
    expect(s.stats()).toMatchObject({ requests: 3, maxInFlight: 1 });
  });

  it('spends the daily quota, then answers 403 TOKEN LIMIT EXCEEDED until resetQuota', async () => {
    const s = await start({ dailyQuota: 2 });
    expect((await call(s)).status).toBe(200);
    expect((await call(s)).status).toBe(200);
    expect(await call(s)).toEqual({
      status: 403,
      contentType: 'application/json',
      text: errorJson('403', 'TOKEN LIMIT EXCEEDED'),
    });
    // A bad token is still told so: the token check comes first and spends nothing.
    expect((await call(s, undefined, 'wrong')).text).toContain('PLEASE VALIDATE TOKEN');
    s.resetStats();
    expect((await call(s)).status).toBe(403);
    s.resetQuota();
    expect((await call(s)).status).toBe(200);
  });
});

describe('scenarios', () => {
  const JSON_TYPE = 'application/json';
  it.each<[string, Scenario, number, string, (text: string) => void]>([
    ['no_data', { kind: 'no_data' }, 404, JSON_TYPE, (t) => expect(t).toBe(NO_DATA)],
    ['no_data via body', { kind: 'no_data', via: 'body' }, 200, JSON_TYPE, (t) => expect(t).toBe(NO_DATA)],
    ['missing_token', { kind: 'missing_token' }, 401, JSON_TYPE, (t) => expect(t).toBe(errorJson('401', 'PLEASE ENTER THE WOLKVOX-TOKEN'))],
    ['invalid_token', { kind: 'invalid_token' }, 403, JSON_TYPE, (t) => expect(t).toBe(errorJson('403', 'PLEASE VALIDATE TOKEN'))],
    ['invalid_token under 200', { kind: 'invalid_token', status: 200 }, 200, JSON_TYPE, (t) => expect(t).toBe(errorJson('403', 'PLEASE VALIDATE TOKEN'))],
    ['quota_exceeded', { kind: 'quota_exceeded' }, 403, JSON_TYPE, (t) => expect(t).toBe(errorJson('403', 'TOKEN LIMIT EXCEEDED'))],
    [
      'concurrency_limited',
      { kind: 'concurrency_limited' },
      403,
      JSON_TYPE,
      (t) => expect(t).toBe(errorJson('403', 'EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)')),
    ],
    ['maintenance', { kind: 'maintenance' }, 403, 'text/html; charset=UTF-8', (t) => expect(t).toMatch(/^<!DOCTYPE html>.*mantenimiento/is)],
    ['server_error 500', { kind: 'server_error', status: 500 }, 500, 'text/plain; charset=UTF-8', (t) => expect(t).toBe('Internal Server Error')],
    ['server_error 502', { kind: 'server_error', status: 502 }, 502, 'text/html; charset=UTF-8', (t) => expect(t).toContain('502 Bad Gateway')],
    ['server_error 503', { kind: 'server_error', status: 503 }, 503, 'text/plain; charset=UTF-8', (t) => expect(t).toBe('Service Unavailable')],
    ['server_error 504', { kind: 'server_error', status: 504 }, 504, 'text/html; charset=UTF-8', (t) => expect(t).toContain('504 Gateway Time-out')],
    ['bad_request', { kind: 'bad_request' }, 400, JSON_TYPE, (t) => expect(t).toBe(errorJson('400', 'SOME PARAMETERS ARE REQUIRED'))],
    [
      'code_in_body',
      { kind: 'code_in_body', code: '403', error: 'TOKEN LIMIT EXCEEDED' },
      200,
      JSON_TYPE,
      (t) => expect(t).toBe(errorJson('403', 'TOKEN LIMIT EXCEEDED')),
    ],
    ['html', { kind: 'html' }, 200, 'text/html; charset=UTF-8', (t) => expect(t).toContain('<form method="post" action="/login">')],
    [
      'truncated_json',
      { kind: 'truncated_json' },
      200,
      JSON_TYPE,
      (t) => {
        expect(t.startsWith('{"code":"200","error":null,"msg":"1 records were found","data":[{')).toBe(true);
        expect(() => JSON.parse(t) as unknown).toThrow(SyntaxError);
      },
    ],
    [
      'wrong_shape',
      { kind: 'wrong_shape' },
      200,
      JSON_TYPE,
      (t) => {
        const body = JSON.parse(t) as { code: string; data: unknown };
        expect(body.code).toBe('200');
        expect(body.data).toMatchObject({ ad_chatbot: String(countsForWindow(INI, END, 1).ad_chatbot) });
        expect(Array.isArray(body.data)).toBe(false);
      },
    ],
    [
      'wrong_shape as string',
      { kind: 'wrong_shape', as: 'string' },
      200,
      JSON_TYPE,
      (t) => expect(typeof (JSON.parse(t) as { data: unknown }).data).toBe('string'),
    ],
    [
      'bad_value',
      { kind: 'bad_value', value: '-3' },
      200,
      JSON_TYPE,
      (t) => {
        const row = rowsOf(t)[0];
        expect(row?.ad_chatbot).toBe('-3');
        expect(row?.ad_agents).toBe(String(countsForWindow(INI, END, 1).ad_agents));
      },
    ],
    [
      'bad_value with quotes',
      { kind: 'bad_value', value: '1"2' },
      200,
      JSON_TYPE,
      (t) => expect(rowsOf(t)[0]?.ad_chatbot).toBe('1"2'),
    ],
  ])('%s', async (_name, scenario, status, contentType, checkBody) => {
    const s = await start({ scenario });
    const answer = await call(s);
    expect(answer.status).toBe(status);
    expect(answer.contentType).toBe(contentType);
    checkBody(answer.text);
    expect(s.stats().byStatus).toEqual({ [String(status)]: 1 });
  });

  it('switches scenario with setScenario', async () => {
    const s = await start();
    expect((await call(s)).status).toBe(200);
    s.setScenario({ kind: 'quota_exceeded' });
    expect((await call(s)).text).toBe(errorJson('403', 'TOKEN LIMIT EXCEEDED'));
    s.setScenario({ kind: 'ok' });
    expect((await call(s)).status).toBe(200);
    expect(() => s.setScenario({ kind: 'slow', delayMs: -1 })).toThrow(RangeError);
  });

  it('slow answers normally after the delay, counted in flight meanwhile', async () => {
    const s = await start({ scenario: { kind: 'slow', delayMs: 120 } });
    const started = performance.now();
    const pending = call(s);
    await until(() => s.stats().inFlight === 1, 'the slow request to arrive');
    const answer = await pending;
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    expect(answer.status).toBe(200);
    expect(Number(rowsOf(answer.text)[0]?.total_agents)).toBe(countsForWindow(INI, END, 1).total_agents);
    expect(s.stats().inFlight).toBe(0);
  });

  it('adds latencyMs to every answer', async () => {
    const s = await start({ latencyMs: 80 });
    const started = performance.now();
    expect((await call(s, undefined, null)).status).toBe(401);
    expect(performance.now() - started).toBeGreaterThanOrEqual(70);
  });

  it('huge_body streams exactly that many bytes of JSON', async () => {
    const bytes = 3 * 1024 * 1024 + 17;
    const s = await start({ scenario: { kind: 'huge_body', bytes } });
    const answer = await call(s);
    expect(answer.status).toBe(200);
    expect(Buffer.byteLength(answer.text)).toBe(bytes);
    expect(JSON.parse(answer.text)).toEqual({ code: '200', error: null, msg: '1 records were found', data: [] });
  });

  it('huge_body stops when the client goes away', async () => {
    const s = await start({ scenario: { kind: 'huge_body', bytes: 1024 * 1024 * 1024 } });
    const res = await fetch(`${s.url}${PATH}?api=chat_15&date_ini=${INI}&date_end=${END}`, {
      headers: { 'wolkvox-token': TOKEN },
    });
    expect(res.status).toBe(200);
    let received = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.byteLength;
      if (received > 256 * 1024) break; // leaving the loop cancels the body stream
    }
    await until(() => s.stats().inFlight === 0, 'the stream to stop');
    expect(received).toBeLessThan(1024 * 1024 * 1024);
  });

  it('hang never answers, and close() still resolves', async () => {
    const s = await start({ scenario: { kind: 'hang' } });
    const pending = call(s).then(
      () => 'answered',
      () => 'failed',
    );
    await until(() => s.stats().inFlight === 1, 'the hanging request to arrive');
    expect(s.requests()).toHaveLength(1);
    await s.close();
    expect(await pending).toBe('failed');
    expect(s.stats().inFlight).toBe(0);
    expect(s.stats().byStatus).toEqual({});
  });

  it('close() resolves while a latency timer is pending and is idempotent', async () => {
    const s = await start({ latencyMs: 200 });
    const pending = call(s).catch(() => 'failed');
    await until(() => s.stats().inFlight === 1, 'the request to arrive');
    await Promise.all([s.close(), s.close()]);
    expect(await pending).toBe('failed');
  });

  it('reset destroys the socket without an answer', async () => {
    const s = await start({ scenario: { kind: 'reset' } });
    const error = await call(s).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(TypeError);
    const cause = (error as { cause?: { code?: string } }).cause;
    expect(cause?.code).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
    expect(s.stats().byStatus).toEqual({ reset: 1 });
  });
});
