// The chat_15 client against loopback servers: the exact request, keep-alive, https, one case per failure, and no token in any error.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { chat15Url, createWolkvoxClient, MAX_BODY_BYTES, REPORT_PATH, transportFailure, type WolkvoxClientOptions } from '../../src/wolkvox/client.js';
import { IDLE_SOCKET_MS } from '../../src/wolkvox/http-get.js';
import { WolkvoxError, type FailureKind } from '../../src/wolkvox/outcome.js';
import { zeroCounts } from '../../src/wolkvox/response.js';
import { makePki, removePki, type Pki } from '../http/web-helpers.js';
import { settleIo, track, useFakeClock } from '../support/fake-clock.js';
import { reservePort } from '../support/loopback.js';
import { waitFor } from '../support/processes.js';

const TOKEN = 'tok-SENTINEL-9f2';
const ORIGIN = 'https://wv0032.wolkvox.com';
const WINDOW = { dateIni: '20240615000000', dateEnd: '20240615123045' };
const PATH = '/api/v2/reports_manager.php?api=chat_15&date_ini=20240615000000&date_end=20240615123045';
const J = JSON.stringify;
const OK_BODY = J({
  code: '200',
  error: null,
  msg: '1 records were found',
  data: [{ ad_chatbot: '1', ad_agents: '2', post_chatbot: '3', post_agents: '4', total_chatbot: '5', total_agents: '6' }],
});
const OK_COUNTS = { ad_chatbot: 1, ad_agents: 2, post_chatbot: 3, post_agents: 4, total_chatbot: 5, total_agents: 6 };

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type AnyServer = Server | HttpsServer;
type Loopback = { origin: string; requests: IncomingMessage[]; connections(): number };

const servers: AnyServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** Starts `server` on 127.0.0.1 with `handler`, counting requests and connections; closed after the test. */
async function listen(server: AnyServer, scheme: 'http' | 'https', handler: Handler): Promise<Loopback> {
  const requests: IncomingMessage[] = [];
  let connections = 0;
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', () => void connections++);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    requests.push(req);
    handler(req, res);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { origin: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, connections: () => connections };
}

/** A loopback HTTP server answering every request with `handler`. */
const serve = (handler: Handler): Promise<Loopback> => listen(createServer(), 'http', handler);

/** Answers every request with `status` and `body`. */
const reply =
  (status: number, body: string, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };

function client(origin: string, options: Partial<WolkvoxClientOptions> = {}) {
  return createWolkvoxClient({ baseUrl: origin, token: new Secret(TOKEN), timeoutMs: 5_000, ...options });
}

async function failure(promise: Promise<unknown>): Promise<WolkvoxError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(WolkvoxError);
    return error as WolkvoxError;
  }
  throw new Error('expected the call to fail');
}

/** Every text an error and its cause chain can be turned into. */
function renderings(error: unknown): string[] {
  const texts: string[] = [inspect(error, { depth: 20, showHidden: true }), inspect(error, { depth: 20 })];
  try {
    texts.push(J(error) ?? '');
  } catch {
    // A cycle: inspect above already covers it.
  }
  let current: unknown = error;
  for (let depth = 0; current && depth < 10; depth++) {
    const e = current as { message?: unknown; stack?: unknown; cause?: unknown };
    texts.push(String(current), String(e.message), String(e.stack));
    current = e.cause;
  }
  return texts;
}

function expectNoToken(error: unknown): void {
  for (const text of renderings(error)) {
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('SENTINEL');
  }
}

describe('chat15Url', () => {
  it.each([
    [ORIGIN, `${ORIGIN}${PATH}`],
    [`${ORIGIN}/`, `${ORIGIN}${PATH}`],
    ['http://127.0.0.1:8080', `http://127.0.0.1:8080${PATH}`],
    // spec: `{base}/api/v2/...`: a proxy's path prefix stays.
    ['https://proxy.example/wolkvox', `https://proxy.example/wolkvox${PATH}`],
    ['https://proxy.example/wolkvox//', `https://proxy.example/wolkvox${PATH}`],
  ])('%s → %s', (base, url) => {
    expect(chat15Url(base, WINDOW).href).toBe(url);
    expect(REPORT_PATH).toBe('/api/v2/reports_manager.php');
  });
});

