// The status page in Debian's Chromium (playwright-core), against exporters polling the simulator: every state, the JSON, hostile text, CSP, refresh, no-script, phone, axe, TLS and basic auth.
//
// Nothing here bounds a duration on the wall clock: every wait is for a condition, with a deadline
// generous enough for two copies of the suite on two cores. Every exporter, simulator and browser
// profile is this process's own, on ephemeral ports, so a parallel run does not disturb this one.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { devices, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATIC_ASSETS } from '../../src/http/static/assets.js';
import { STATUS_PAGE_CSP } from '../../src/http/status-page.js';
import type { StatusReport, WindowState } from '../../src/status/report.js';
import { addDays, localDateAt, startOfDate } from '../../src/wolkvox/window.js';
import {
  BROWSER_TIMEOUT_MS,
  NO_PROBLEMS,
  axeViolations,
  launchChromium,
  newContext,
  screenshot,
  watchedPage,
  type PageGlobals,
} from '../support/browser.js';
import { waitFor } from '../support/processes.js';
import { zoneAtNoon } from '../support/zones.js';
import { SERVER_TLS, USERS, bcryptWithPrefix, makePki, removePki, type Pki } from '../http/web-helpers.js';
import { expectPageShows, quietView, reportUntil, shownPage, startStatusExporter, type StatusExporter } from './status-harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
/** Browser tests take seconds each; the deadline is for a machine running two suites at once. */
const TEST_TIMEOUT_MS = 4 * BROWSER_TIMEOUT_MS;

/** Tokens that must appear nowhere the exporter answers or logs. */
const TOKEN = {
  colombia: 'wvx-SENTINEL-colombia-31f7c0',
  peru: 'wvx-SENTINEL-peru-9a02d4',
  peruAccepted: 'wvx-SENTINEL-peru-real-77e1b3',
  chile: 'wvx-SENTINEL-chile-5c8e21',
  mexico: 'wvx-SENTINEL-mexico-0b4f96',
  ecuador: 'wvx-SENTINEL-ecuador-e6d3a8',
  script: 'wvx-SENTINEL-script-4410fe',
  attribute: 'wvx-SENTINEL-attribute-8d27c5',
  refresh: 'wvx-SENTINEL-refresh-2b9e70',
  tls: 'wvx-SENTINEL-tls-c3d815',
};
const TOKENS = Object.values(TOKEN);

/** Hostile error texts as a server could send them; each sets window.__pwned if it ever runs. */
const SCRIPT_ATTACK = '<script>window.__pwned=1</script>';
const ATTRIBUTE_ATTACK = '"><img src=x onerror="window.__pwned=1">';
/** An account name from a careless config: markup too. */
const HOSTILE_NAME = '<svg onload="window.__pwned=2">';

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
});

/** A page's own view of its globals. */
const globals = (page: Page) => ({
  pwned: () => page.evaluate(() => (globalThis as unknown as PageGlobals).__pwned),
  marker: () => page.evaluate(() => (globalThis as unknown as PageGlobals).__marker),
  setMarker: (value: string) => page.evaluate((v) => void ((globalThis as unknown as PageGlobals).__marker = v), value),
});

/** Every window of every account of the report in `state`. */
const allIn = (report: StatusReport, account: string, state: WindowState): boolean =>
  report.accounts.find((a) => a.name === account)?.windows.every((w) => w.state === state) ?? false;

const everyWindowSucceeded = (report: StatusReport, account: string): boolean =>
  report.accounts.find((a) => a.name === account)?.windows.every((w) => w.lastSuccess !== undefined) ?? false;

/** The token must be in none of these texts. */
function expectNoToken(texts: Record<string, string | readonly string[]>): void {
  for (const [where, text] of Object.entries(texts)) {
    const joined = typeof text === 'string' ? text : text.join('\n');
    for (const token of TOKENS) expect(joined.includes(token), `${where} holds a token`).toBe(false);
  }
}

