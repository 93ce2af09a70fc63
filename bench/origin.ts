// The Wolkvox origin the bench's exporters poll: the in-process simulator behind a relay that lets every account have its own token.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startSimulator, type LoggedRequest, type Simulator } from '../src/simulator/server.js';

const TOKEN = 'bench-token';
const ACCOUNT_TOKEN = /^bench-token-\d+$/;

/**
 * The simulator knows one token, but accounts with their own tokens are what a real config has
 * (and what the exporter's per-token limiter expects: accounts sharing a token share its 2 calls,
 * so one token would serialise the start-up and hide the per-origin cap). The relay swaps each
 * `bench-token-N` for the simulator's token and forwards the call as is, one upstream socket per
 * call in flight, so the simulator's in-flight count is the exporter's.
 */
export type Origin = {
  /** What the exporter's accounts use as base_url. */
  url: string;
  simulator: Simulator;
  /** Most calls in flight at the relay at once (the origin the exporter sees), since resetStats(). */
  maxInFlight(): number;
  resetStats(): void;
  close(): Promise<void>;
};

/** `latencyMs`: how long the simulator takes to answer each call (0: at once). */
export async function startOrigin(latencyMs = 0): Promise<Origin> {
  // maxConcurrent: the per-token limit is the exporter's business; here, never refuse.
  const simulator = await startSimulator({ token: TOKEN, maxConcurrent: 1_000_000, latencyMs });
  const upstream = new URL(simulator.url);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  let inFlight = 0;
  let maxInFlight = 0;

  const relay = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // 'finish' (answer handed to the socket) comes before the exporter can send its next call; 'close' covers a reset.
    let ended = false;
    const end = () => {
      if (!ended) inFlight -= 1;
      ended = true;
    };
    res.once('finish', end);
    res.once('close', end);
    const headers = { ...req.headers };
    const token = headers['wolkvox-token'];
    if (typeof token === 'string' && ACCOUNT_TOKEN.test(token)) headers['wolkvox-token'] = TOKEN;
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  };

  const server = createServer({ keepAliveTimeout: 60_000 }, relay);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    simulator,
    maxInFlight: () => maxInFlight,
    resetStats() {
      simulator.resetStats();
      maxInFlight = inFlight;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
      await simulator.close();
    },
  };
}

/**
 * A config file of `accounts` accounts at `origin`, each with its own token file; windows and
 * interval come from flags, so the file holds only what differs per account.
 */
export function writeAccountsConfig(dir: string, origin: string, accounts: number): string {
  mkdirSync(join(dir, 'tokens'), { recursive: true });
  const lines = ['accounts:'];
  for (let i = 0; i < accounts; i++) {
    writeFileSync(join(dir, 'tokens', String(i)), `${TOKEN}-${i}\n`);
    lines.push(`  - name: account${i}`, `    base_url: ${origin}`, `    token_file: tokens/${i}`);
  }
  const path = join(dir, 'config.yml');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/**
 * A call for one settled chunk of the `_total` counters (an hour, with the default counter step):
 * date_ini at hh:00:00 and date_end at hh:59:59 of the same hour. Those run on their own schedule
 * (15 min after each hour), so one may fall into a load by chance; a window's call ends at "now".
 */
export function isCounterChunkCall(call: LoggedRequest): boolean {
  const ini = call.query.date_ini ?? '';
  const end = call.query.date_end ?? '';
  return /^\d{10}0000$/.test(ini) && /^\d{10}5959$/.test(end) && ini.slice(0, 10) === end.slice(0, 10);
}

/** Calls the simulator received since its last resetStats(), split into scheduled counter chunks and the rest. */
export function callsSinceReset(origin: Origin): { total: number; counterChunks: number; other: number } {
  const total = origin.simulator.stats().requests;
  const counterChunks = origin.simulator.requests().filter(isCounterChunkCall).length;
  return { total, counterChunks, other: total - counterChunks };
}
