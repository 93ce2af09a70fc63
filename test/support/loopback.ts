// Loopback addresses that refuse connections, held by the test itself so another process cannot start listening there.
import { createServer, type Server } from 'node:net';

/**
 * Nothing listens on this loopback address: the whole 127.0.0.0/8 reaches this machine on Linux, but servers bind
 * 127.0.0.1 or a wildcard address. Tests may still bind it on purpose (a simulator the test stops and starts again).
 */
export const REFUSING_HOST = '127.0.0.2';

export type ReservedPort = {
  port: number;
  /** `http://127.0.0.2:port`: connections are refused there (ECONNREFUSED) until a test listens on it. */
  refusedUrl: string;
  release(): Promise<void>;
};

/**
 * Holds 127.0.0.1:port with a listener until `release()`. While it is held no other process can take that port on a
 * wildcard address (EADDRINUSE), and the kernel hands it to no outgoing connection either, so REFUSING_HOST:port
 * refuses every connection, which a port found free and then closed cannot promise: a concurrent test run may
 * start listening on it.
 */
export async function reservePort(): Promise<ReservedPort> {
  const holder: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen(0, '127.0.0.1', () => {
      holder.off('error', reject);
      resolve();
    });
  });
  const address = holder.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address for the port holder');
  return {
    port: address.port,
    refusedUrl: `http://${REFUSING_HOST}:${address.port}`,
    release: () => new Promise<void>((resolve) => holder.close(() => resolve())),
  };
}