describe('an exporter with an account in every state', () => {
  let exporter: StatusExporter;
  let context: BrowserContext;
  const telemetryPath = '/wolkvox/metrics';
  const chileZone = zoneAtNoon(Date.now());

  beforeAll(async () => {
    exporter = await startStatusExporter(
      [
        // Healthy: a token just set up and working, with counters.
        { name: 'colombia', token: TOKEN.colombia, dailyQuota: 5_000, counterStepMs: 3_600_000, counterDelayMs: 600_000 },
        // Failing: Wolkvox rejects the token (PLEASE VALIDATE TOKEN), so no values ever came.
        { name: 'peru', token: TOKEN.peru, simulatorToken: TOKEN.peruAccepted },
        // Paused: the quota is spent after one call; the other window's call gets TOKEN LIMIT EXCEEDED. The pause lasts
        // until the account's midnight, so the account lives where it is noon: the pause is 11-12 h away, whatever the hour of the run.
        { name: 'chile', token: TOKEN.chile, simulatorQuota: 1, timeZone: chileZone },
        // Failing with values still served: good polls, then a login page instead of JSON.
        { name: 'mexico', token: TOKEN.mexico, intervalMs: 4_000, dailyQuota: 100_000 },
        // Stale: a good poll, then broken answers until the values passed max-staleness.
        { name: 'ecuador', token: TOKEN.ecuador, windows: ['1h'], intervalMs: 4_000, maxStalenessMs: 1_000, dailyQuota: 100_000 },
      ],
      { telemetryPath, enableLifecycle: true },
    );
    const switched = new Set<string>();
    await reportUntil(
      exporter,
      'colombia ok, peru stale, chile paused, mexico failing, ecuador stale',
      (report) =>
        report.exporter.ready &&
        allIn(report, 'colombia', 'ok') &&
        allIn(report, 'peru', 'stale') &&
        allIn(report, 'chile', 'paused') &&
        allIn(report, 'mexico', 'failing') &&
        allIn(report, 'ecuador', 'stale') &&
        everyWindowSucceeded(report, 'ecuador'),
      (report) => {
        // Once an account has its values, its simulator starts answering badly.
        if (!switched.has('mexico') && everyWindowSucceeded(report, 'mexico')) {
          exporter.simulator('mexico').setScenario({ kind: 'html' });
          switched.add('mexico');
        }
        if (!switched.has('ecuador') && everyWindowSucceeded(report, 'ecuador')) {
          exporter.simulator('ecuador').setScenario({ kind: 'truncated_json' });
          switched.add('ecuador');
        }
      },
    );
    context = await newContext(browser, { viewport: { width: 1280, height: 900 } });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await context?.close();
    await exporter?.close();
  });

  it('shows every field of /api/v1/status, state by state, with no console error, CSP violation or failed request', async () => {
    const { page, problems } = await watchedPage(context);
    const { shown, report } = await quietView(page, exporter);
    expectPageShows(shown, report);
    // The states themselves, as words, and where an operator should look first.
    expect(shown.accounts.map((a) => [a.name, a.windows.map((w) => w.state)])).toEqual([
      ['colombia', ['ok', 'ok']],
      ['peru', ['stale', 'stale']],
      ['chile', ['paused', 'paused']],
      ['mexico', ['failing', 'failing']],
      ['ecuador', ['stale']],
    ]);
    expect(shown.summary).toContain('5 accounts, 9 windows: 2 ok, 2 failing, 3 stale, 2 paused. Ready: every window has been polled.');
    expect(shown.title).toBe('(2 failing, 3 stale, 2 paused) Wolkvox Exporter status');
    expect(shown.trouble).toEqual([
      'peru: 1h stale (unauthorized), today stale (unauthorized)',
      // One window's call spent the quota, the other's was refused; which one is a race.
      expect.stringMatching(/^chile: (1h paused, today paused \(quota_exceeded\)|1h paused \(quota_exceeded\), today paused)$/),
      'mexico: 1h failing (invalid_response), today failing (invalid_response)',
      'ecuador: 1h stale (invalid_response)',
    ]);
    const byName = new Map(shown.accounts.map((a) => [a.name, a]));
    expect(byName.get('peru')?.windows[0]?.error).toBe('Wolkvox rejected the token (PLEASE VALIDATE TOKEN)');
    expect(byName.get('mexico')?.windows[0]?.error).toBe('HTTP 200 with an HTML page instead of JSON');
    expect(byName.get('colombia')?.facts['Calls a day']).toBe('72 planned of 5000 a day (1 %)');
    const chilePause = byName.get('chile')?.facts['Quota pause'];
    expect(chilePause).toMatch(/^until in 1[0-2] h( \d+ min)? \d{4}-\d\d-\d\dT\d\d:00:00\.000Z$/);
    const chileMidnight = startOfDate(addDays(localDateAt(Date.now(), chileZone), 1), chileZone);
    expect(chilePause?.slice(-24), 'the pause ends at the next midnight in the zone of chile').toBe(new Date(chileMidnight).toISOString());
    expect(byName.get('colombia')?.settledUntil).not.toBeNull();
    expect(await problems()).toEqual(NO_PROBLEMS);
    await page.close();
  }, TEST_TIMEOUT_MS);

  it('links the configured telemetry path, the JSON, health and readiness, and the reload it enables; each link answers', async () => {
    const { page, problems } = await watchedPage(context);
    await page.goto(`${exporter.base}/`);
    const links = await page.locator('nav a').evaluateAll((anchors: Array<{ getAttribute(name: string): string | null; textContent: string | null }>) =>
      anchors.map((a) => [a.textContent, a.getAttribute('href')]),
    );
    expect(links).toEqual([
      ['Metrics', telemetryPath],
      ['Status as JSON', '/api/v1/status'],
      ['Health', '/healthz'],
      ['Readiness', '/readyz'],
    ]);
    for (const [, href] of links) expect((await page.request.get(`${exporter.base}${href}`)).status(), href ?? '').toBe(200);
    await expect(page.locator('nav').innerText()).resolves.toContain('Reload the config: POST /-/reload');
    // The JSON link gives the report itself.
    const json = (await (await page.request.get(`${exporter.base}/api/v1/status`)).json()) as StatusReport;
    expect(json.accounts.map((a) => a.name)).toEqual(['colombia', 'peru', 'chile', 'mexico', 'ecuador']);
    expect(await problems()).toEqual(NO_PROBLEMS);
    await page.close();
  }, TEST_TIMEOUT_MS);

  it('passes axe-core (WCAG 2.2 AA and best practices) on a desktop and on a phone, CSP in force', async () => {
    const { page } = await watchedPage(context);
    await page.goto(`${exporter.base}/`);
    expect(await axeViolations(page)).toEqual([]);
    const phone = await newContext(browser, { ...devices['Pixel 7'] });
    try {
      const { page: small } = await watchedPage(phone);
      await small.goto(`${exporter.base}/`);
      expect(await axeViolations(small)).toEqual([]);
    } finally {
      await phone.close();
    }
    await page.close();
  }, TEST_TIMEOUT_MS);

  it('is readable on a phone: no sideways scrolling of the page, wide tables scroll in their own box; screenshots saved', async () => {
    const { page: desktop } = await watchedPage(context);
    await quietView(desktop, exporter);
    const desktopShot = await screenshot(desktop, 'status-desktop');
    await desktop.close();

    const phone = await newContext(browser, { ...devices['Pixel 7'] });
    try {
      const { page, problems } = await watchedPage(phone);
      await quietView(page, exporter);
      const layout = await page.evaluate(() => {
        const { document, innerWidth, getComputedStyle } = globalThis as unknown as PageGlobals;
        const boxes = Array.from(document.querySelectorAll('.scroll'));
        const cell = document.querySelector('td');
        return {
          innerWidth,
          pageWidth: document.documentElement.scrollWidth,
          boxes: boxes.length,
          boxesWiderThanScreen: boxes.filter((box) => box.clientWidth > innerWidth).length,
          scrollingBoxes: boxes.filter((box) => box.scrollWidth > box.clientWidth).length,
          cellFontPx: cell ? Number.parseFloat(getComputedStyle(cell).getPropertyValue('font-size')) : 0,
        };
      });
      expect(layout.pageWidth).toBeLessThanOrEqual(layout.innerWidth);
      expect(layout.boxes).toBe(10);
      expect(layout.boxesWiderThanScreen).toBe(0);
      // At least the values tables are wider than a phone: they scroll inside their box.
      expect(layout.scrollingBoxes).toBeGreaterThanOrEqual(5);
      expect(layout.cellFontPx).toBeGreaterThanOrEqual(14);
      const phoneShot = await screenshot(page, 'status-phone');
      // What a phone shows first, and a values table scrolled sideways in its box.
      const phoneTop = await screenshot(page, 'status-phone-top', { fullPage: false });
      await page.locator('#account-0-values').evaluate((box: { scrollLeft: number; scrollIntoView(): void }) => {
        box.scrollIntoView();
        box.scrollLeft = 10_000;
      });
      const phoneScrolled = await screenshot(page, 'status-phone-table-scrolled', { fullPage: false });
      expect(await problems()).toEqual(NO_PROBLEMS);
      for (const shot of [desktopShot, phoneShot, phoneTop, phoneScrolled]) expect(readFileSync(shot).subarray(1, 4).toString('latin1')).toBe('PNG');
    } finally {
      await phone.close();
    }
  }, TEST_TIMEOUT_MS);

  it('never shows a token: not in the page, its DOM, the JSON, the script, the stylesheet, the metrics or the logs', async () => {
    const { page } = await watchedPage(context);
    await page.goto(`${exporter.base}/`);
    const dom = await page.content();
    const texts: Record<string, string | readonly string[]> = {
      dom,
      page: await exporter.text('/'),
      json: await exporter.text('/api/v1/status'),
      metrics: await exporter.text(telemetryPath),
      logs: exporter.logs(),
    };
    for (const path of STATIC_ASSETS.keys()) texts[path] = await exporter.text(path);
    expectNoToken(texts);
    // What tells the tokens apart is there instead.
    const report = JSON.parse(texts.json as string) as StatusReport;
    for (const account of report.accounts) expect(dom).toContain(`<code class="fingerprint">${account.tokenFingerprint}</code>`);
    await page.close();
  }, TEST_TIMEOUT_MS);
});

