// The HTTP handler on its own: every route, gzip negotiation, the guard and the lifecycle switch.
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createApp, type AppDeps } from '../../src/http/app.js';
import { createScrapeHandler, type ScrapeSources } from '../../src/http/scrape.js';
import { STATIC_ASSETS } from '../../src/http/static/assets.js';
import { STATUS_CSS } from '../../src/http/static/status-css.js';
import { STATUS_JS } from '../../src/http/static/status-js.js';
import type { StatusReport } from '../../src/status/report.js';
import { account, everyState, HOSTILE, report } from './status-page-fixtures.js';
import { SERVER_TLS, USERS, closeAll, configIn, get as getOver, makePki, removePki, start, usersYaml } from './web-helpers.js';

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
    status: () => everyState(),
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

  it('serves the status page at / under a strict Content-Security-Policy, never cached', async () => {
    const response = await request(app({ telemetryPath: '/custom/metrics' })).get('/');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(response.headers['content-security-policy']).not.toMatch(/unsafe/);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    // Sent as it is rendered, gzip-compressed for a client that takes it (supertest asks, and inflates it).
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.headers.vary).toBe('Accept-Encoding');
    expect(response.text).toContain('<a href="/custom/metrics">');
    expect(response.text).toContain('<a href="/api/v1/status">');
    expect(response.text).toContain('<a href="/healthz">');
    expect(response.text).toContain('<a href="/readyz">');
    expect(response.text).toContain('Version <code>9.8.7</code>');
    expect(response.text).toContain('Account <code>colombia</code>');
    expect(response.text).not.toContain('/-/reload');
  });

  it('renders the report of the moment on every request', async () => {
    let current = report([account({ name: 'first' })]);
    const subject = app({ status: () => current });
    expect((await request(subject).get('/')).text).toContain('Account <code>first</code>');
    current = report([account({ name: 'second' })]);
    const again = await request(subject).get('/');
    expect(again.text).toContain('Account <code>second</code>');
    expect(again.text).not.toContain('first');
  });

  it.each(HOSTILE)('escapes %s in account names and error messages on the page', async (hostile) => {
    const hostileReport = report([account({ name: hostile, windows: [{ window: '1h', state: 'stale', lastOutcome: 'server_error', lastError: hostile }] })]);
    const response = await request(app({ status: () => hostileReport })).get('/');
    expect(response.text).not.toContain(hostile);
    expect(response.text).toContain(`Account <code>${hostile.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')}</code>`);
  });

  it('takes the refresh period from ?refresh=<seconds>, and ignores one out of range', async () => {
    expect((await request(app()).get('/?refresh=2')).text).toContain('<body data-refresh-seconds="2">');
    expect((await request(app()).get('/?refresh=0')).text).toContain('<body data-refresh-seconds="10">');
  });

  it('answers HEAD / with the headers of the page and no body', async () => {
    const response = await request(app()).head('/');
    expect(response.status).toBe(200);
    expect(response.headers['content-security-policy']).toMatch(/^default-src 'none'/);
    expect(response.text ?? '').toBe('');
  });

  it('mentions POST /-/reload only when the lifecycle API is on', async () => {
    const response = await request(app({ reload: async () => {} })).get('/');
    expect(response.text).toContain('POST /-/reload');
  });

  it('answers /api/v1/status with the same report as JSON', async () => {
    const response = await request(app()).get('/api/v1/status');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.body).toEqual(everyState());
    expect((await request(app()).post('/api/v1/status')).status).toBe(404);
  });

  it('serves the stylesheet and script as files, cached for good under their content hash and revalidated otherwise', async () => {
    for (const [path, body, type] of [
      ['/static/status.css', STATUS_CSS, 'text/css; charset=utf-8'],
      ['/static/status.js', STATUS_JS, 'text/javascript; charset=utf-8'],
    ] as const) {
      const { hash } = STATIC_ASSETS.get(path)!;
      const named = await request(app()).get(`${path}?v=${hash}`);
      expect(named.status).toBe(200);
      expect(named.headers['content-type']).toBe(type);
      expect(named.headers['x-content-type-options']).toBe('nosniff');
      expect(named.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(named.headers.etag).toBe(`"${hash}"`);
      expect(named.text).toBe(body);
      const plain = await request(app()).get(path);
      expect(plain.headers['cache-control']).toBe('no-cache');
      expect((await request(app()).get(`${path}?v=0000`)).headers['cache-control']).toBe('no-cache');
      const revalidated = await request(app()).get(path).set('If-None-Match', `W/"${hash}"`);
      expect(revalidated.status).toBe(304);
      expect(revalidated.text).toBe('');
      expect((await request(app()).get(path).set('If-None-Match', '"other"')).status).toBe(200);
    }
    expect((await request(app()).get('/static/other.js')).status).toBe(404);
    expect((await request(app()).get('/static/')).status).toBe(404);
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

  it('puts the status page, its JSON and its files behind the web config\'s basic auth, over TLS, like every route', async () => {
    const pki = await makePki();
    try {
      const config = await configIn(pki.dir, `${SERVER_TLS}basic_auth_users:\n${usersYaml()}\n`);
      const { port } = await start(config);
      const tls = { ca: pki.ca };
      for (const path of ['/', '/?refresh=5', '/api/v1/status', '/static/status.css', `/static/status.js?v=${STATIC_ASSETS.get('/static/status.js')!.hash}`]) {
        const refused = await getOver(port, { path, tls });
        expect(refused.status, path).toBe(401);
        expect(refused.body, path).not.toMatch(/colombia|Wolkvox Exporter|function/);
        expect((await getOver(port, { path, tls, auth: 'alice:wrong' })).status, path).toBe(401);
        const allowed = await getOver(port, { path, tls, auth: `alice:${USERS.alice.password}` });
        expect(allowed.status, path).toBe(200);
        expect(allowed.protocol, path).toMatch(/^TLSv1\.[23]$/);
      }
      const page = await getOver(port, { path: '/', tls, auth: `bob:${USERS.bob.password}` });
      expect(page.body).toContain('Account <code>colombia</code>');
      const json = await getOver(port, { path: '/api/v1/status', tls, auth: `carol:${USERS.carol.password}` });
      expect((JSON.parse(json.body) as StatusReport).accounts.map((a) => a.name)).toEqual(['colombia']);
    } finally {
      await closeAll();
      await removePki(pki);
    }
  });

  it('runs the guard before every route', async () => {
    const guard: AppDeps['guard'] = (_req, res) => void res.writeHead(401).end('no\n');
    const subject = app({ guard, reload: async () => {} });
    for (const path of ['/', '/api/v1/status', '/static/status.css', '/static/status.js', '/metrics', '/healthz', '/readyz', '/nope']) {
      expect((await request(subject).get(path)).status, path).toBe(401);
    }
    expect((await request(subject).post('/-/reload')).status).toBe(401);
  });
});