describe('fetchChat15: the request', () => {
  it('sends GET with the exact path, query order and wolkvox-token header, and nothing else of note', async () => {
    const server = await serve(reply(200, OK_BODY));
    await expect(client(server.origin).fetchChat15(WINDOW)).resolves.toEqual({ kind: 'success', counts: OK_COUNTS });
    expect(server.requests.map((r) => ({ method: r.method, url: r.url, headers: r.headers }))).toEqual([
      {
        method: 'GET',
        url: PATH,
        headers: { host: server.origin.slice('http://'.length), 'wolkvox-token': TOKEN, accept: 'application/json', connection: 'keep-alive' },
      },
    ]);
  });

  it('keeps the path prefix of a proxy base URL', async () => {
    const server = await serve(reply(200, OK_BODY));
    await client(`${server.origin}/wolkvox`).fetchChat15(WINDOW);
    expect(server.requests.map((r) => r.url)).toEqual([`/wolkvox${PATH}`]);
  });

  it('keeps the connection open between calls to one origin', async () => {
    const server = await serve(reply(200, OK_BODY));
    const c = client(server.origin);
    for (let call = 0; call < 3; call++) await expect(c.fetchChat15(WINDOW)).resolves.toEqual({ kind: 'success', counts: OK_COUNTS });
    expect([server.requests.length, server.connections()]).toEqual([3, 1]);
  });

  it('closes an idle connection after IDLE_SOCKET_MS, or sooner when the server says so', async () => {
    expect(IDLE_SOCKET_MS).toBe(4_000);
    // Keep-Alive: timeout=1 is below Node's one-second safety margin: the socket is not kept for the next call.
    const server = await serve(reply(200, OK_BODY, { 'keep-alive': 'timeout=1' }));
    const c = client(server.origin);
    await c.fetchChat15(WINDOW);
    await c.fetchChat15(WINDOW);
    expect([server.requests.length, server.connections()]).toEqual([2, 2]);
  });

  it('uses the agent it is given', async () => {
    const server = await serve(reply(200, OK_BODY));
    const agent = new HttpAgent({ keepAlive: true });
    await client(server.origin, { agent }).fetchChat15(WINDOW);
    // The socket it kept for the next call is in this agent's free list, named by the origin.
    const kept = Object.entries(agent.freeSockets).map(([name, sockets]) => [name, sockets?.length]);
    agent.destroy();
    expect(kept).toEqual([[`${server.origin.slice('http://'.length)}:`, 1]]);
  });

  it('caps bodies at 10 MiB by default', () => {
    expect(MAX_BODY_BYTES).toBe(10 * 1024 * 1024);
  });
});