describe('hostile text from Wolkvox and the config', () => {
  let exporter: StatusExporter;

  beforeAll(async () => {
    exporter = await startStatusExporter([
      { name: 'script', token: TOKEN.script, windows: ['1h'], scenario: { kind: 'code_in_body', code: '400', error: SCRIPT_ATTACK } },
      // The server echoes the token too: the client scrubs it before the message goes anywhere.
      {
        name: HOSTILE_NAME,
        token: TOKEN.attribute,
        windows: ['1h'],
        scenario: { kind: 'code_in_body', code: '401', error: `${ATTRIBUTE_ATTACK} ${TOKEN.attribute}` },
      },
    ]);
    await reportUntil(exporter, 'both hostile messages recorded', (report) =>
      report.accounts.every((a) => a.windows.every((w) => w.lastError !== undefined)),
    );
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await exporter?.close();
  });

  /** The page must show the messages as text and run none of them; `bypassCSP` leaves the escaping alone to hold. */
  async function expectShownAsText(page: Page, report: StatusReport): Promise<void> {
    expect(await globals(page).pwned()).toBeUndefined();
    const shown = await shownPage(page);
    expectPageShows(shown, report);
    const [script, attribute] = shown.accounts;
    expect(script?.windows[0]?.error).toBe(`HTTP 200 with body code 400: ${JSON.stringify(SCRIPT_ATTACK)}`);
    expect(attribute?.name).toBe(HOSTILE_NAME);
    expect(attribute?.windows[0]?.error).toBe(`HTTP 200 with body code 401: ${JSON.stringify(`${ATTRIBUTE_ATTACK} [REDACTED]`)}`);
    // A reader sees the markup as characters on the screen.
    const visible = await page.locator('main').innerText();
    expect(visible).toContain(SCRIPT_ATTACK);
    expect(visible).toContain('<img src=x onerror=');
    expect(visible).toContain(`Account ${HOSTILE_NAME}`);
    // And no element came of it: the page's one script, no image, no svg.
    const elements = await page.evaluate(() => {
      const { document } = globalThis as unknown as PageGlobals;
      return { scripts: document.scripts.length, images: document.querySelectorAll('img, svg').length };
    });
    expect(elements).toEqual({ scripts: 1, images: 0 });
  }

  it('shows them as text and runs none, CSP in force, also after the script refreshed the page', async () => {
    const context = await newContext(browser);
    try {
      const { page, problems } = await watchedPage(context);
      const { report } = await quietView(page, exporter, '/?refresh=1');
      await expectShownAsText(page, report);
      await globals(page).setMarker('before-refresh');
      await page.waitForFunction(() => /last updated at/.test((globalThis as unknown as PageGlobals).document.getElementById('refresh-note')?.textContent ?? ''));
      expect(await globals(page).marker()).toBe('before-refresh');
      await expectShownAsText(page, await exporter.report());
      expect(await problems()).toEqual(NO_PROBLEMS);
      expectNoToken({ dom: await page.content() });
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('shows them as text and runs none with the CSP bypassed: the escaping alone holds', async () => {
    const context = await newContext(browser, { bypassCSP: true });
    try {
      const { page, problems } = await watchedPage(context);
      const { report } = await quietView(page, exporter);
      await expectShownAsText(page, report);
      const found = await problems();
      expect({ ...found, console: [] }).toEqual(NO_PROBLEMS);
      // Without the CSP (img-src 'none') to stop it, Chromium asks for /favicon.ico, which the exporter has not got.
      expect(new Set(found.console)).toEqual(new Set(found.console.length ? ['error: Failed to load resource: the server responded with a status of 404 (Not Found)'] : []));
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);
});

describe('page behaviour', () => {
  let exporter: StatusExporter;

  beforeAll(async () => {
    exporter = await startStatusExporter([{ name: 'colombia', token: TOKEN.refresh, intervalMs: 2_000 }]);
    await reportUntil(exporter, 'colombia polled', (report) => report.exporter.ready && allIn(report, 'colombia', 'ok'));
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await exporter?.close();
  });

  it('is served under the strict CSP, which lets its own script run and stops an injected inline script and style', async () => {
    const context = await newContext(browser);
    try {
      const { page, problems } = await watchedPage(context);
      const response = await page.goto(`${exporter.base}/`);
      expect(response?.headers()['content-security-policy']).toBe(STATUS_PAGE_CSP);
      // Only the script from /static/ writes this.
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobals).document.getElementById('refresh-note')?.textContent === 'This page updates itself every 10 s.',
      );
      const injected = await page.evaluate(() => {
        const { document, getComputedStyle } = globalThis as unknown as PageGlobals;
        const script = document.createElement('script');
        script.textContent = 'window.__pwned = "inline script"';
        document.body.append(script);
        const heading = document.querySelector('h1');
        if (!heading) throw new Error('no h1');
        heading.setAttribute('style', 'color: rgb(255, 0, 0)');
        return getComputedStyle(heading).getPropertyValue('color');
      });
      expect(injected).not.toBe('rgb(255, 0, 0)');
      expect(await globals(page).pwned()).toBeUndefined();
      const found = await problems();
      expect(found.cspViolations).toEqual([expect.stringMatching(/^script-src(-elem)? blocked inline/), expect.stringMatching(/^style-src(-attr)? blocked inline/)]);
      expect(found.pageErrors).toEqual([]);
      expect(found.failedRequests).toEqual([]);
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('updates itself in place with the script: a new state shows up without a reload; a failed update says so', async () => {
    const context = await newContext(browser);
    try {
      const { page, problems } = await watchedPage(context);
      await page.goto(`${exporter.base}/?refresh=1`);
      expect((await shownPage(page)).accounts[0]?.windows.map((w) => w.state)).toEqual(['ok', 'ok']);
      await globals(page).setMarker('same document');
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelector('meta[http-equiv="refresh"]'))).toBeNull();

      // Wolkvox starts answering with a login page: the page follows on its own.
      exporter.simulator('colombia').setScenario({ kind: 'html' });
      await page.waitForFunction(() =>
        Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('[id$="-polls"] tbody .state')).every((s) => s.textContent === 'failing'),
      );
      expect(await globals(page).marker()).toBe('same document');
      expect(await page.title()).toBe('(2 failing) Wolkvox Exporter status');
      expect(await page.locator('#refresh-note').innerText()).toMatch(/^This page updates itself every 1 s; last updated at .+\.$/);

      // An update that fails leaves the page as it was and says why, in a live region.
      await page.route(/\/\?refresh=1$/, (route) => route.fulfill({ status: 503, body: 'unavailable' }));
      await expect(page.locator('#refresh-problem').getAttribute('role')).resolves.toBe('status');
      await page.waitForFunction(() => /^Could not update the page \(HTTP 503\)/.test((globalThis as unknown as PageGlobals).document.getElementById('refresh-problem')?.textContent ?? ''));
      expect((await shownPage(page)).accounts[0]?.windows.map((w) => w.state)).toEqual(['failing', 'failing']);
      await page.unroute(/\/\?refresh=1$/);
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.getElementById('refresh-problem')?.textContent === '');
      expect(await globals(page).marker()).toBe('same document');
      const found = await problems();
      expect(found.pageErrors).toEqual([]);
      expect(found.cspViolations).toEqual([]);
      // The one failure is the 503 the test made.
      expect(found.failedRequests.every((request) => request.endsWith('/?refresh=1: HTTP 503'))).toBe(true);
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('without JavaScript, reloads itself through the <noscript> meta refresh', async () => {
    const context = await newContext(browser, { javaScriptEnabled: false });
    try {
      const { page, problems } = await watchedPage(context);
      await page.goto(`${exporter.base}/?refresh=1`);
      const meta = page.locator('meta[http-equiv="refresh"]');
      expect(await meta.count()).toBe(1);
      expect(await meta.getAttribute('content')).toBe('1');
      expect(await page.locator('#refresh-note').innerText()).toBe('Without JavaScript this page reloads every 1 s.');
      const firstReport = await page.locator('.summary time').getAttribute('datetime');
      // The browser loads the page again by itself; it then shows a newer report.
      await page.waitForEvent('load');
      await waitFor(
        'a newer report after the reload',
        async () => ((await page.locator('.summary time').getAttribute('datetime')) !== firstReport ? true : undefined),
        { timeoutMs: BROWSER_TIMEOUT_MS, intervalMs: 100 },
      );
      expect((await problems()).failedRequests).toEqual([]);
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);
});

describe('behind --web.config.file: TLS and basic auth', () => {
  let pki: Pki;
  let exporter: StatusExporter;

  beforeAll(async () => {
    pki = await makePki();
    const webConfig = join(pki.dir, 'web.yml');
    writeFileSync(webConfig, `${SERVER_TLS}basic_auth_users:\n  alice: "${bcryptWithPrefix(USERS.alice.password, '$2y$')}"\n`);
    exporter = await startStatusExporter([{ name: 'colombia', token: TOKEN.tls, windows: ['1h'] }], { configFile: webConfig });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await exporter?.close();
    await removePki(pki);
  });

  it('shows nothing to a browser without credentials: page, JSON and files all ask for basic auth', async () => {
    const context = await newContext(browser, { ignoreHTTPSErrors: true });
    try {
      // Chromium, offered no credentials to answer the challenge, shows no page at all.
      const page = await context.newPage();
      await expect(page.goto(`${exporter.base}/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
      for (const path of ['/', '/?refresh=1', '/api/v1/status', '/static/status.js', '/static/status.css']) {
        const response = await context.request.get(`${exporter.base}${path}`);
        expect(response.status(), path).toBe(401);
        expect(response.headers()['www-authenticate'], path).toBe('Basic');
        expect(await response.text(), path).not.toMatch(/colombia|Wolkvox Exporter|function/);
      }
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('works over HTTPS with credentials: page, files, JSON, and the script\'s refresh', async () => {
    const context = await newContext(browser, { ignoreHTTPSErrors: true, httpCredentials: { username: 'alice', password: USERS.alice.password } });
    try {
      const { page, problems } = await watchedPage(context);
      expect(exporter.base).toMatch(/^https:/);
      await page.goto(`${exporter.base}/?refresh=1`);
      await page.waitForFunction(() => /last updated at/.test((globalThis as unknown as PageGlobals).document.getElementById('refresh-note')?.textContent ?? ''));
      const json = (await (await page.request.get(`${exporter.base}/api/v1/status`)).json()) as StatusReport;
      const shown = await shownPage(page);
      expect(shown.accounts.map((a) => [a.name, a.facts['Token fingerprint']])).toEqual(json.accounts.map((a) => [a.name, a.tokenFingerprint]));
      expect(await page.locator('#refresh-problem').innerText()).toBe('');
      const found = await problems();
      expect(found.cspViolations).toEqual([]);
      expect(found.pageErrors).toEqual([]);
      expect(found.console).toEqual([]);
      expectNoToken({ dom: await page.content(), json: JSON.stringify(json), logs: exporter.logs() });
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);
});

describe('the README', () => {
  it('shows a screenshot of the status page that is in the repository', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const endpoints = readme.slice(readme.indexOf('\n## Endpoints'), readme.indexOf('\n## ', readme.indexOf('\n## Endpoints') + 1));
    expect(endpoints).toContain('![Status page](docs/status-page.png)');
    const png = join(ROOT, 'docs', 'status-page.png');
    expect(existsSync(png)).toBe(true);
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // Width and height from the IHDR chunk: a real page, not a placeholder.
    expect(bytes.readUInt32BE(16)).toBeGreaterThanOrEqual(800);
    expect(bytes.readUInt32BE(20)).toBeGreaterThanOrEqual(600);
  });
});
