// A loopback stand-in for Wolkvox's chat_15 report, for --demo and tests; node:http only, imports nothing from the exporter.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { countsBetween, parseWolkvoxDate } from './data.js';
import {
  HTML_TYPE,
  MESSAGES,
  NOT_FOUND_PAGE,
  errorReply,
  hugeBodyChunks,
  scenarioReply,
  simultaneousMessage,
  validateScenario,
  type Reply,
  type Scenario,
} from './scenario.js';

export type { Scenario } from './scenario.js';
export { countsForWindow, type Chat15Counts } from './data.js';

export type SimulatorOptions = {
  /** Default 0 (ephemeral). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** The valid token; default 'demo-token'. */
  token?: string;
  /** Default { kind: 'ok' }. */
  scenario?: Scenario;
  /** Default 1; varies and scales the counts deterministically. */
  seed?: number;
  /** Milliseconds added to every answer (default 0); requests stay in flight meanwhile. */
  latencyMs?: number;
  /** Default 2: a request arriving while this many are in flight gets 403 SIMULTANEOUS. */
  maxConcurrent?: number;
  /** After this many calls (those past the token and concurrency checks), every call gets 403 TOKEN LIMIT EXCEEDED. */
  dailyQuota?: number;
  /** Default 1: the counts are split over this many rows. */
  rows?: number;
  /**
   * The simulator's clock, ms since the epoch (default Date.now). Chats after now + 14 h
   * (the furthest-ahead zone's wall clock) do not exist yet; pass the exporter's clock
   * when a test runs it at a fake time.
   */
  now?: () => number;
};

export type SimulatorStats = {
  /** Every request received, answered or not. */
  requests: number;
  /** Most requests in flight at once, counting ones that were then rejected. */
  maxInFlight: number;
  inFlight: number;
  /** Answers by HTTP status ('200', '403', ...), plus 'reset' for destroyed sockets. */
  byStatus: Record<string, number>;
};

export type LoggedRequest = { path: string; query: Record<string, string>; tokenPresent: boolean; at: number };

export type Simulator = {
  /** Origin, e.g. 'http://127.0.0.1:41234' (no trailing slash). */
  url: string;
  setScenario(s: Scenario): void;
  stats(): SimulatorStats;
  /** Log of received calls, oldest first (the last 10,000); never holds the token value. */
  requests(): ReadonlyArray<LoggedRequest>;
  /** Clears stats() and requests(); leaves the daily quota count alone. */
  resetStats(): void;
  /** Starts a new quota day: the dailyQuota count goes back to 0. */
  resetQuota(): void;
  /** Closes the server, destroying open and hanging sockets; resolves when closed. */
  close(): Promise<void>;
};

const REPORT_PATH = '/api/v2/reports_manager.php';
const MAX_SPAN_SECONDS = 31 * 86_400;
/** UTC+14 is the furthest-ahead zone: no zone's wall clock is later than this. */
const AHEAD_OF_UTC_SECONDS = 14 * 3_600;
const MAX_LOGGED_REQUESTS = 10_000;
const HUGE_CHUNK = Buffer.alloc(64 * 1024, 0x20);

function assertCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`simulator option ${name} must be an integer >= ${min}, got ${value}`);
  }
}