describe('fetchChat15 over https', () => {
  let pki: Pki;
  beforeAll(async () => {
    pki = await makePki();
  });
  afterAll(() => removePki(pki));

  it('verifies the server against the CA it is given and reads the answer', async () => {
    const [key, cert] = await Promise.all([readFile(join(pki.dir, 'server.key')), readFile(join(pki.dir, 'server.crt'))]);
    const loopback = await listen(createHttpsServer({ key, cert }), 'https', reply(200, OK_BODY));
    const origin = loopback.origin;
    const trusted = new HttpsAgent({ ca: pki.ca, keepAlive: true });
    const c = client(origin, { agent: trusted });
    await expect(c.fetchChat15(WINDOW)).resolves.toEqual({ kind: 'success', counts: OK_COUNTS });
    await expect(c.fetchChat15(WINDOW)).resolves.toEqual({ kind: 'success', counts: OK_COUNTS });
    expect([loopback.requests.length, loopback.connections()]).toEqual([2, 1]);
    expect(loopback.requests[0]?.headers['wolkvox-token']).toBe(TOKEN);
    trusted.destroy();
    // Without that CA (the shared agent trusts only the system's), the self-signed chain is refused.
    const untrusted = await failure(client(origin).fetchChat15(WINDOW));
    expect([untrusted.kind, untrusted.message]).toEqual(['network_error', 'request failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
    expectNoToken(untrusted);
  });
});

describe('fetchChat15: answers', () => {
  it('reads an empty data array as zeros', async () => {
    const server = await serve(reply(200, J({ code: 200, error: null, msg: '0', data: [] })));
    await expect(client(server.origin).fetchChat15(WINDOW)).resolves.toEqual({ kind: 'success', counts: zeroCounts() });
  });

  it.each<[string, number, string]>([
    ['HTTP 404', 404, ''],
    ['HTTP 404 with HTML', 404, '<html><body>404</body></html>'],
    ['code 404 under HTTP 200', 200, J({ code: '404', error: null, msg: null, data: null })],
  ])('reads %s as no data', async (_name, status, body) => {
    const server = await serve(reply(status, body));
    await expect(client(server.origin).fetchChat15(WINDOW)).resolves.toEqual({ kind: 'no_data' });
  });

  const html = (text: string) => `<!DOCTYPE html><html><head><title>${text}</title></head><body><h1>${text}</h1></body></html>`;

  it.each<[string, number, string, FailureKind, number | undefined, string]>([
    ['401', 401, J({ code: '401', error: 'PLEASE ENTER THE WOLKVOX-TOKEN', msg: null, data: null }), 'unauthorized', 401, 'HTTP 401: "PLEASE ENTER THE WOLKVOX-TOKEN"'],
    ['403 PLEASE VALIDATE TOKEN', 403, J({ code: '403', error: 'PLEASE VALIDATE TOKEN', msg: null, data: null }), 'unauthorized', 403, 'Wolkvox rejected the token (PLEASE VALIDATE TOKEN)'],
    ['PLEASE VALIDATE TOKEN under 200', 200, J({ code: '403', error: 'PLEASE VALIDATE TOKEN', msg: null, data: null }), 'unauthorized', 200, 'Wolkvox rejected the token (PLEASE VALIDATE TOKEN)'],
    ['403 TOKEN LIMIT EXCEEDED', 403, J({ code: '403', error: 'TOKEN LIMIT EXCEEDED', msg: null, data: null }), 'quota_exceeded', 403, 'HTTP 403: "TOKEN LIMIT EXCEEDED"'],
    ['403 SIMULTANEOUS REQUESTS', 403, J({ code: '403', error: 'EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)', msg: null, data: null }), 'concurrency_limited', 403, 'HTTP 403: "EXCEEDS THE LIMIT OF SIMULTANEOUS REQUESTS PER TOKEN (2)"'],
    ['403 maintenance HTML', 403, html('Servidor en mantenimiento'), 'server_error', 403, 'HTTP 403'],
    ['400 unknown API', 400, J({ code: '400', error: 'THE API YOU WANT TO CONSULT DOES NOT EXIST', msg: null, data: null }), 'bad_request', 400, 'HTTP 400: "THE API YOU WANT TO CONSULT DOES NOT EXIST"'],
    ['400 missing parameters', 400, J({ code: '400', error: 'SOME PARAMETERS ARE REQUIRED', msg: null, data: null }), 'bad_request', 400, 'HTTP 400: "SOME PARAMETERS ARE REQUIRED"'],
    ['500 HTML', 500, html('Internal Server Error'), 'server_error', 500, 'HTTP 500'],
    ['502 HTML from a proxy', 502, html('502 Bad Gateway'), 'server_error', 502, 'HTTP 502'],
    ['503 empty', 503, '', 'server_error', 503, 'HTTP 503'],
    ['504 text', 504, 'upstream request timeout', 'server_error', 504, 'HTTP 504'],
    ['code "403" only in the body', 200, J({ code: '403', error: 'TOKEN LIMIT EXCEEDED', msg: null, data: null }), 'quota_exceeded', 403, 'HTTP 200 with body code 403: "TOKEN LIMIT EXCEEDED"'],
    ['code "500" only in the body', 200, J({ code: '500', error: null, msg: null, data: null }), 'server_error', 500, 'HTTP 200 with body code 500'],
    ['code 401 only in the body', 200, J({ code: 401, error: 'PLEASE ENTER THE WOLKVOX-TOKEN' }), 'unauthorized', 401, 'HTTP 200 with body code 401: "PLEASE ENTER THE WOLKVOX-TOKEN"'],
    ['HTML under 200', 200, html('Login'), 'invalid_response', 200, 'HTTP 200 with an HTML page instead of JSON'],
    ['truncated JSON', 200, OK_BODY.slice(0, 50), 'invalid_response', 200, 'HTTP 200 with a body that is not JSON'],
    ['data that is not an array', 200, J({ code: '200', data: null }), 'invalid_response', 200, '"data" is null, not an array of rows'],
    ['a value that is not a count', 200, J({ code: '200', data: [{ ad_agents: '-1' }] }), 'invalid_response', undefined, 'data[0].ad_agents is "-1", not a non-negative integer'],
  ])('fails on %s', async (_name, status, body, kind, errorStatus, message) => {
    const server = await serve(reply(status, body));
    const error = await failure(client(server.origin).fetchChat15(WINDOW));
    expect({ kind: error.kind, status: error.status, message: error.message }).toEqual({ kind, status: errorStatus, message });
    expectNoToken(error);
  });
});

describe('fetchChat15: transport failures', () => {
  it('a connection reset before the answer is network_error', async () => {
    const server = await serve((req) => req.socket.destroy());
    const error = await failure(client(server.origin).fetchChat15(WINDOW));
    expect({ kind: error.kind, message: error.message, status: error.status }).toEqual({ kind: 'network_error', message: 'request failed: ECONNRESET', status: undefined });
    expect((error.cause as { code?: string }).code).toBe('ECONNRESET');
    expectNoToken(error);
  });

  it('a 101 to a GET that asked for no upgrade is network_error, not an answer', async () => {
    // Without an Upgrade header Node hands a 101 over as the response; every other 1xx it waits through
    // (fault-matrix.test.ts: the 1xx property, which found this).
    const server = await serve((_req, res) => {
      res.writeHead(101, { 'content-type': 'application/json' });
      res.end();
    });
    const error = await failure(client(server.origin).fetchChat15(WINDOW));
    expect({ kind: error.kind, message: error.message, status: error.status }).toEqual({ kind: 'network_error', message: 'request failed: UNEXPECTED_UPGRADE', status: undefined });
    expectNoToken(error);
  });

  it('a refused connection is network_error', async ({ onTestFinished }) => {
    const reserved = await reservePort();
    onTestFinished(() => reserved.release());
    const error = await failure(client(reserved.refusedUrl).fetchChat15(WINDOW));
    expect([error.kind, error.message]).toEqual(['network_error', 'request failed: ECONNREFUSED']);
  });

  it('a name that does not resolve is network_error, and no resolver is asked', async () => {
    // The lookup fails as getaddrinfo does for an unknown name, so no network is needed.
    const looked: string[] = [];
    const agent = new HttpAgent({
      lookup: (hostname: string, _options: unknown, callback: (error: Error | null, address: string, family: number) => void) => {
        looked.push(hostname);
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname }), '', 4);
      },
    } as ConstructorParameters<typeof HttpAgent>[0]);
    const error = await failure(client('http://wv0032.wolkvox.invalid', { agent }).fetchChat15(WINDOW));
    expect([error.kind, error.message, looked]).toEqual(['network_error', 'request failed: ENOTFOUND', ['wv0032.wolkvox.invalid']]);
  });

  it('gives up at exactly timeoutMs on a reply that is too slow: timeout', async ({ onTestFinished }) => {
    // The call's deadline and the server's reply delay on a fake clock: a busy machine can make neither early nor late.
    useFakeClock(onTestFinished);
    const server = await serve((_req, res) => void setTimeout(() => reply(200, OK_BODY)(_req, res), 2_000));
    const call = track(client(server.origin, { timeoutMs: 50 }).fetchChat15(WINDOW));
    await waitFor('the request to arrive', async () => (server.requests.length > 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 5 });
    await vi.advanceTimersByTimeAsync(49);
    await settleIo();
    expect(call.settled()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    // The clock stands still from here: only the deadline that just passed can end the call.
    await waitFor('the call to end at its deadline', async () => (call.settled() ? true : undefined), { timeoutMs: 30_000, intervalMs: 5 });
    const error = await failure(call.promise);
    expect({ kind: error.kind, message: error.message }).toEqual({ kind: 'timeout', message: 'no complete answer within the timeout' });
  });

  it('waits for a slow reply that comes a moment before timeoutMs', async ({ onTestFinished }) => {
    useFakeClock(onTestFinished);
    const server = await serve((_req, res) => void setTimeout(() => reply(200, OK_BODY)(_req, res), 1_999));
    const call = client(server.origin, { timeoutMs: 2_000 }).fetchChat15(WINDOW);
    await waitFor('the request to arrive', async () => (server.requests.length > 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 5 });
    // The clock stops 1 ms short of the deadline: only the reply can settle the call now.
    await vi.advanceTimersByTimeAsync(1_999);
    await expect(call).resolves.toEqual({ kind: 'success', counts: OK_COUNTS });
  });

  it('stops at once when the caller aborts, without calling it a timeout', async ({ onTestFinished }) => {
    useFakeClock(onTestFinished);
    const server = await serve(() => {});
    const controller = new AbortController();
    const call = track(client(server.origin, { timeoutMs: 10_000 }).fetchChat15(WINDOW, controller.signal));
    await waitFor('the request to arrive', async () => (server.requests.length > 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 5 });
    expect(call.settled()).toBe(false);
    controller.abort();
    // No timer runs from here on: the deadline cannot end the call, only the abort.
    await waitFor('the call to end once aborted', async () => (call.settled() ? true : undefined), { timeoutMs: 30_000, intervalMs: 5 });
    const error = await failure(call.promise);
    expect([error.kind, error.message]).toEqual(['network_error', 'request failed: ABORT_ERR']);
  });

  it('refuses a body past maxBodyBytes: invalid_response', async () => {
    const server = await serve(reply(200, `${OK_BODY}${' '.repeat(200)}`));
    const error = await failure(client(server.origin, { maxBodyBytes: 100 }).fetchChat15(WINDOW));
    expect({ kind: error.kind, message: error.message }).toEqual({
      kind: 'invalid_response',
      message: 'body larger than 100 bytes; not a chat_15 answer',
    });
  });

  it('refuses a chunked body past maxBodyBytes that announces no length', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('x'.repeat(80));
      res.write('x'.repeat(80));
    });
    const error = await failure(client(server.origin, { maxBodyBytes: 100 }).fetchChat15(WINDOW));
    expect(error.message).toBe('body larger than 100 bytes; not a chat_15 answer');
  });

  it('accepts a body of exactly maxBodyBytes', async () => {
    const server = await serve(reply(200, OK_BODY));
    const size = Buffer.byteLength(OK_BODY);
    await expect(client(server.origin, { maxBodyBytes: size }).fetchChat15(WINDOW)).resolves.toEqual({ kind: 'success', counts: OK_COUNTS });
  });

  it('refuses an answer whose content-length announces too much, before reading it', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000000' });
      res.write('{}');
    });
    const error = await failure(client(server.origin, { maxBodyBytes: 1_000 }).fetchChat15(WINDOW));
    expect({ kind: error.kind, status: error.status, message: error.message }).toEqual({
      kind: 'invalid_response',
      status: 200,
      message: 'body of 1000000 bytes announced; not a chat_15 answer',
    });
  });

  it('counts bytes, not characters, against maxBodyBytes', async () => {
    // 40 three-byte characters: 40 characters, 120 bytes.
    const server = await serve(reply(200, '€'.repeat(40)));
    const error = await failure(client(server.origin, { maxBodyBytes: 100 }).fetchChat15(WINDOW));
    expect(error.message).toBe('body larger than 100 bytes; not a chat_15 answer');
  });
});

