// One GET over Node's own http and https modules: keep-alive sockets shared per origin, a byte cap on the body, abort.
//
// Why not undici (the stack's first choice): measured in `npm run bench` (issue 10), loading undici 7 costs about
// 18 MB of RSS and 140-215 ms, and it pulls in Node's bundled undici as well, through globalThis.Headers. Loaded at
// start-up it broke the 300 ms cold-start and 80 MB targets; loaded with the first poll it held the event loop for
// 90-130 ms while the first polls ran. node:http is loaded anyway for the /metrics server, so a chat_15 call costs
// nothing extra. A chat_15 call is one GET with one header and a small JSON answer: it needs no more than this file.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { WolkvoxError } from './outcome.js';

/**
 * An idle socket is closed after this, or sooner when the server's `Keep-Alive: timeout=N` says so (Node's agent
 * reads it). Reusing a socket the server has just closed fails the call, so stay below common server defaults (5 s).
 * The poller's per-origin limiter caps how many sockets are busy at once, so the agents set no maxSockets.
 */
export const IDLE_SOCKET_MS = 4_000;
const AGENT_OPTIONS = { keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' } as const;

type Sender = { request: (url: URL, options: RequestOptions) => ClientRequest; agent: HttpAgent };

let plain: Sender | undefined;
// node:https brings node:tls: loaded with the first https call, not at start-up, so /metrics is up sooner.
let secure: Promise<Sender> | undefined;

function senderFor(url: URL): Sender | Promise<Sender> {
  if (url.protocol === 'https:') {
    return (secure ??= import('node:https').then((https) => ({ request: https.request, agent: new https.Agent(AGENT_OPTIONS) })));
  }
  return (plain ??= { request: httpRequest, agent: new HttpAgent(AGENT_OPTIONS) });
}

export type GetOptions = {
  headers: Record<string, string>;
  /** Aborting destroys the request and its socket; the call rejects with Node's AbortError. */
  signal: AbortSignal;
  /** Bodies past this many bytes are refused, by content-length before reading or while reading. */
  maxBodyBytes: number;
  /** The agent for this call (tests pass one with their own lookup or CA); by default one shared per protocol. */
  agent?: HttpAgent;
};

export type GetAnswer = { status: number; text: string };

/** GETs `url` and reads the whole body as UTF-8. Rejects with what Node threw, or a WolkvoxError for a body too large. */
export async function get(url: URL, options: GetOptions): Promise<GetAnswer> {
  const sender = await senderFor(url);
  return new Promise<GetAnswer>((resolve, reject) => {
    const request = sender.request(url, { method: 'GET', headers: options.headers, agent: options.agent ?? sender.agent, signal: options.signal });
    // `on`, not `once`: an abort after a socket error emits a second error, and an unheard one would crash the process.
    request.on('error', reject);
    request.once('response', (response) => {
      // Errors after an abort also end the iteration below; without a listener they would crash the process.
      response.on('error', () => {});
      const status = response.statusCode ?? 0;
      // Node waits through 100 and the other 1xx, but hands over a 101 as if it were the answer. Switching
      // protocols on a GET that asked for no upgrade leaves no HTTP answer to read: the connection failed.
      if (status < 200) {
        request.destroy();
        reject(Object.assign(new Error(`HTTP ${status} to a GET that asked for no upgrade`), { code: 'UNEXPECTED_UPGRADE' }));
        return;
      }
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
        request.destroy();
        reject(new WolkvoxError('invalid_response', `body of ${declared} bytes announced; not a chat_15 answer`, { status }));
        return;
      }
      readCapped(response, options.maxBodyBytes).then(
        (text) => resolve({ status, text }),
        (error: unknown) => {
          request.destroy();
          reject(error);
        },
      );
    });
    request.end();
  });
}

async function readCapped(body: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      throw new WolkvoxError('invalid_response', `body larger than ${maxBytes} bytes; not a chat_15 answer`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
