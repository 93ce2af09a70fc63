// The HTTP handler on its own: every route, gzip negotiation, the guard and the lifecycle switch.
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createApp, type AppDeps } from '../../src/http/app.js';
import { createScrapeHandler, type ScrapeSources } from '../../src/http/scrape.js';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const EXPORTER_TEXT = '# HELP test_value A test gauge.\n# TYPE test_value gauge\ntest_value 42\n';

/** A scrape handler over fixed text, as main builds one over the metrics. */
function scrapeOf(exporter: Partial<ScrapeSources['exporter']> = {}, runtime = 'process_up 1\n') {
  return createScrapeHandler({
    exporter: { generation: () => 'g1', render: async () => EXPORTER_TEXT, ...exporter },
    runtime: { text: async () => runtime },
    now: () => 0,
    contentType: CONTENT_TYPE,
  });
}

function app(overrides: Partial<AppDeps> = {}) {
  return createApp({
    scrape: scrapeOf(),
    telemetryPath: '/metrics',
    version: '9.8.7',
    isReady: () => true,
    accountNames: () => ['colombia', 'mexico'],
    ...overrides,
  });
}

describe('createApp', () => {
  // issue 8, defect 7: a route's error (or its stack trace) never reaches the client.
  it('answers a failing route with one plain 500 line, tells onError, and never sends the stack', async () => {
    const errors: unknown[] = [];
    const failing = scrapeOf({ render: () => Promise.reject(new Error('render exploded at /secret/path')) });
    const response = await request(app({ scrape: failing, onError: (error) => errors.push(error) })).get('/metrics');
    expect(response.status).toBe(500);
    expect(response.text).toBe('internal server error\n');
    expect(response.text).not.toMatch(/exploded|\bat |Error/);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('render exploded at /secret/path');
  });

  it('serves a landing page that links the configured telemetry path, health and readiness', async () => {
    const response = await request(app({ telemetryPath: '/custom/metrics' })).get('/');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.text).toContain('<a href="/custom/metrics">');
    expect(response.text).toContain('<a href="/healthz">');
    expect(response.text).toContain('<a href="/readyz">');
    expect(response.text).toContain('9.8.7');
    expect(response.text).toContain('<code>colombia</code>, <code>mexico</code>');
    expect(response.text).not.toContain('/-/reload');
  });

  it('escapes account names on the landing page', async () => {
    const response = await request(app({ accountNames: () => ['<script>x</script>'] })).get('/');
    expect(response.text).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(response.text).not.toContain('<script>x');
  });

  it('mentions POST /-/reload only when the lifecycle API is on', async () => {
    const response = await request(app({ reload: async () => {} })).get('/');
    expect(response.text).toContain('POST /-/reload');
  });

  it('serves the exporter part, then the runtime part, on the telemetry path in the Prometheus text format', async () => {
    const response = await request(app({ telemetryPath: '/custom/metrics' })).get('/custom/metrics?x=1').set('Accept-Encoding', 'identity');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe(CONTENT_TYPE);
    expect(response.text).toBe(`${EXPORTER_TEXT}process_up 1\n`);
    expect(Number(response.headers['content-length'])).toBe(Buffer.byteLength(response.text));
    expect((await request(app({ telemetryPath: '/custom/metrics' })).get('/metrics')).status).toBe(404);
  });

  it('gzips /metrics when the scraper asks for it, as Prometheus does', async () => {
    // A raw client, so that nothing decompresses the body behind the test's back.
    const server = createServer(app()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/metrics', headers: { 'accept-encoding': 'gzip' } }, resolve).on('error', reject);
      });
      const parts: Buffer[] = [];
      for await (const part of response) parts.push(part as Buffer);
      const raw = Buffer.concat(parts);
      expect(response.headers['content-encoding']).toBe('gzip');
      expect(response.headers.vary).toMatch(/Accept-Encoding/);
      expect(Number(response.headers['content-length'])).toBe(raw.length);
      expect(gunzipSync(raw).toString('utf8')).toBe(`${EXPORTER_TEXT}process_up 1\n`);
    } finally {
      server.close();
    }
  });

  it('answers plain text to a client that does not ask for gzip', async () => {
    const response = await request(app()).get('/metrics').set('Accept-Encoding', 'identity');
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.text).toContain('test_value 42');
  });

  it('answers /healthz with 200 whatever the readiness', async () => {
    const response = await request(app({ isReady: () => false })).get('/healthz');
    expect(response.status).toBe(200);
    expect(response.text).toBe('OK\n');
  });

  it('answers /readyz 503 until ready, then 200', async () => {
    let ready = false;
    const subject = app({ isReady: () => ready });
    const before = await request(subject).get('/readyz');
    expect(before.status).toBe(503);
    expect(before.text).toContain('not ready');
    ready = true;
    expect((await request(subject).get('/readyz')).status).toBe(200);
  });

  it('refuses POST /-/reload with 403 and a hint without --web.enable-lifecycle', async () => {
    const response = await request(app()).post('/-/reload');
    expect(response.status).toBe(403);
    expect(response.text).toContain('--web.enable-lifecycle');
  });

  it('runs the reload on POST /-/reload and reports a failure with its message', async () => {
    let reloads = 0;
    const ok = await request(app({ reload: async () => void reloads++ })).post('/-/reload');
    expect(ok.status).toBe(200);
    expect(reloads).toBe(1);
    const bad = await request(app({ reload: async () => Promise.reject(new Error('accounts[0].name: is required')) })).post('/-/reload');
    expect(bad.status).toBe(500);
    expect(bad.text).toBe('failed to reload config: accounts[0].name: is required\n');
    // Reload is POST only, as in Prometheus.
    expect((await request(app({ reload: async () => {} })).get('/-/reload')).status).toBe(404);
  });

  it('answers unknown paths with 404 and hides the framework', async () => {
    const response = await request(app()).get('/nope');
    expect(response.status).toBe(404);
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('runs the guard before every route', async () => {
    const guard: AppDeps['guard'] = (_req, res) => void res.writeHead(401).end('no\n');
    const subject = app({ guard, reload: async () => {} });
    for (const path of ['/', '/metrics', '/healthz', '/readyz', '/nope']) {
      expect((await request(subject).get(path)).status, path).toBe(401);
    }
    expect((await request(subject).post('/-/reload')).status).toBe(401);
  });
});