describe('transportFailure: what was thrown, as a failure kind', () => {
  it.each<[string, unknown, string]>([
    ['a code on the error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'request failed: ECONNRESET'],
    ['a code only in the cause', new Error('fetch failed', { cause: Object.assign(new Error('x'), { code: 'EPIPE' }) }), 'request failed: EPIPE'],
    ['no code, a name', new TypeError('socket closed'), 'request failed: TypeError'],
    ['null', null, 'request failed: error'],
    ['a string', 'boom', 'request failed: error'],
  ])('%s is network_error', (_name, thrown, message) => {
    const error = transportFailure(thrown, false, TOKEN);
    expect({ kind: error.kind, message: error.message, status: error.status }).toEqual({ kind: 'network_error', message, status: undefined });
    expect(error.cause).toBe(thrown);
  });

  it('anything thrown once the deadline passed is timeout', () => {
    const error = transportFailure(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }), true, TOKEN);
    expect([error.kind, error.message]).toEqual(['timeout', 'no complete answer within the timeout']);
  });

  it('passes a WolkvoxError through', () => {
    const thrown = new WolkvoxError('invalid_response', 'body larger than 1 bytes; not a chat_15 answer');
    expect(transportFailure(thrown, true, TOKEN)).toBe(thrown);
  });
});