/** The wolkvox-token header, or undefined when absent or blank (Wolkvox treats both as missing). */
function presentedToken(req: IncomingMessage): string | undefined {
  const given = req.headers['wolkvox-token'];
  const value = Array.isArray(given) ? given[0] : given;
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** Starts the simulator and resolves once it listens. @throws RangeError on a nonsensical option. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const token = options.token ?? 'demo-token';
  const seed = options.seed ?? 1;
  const latencyMs = options.latencyMs ?? 0;
  const maxConcurrent = options.maxConcurrent ?? 2;
  const rows = options.rows ?? 1;
  const dailyQuota = options.dailyQuota;
  const now = options.now ?? Date.now;
  let scenario: Scenario = options.scenario ?? { kind: 'ok' };

  assertCount('seed', seed, Number.MIN_SAFE_INTEGER);
  assertCount('maxConcurrent', maxConcurrent, 1);
  assertCount('rows', rows, 1);
  if (dailyQuota !== undefined) assertCount('dailyQuota', dailyQuota, 0);
  if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new RangeError(`simulator option latencyMs must be >= 0, got ${latencyMs}`);
  if (token === '') throw new RangeError('simulator option token must not be empty');
  validateScenario(scenario);

  // inFlight lives outside the resettable stats: requests in flight across resetStats() still end.
  let inFlight = 0;
  let stats = { requests: 0, maxInFlight: 0, byStatus: {} as Record<string, number> };
  let log: LoggedRequest[] = [];
  let quotaUsed = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  // close() waits for these so that stats() reads 0 in flight once it resolves.
  let idleWaiters: Array<() => void> = [];

  const countStatus = (key: string): void => {
    stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1;
  };

  /** Decides the answer at arrival, so the checks see the in-flight count of that moment. */
  const decide = (req: IncomingMessage, url: URL): { reply: Reply; extraDelayMs: number } => {
    const plain = (reply: Reply): { reply: Reply; extraDelayMs: number } => ({ reply, extraDelayMs: 0 });
    if (url.pathname !== REPORT_PATH) {
      return plain({ type: 'body', status: 404, contentType: HTML_TYPE, body: NOT_FOUND_PAGE });
    }
    // The real API checks the token before anything else it does.
    const presented = presentedToken(req);
    if (presented === undefined) return plain(errorReply(401, MESSAGES.missingToken));
    if (presented !== token) return plain(errorReply(403, MESSAGES.invalidToken));
    // inFlight already includes this request.
    if (inFlight > maxConcurrent) return plain(errorReply(403, simultaneousMessage(maxConcurrent)));
    quotaUsed += 1;
    if (dailyQuota !== undefined && quotaUsed > dailyQuota) return plain(errorReply(403, MESSAGES.quotaExceeded));

    const api = url.searchParams.get('api');
    if (api === null || api === '') return plain(errorReply(400, MESSAGES.parametersRequired));
    if (api !== 'chat_15') return plain(errorReply(400, MESSAGES.unknownApi));
    const start = parseWolkvoxDate(url.searchParams.get('date_ini') ?? '');
    const end = parseWolkvoxDate(url.searchParams.get('date_end') ?? '');
    if (start === undefined || end === undefined) return plain(errorReply(400, MESSAGES.parametersRequired));
    if (end < start) return plain(errorReply(400, MESSAGES.endBeforeStart));
    if (end - start > MAX_SPAN_SECONDS) return plain(errorReply(400, MESSAGES.rangeTooLong));

    // Chats that have not happened yet are not counted, so a future window is a 404.
    const latest = Math.floor(now() / 1000) + AHEAD_OF_UTC_SECONDS;
    const clippedEnd = Math.min(end, latest);
    // Both ends count, to the second: 00:00:00 to 23:59:59 is the whole day, and adjacent windows add up.
    const counts = clippedEnd < start ? countsBetween(start, start, seed) : countsBetween(start, clippedEnd + 1, seed);
    const reply = scenarioReply(scenario, counts, rows, maxConcurrent);
    return { reply, extraDelayMs: scenario.kind === 'slow' ? scenario.delayMs : 0 };
  };

  const streamHuge = (res: ServerResponse, bytes: number): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunks = hugeBodyChunks(bytes, HUGE_CHUNK);
    // Write until the socket buffer is full, then wait for 'drain'; a closed client ends it.
    const pump = (): void => {
      while (!res.destroyed) {
        const next = chunks.next();
        if (next.done === true) {
          res.end();
          return;
        }
        if (!res.write(next.value)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  };

  const deliver = (req: IncomingMessage, res: ServerResponse, reply: Reply): void => {
    if (res.destroyed) return;
    switch (reply.type) {
      case 'body': {
        const body = Buffer.from(reply.body, 'utf8');
        countStatus(String(reply.status));
        res.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': body.length });
        res.end(body);
        return;
      }
      case 'stream':
        countStatus('200');
        streamHuge(res, reply.bytes);
        return;
      case 'hang':
        return; // close() destroys the socket
      case 'reset':
        countStatus('reset');
        req.socket.destroy();
        return;
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    stats.requests += 1;
    inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    let timer: NodeJS.Timeout | undefined;
    // 'close' fires once the answer is sent, the client goes away, or close() destroys the socket.
    res.once('close', () => {
      inFlight -= 1;
      if (inFlight === 0) {
        for (const wake of idleWaiters) wake();
        idleWaiters = [];
      }
      if (timer !== undefined) {
        clearTimeout(timer);
        timers.delete(timer);
      }
    });
    req.resume(); // read (and drop) any body, as a server that ignores it would

    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    log.push({
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      tokenPresent: presentedToken(req) !== undefined,
      at: now(),
    });
    if (log.length > MAX_LOGGED_REQUESTS) log = log.slice(-MAX_LOGGED_REQUESTS);

    const { reply, extraDelayMs } = decide(req, url);
    const delayMs = latencyMs + extraDelayMs;
    if (delayMs <= 0) {
      deliver(req, res, reply);
      return;
    }
    timer = setTimeout(() => {
      if (timer !== undefined) timers.delete(timer);
      timer = undefined;
      deliver(req, res, reply);
    }, delayMs);
    timers.add(timer);
  };

  const server = createServer(onRequest);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.close((err) => (err === undefined ? resolve() : reject(err)));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    }).then(
      () =>
        new Promise<void>((resolve) => {
          if (inFlight === 0) resolve();
          else idleWaiters.push(resolve);
        }),
    );
    return closing;
  };

  return new Promise<Simulator>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', onError);
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({
        url: `http://${host}:${address.port}`,
        setScenario(s: Scenario): void {
          validateScenario(s);
          scenario = s;
        },
        stats: () => ({ ...stats, inFlight, byStatus: { ...stats.byStatus } }),
        requests: () => log.map((entry) => ({ ...entry, query: { ...entry.query } })),
        resetStats(): void {
          stats = { requests: 0, maxInFlight: inFlight, byStatus: {} };
          log = [];
        },
        resetQuota(): void {
          quotaUsed = 0;
        },
        close,
      });
    });
  });
}
