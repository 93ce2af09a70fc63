// Writing small plain-text answers on node:http, as Go's http.Error does: one line, not sniffable.
import type { ServerResponse } from 'node:http';

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': String(body.length),
    ...headers,
  });
  res.end(body);
}