describe('fetchChat15: the token never shows in an error', () => {
  const scenarios: Array<[string, Handler, Partial<WolkvoxClientOptions>]> = [
    ['401', reply(401, J({ code: '401', error: 'PLEASE ENTER THE WOLKVOX-TOKEN' })), {}],
    ['403 validate', reply(403, J({ code: '403', error: 'PLEASE VALIDATE TOKEN' })), {}],
    ['HTML', reply(200, '<html>x</html>'), {}],
    ['reset', (req) => req.socket.destroy(), {}],
    ['timeout', () => {}, { timeoutMs: 30 }],
    ['too big', reply(200, 'x'.repeat(500)), { maxBodyBytes: 100 }],
    ['announced too big', (_req, res) => void res.writeHead(200, { 'content-length': '999999' }).write('{}'), { maxBodyBytes: 100 }],
  ];

  it.each(scenarios)('%s', async (_name, handler, options) => {
    const server = await serve(handler);
    expectNoToken(await failure(client(server.origin, options).fetchChat15(WINDOW)));
  });

  it('blanks the token in a thrown error that quotes the request headers', () => {
    // As an HTTP library's or a proxy's error may: the headers as a property and in the message.
    const thrown = Object.assign(new Error(`no match for {"wolkvox-token":"${TOKEN}"}`), { code: 'E_NO_MATCH', request: { headers: { 'wolkvox-token': TOKEN } } });
    const error = transportFailure(thrown, false, TOKEN);
    expect(error.message).toBe('request failed: E_NO_MATCH');
    const cause = error.cause as Error & { code?: string };
    expect([cause.code, cause.message]).toEqual(['E_NO_MATCH', 'no match for {"wolkvox-token":"[REDACTED]"}']);
    expectNoToken(error);
  });

  // issue 8, defect 7: the server's own `error`/`msg` text, or a field, may echo the token; messages quote those.
  it.each([
    ['error and msg of a 403', 403, J({ code: '403', error: `MAINTENANCE FOR ${TOKEN}`, msg: `retry later, ${TOKEN}` }), 'server_error', 'HTTP 403: "MAINTENANCE FOR [REDACTED] retry later, [REDACTED]"'],
    ['error of a 400', 400, J({ code: '400', error: `BAD TOKEN ${TOKEN}` }), 'bad_request', 'HTTP 400: "BAD TOKEN [REDACTED]"'],
    ['a field of a 200', 200, J({ code: '200', data: [{ ad_chatbot: TOKEN }] }), 'invalid_response', 'data[0].ad_chatbot is "[REDACTED]", not a non-negative integer'],
  ])('blanks the token that the server echoes in %s', async (_name, status, body, kind, message) => {
    const server = await serve(reply(status, body));
    const error = await failure(client(server.origin).fetchChat15(WINDOW));
    expect([error.kind, error.message]).toEqual([kind, message]);
    expectNoToken(error);
  });

  it('blanks the token in a network error that quotes it', () => {
    const thrown = Object.assign(new Error(`proxy refused header ${TOKEN}`), { code: 'EPROTO' });
    const error = transportFailure(thrown, false, TOKEN);
    expect(error.message).toBe('request failed: EPROTO');
    expect((error.cause as Error).message).toBe('proxy refused header [REDACTED]');
    expectNoToken(error);
  });
});
