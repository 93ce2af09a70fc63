// Debian's Chromium driven by playwright-core for the browser tests: launch flags for a closed network, page watchers, screenshots, axe.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { systemTools } from './system-tools.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** Where the browser tests write their screenshots (gitignored). */
export const SCREENSHOT_DIR = join(ROOT, 'test-output', 'screenshots');

/**
 * Chromium's own flags. Without the background-networking ones Chromium keeps calling Google
 * services, which here is a flood of connections that a closed network refuses. --no-sandbox
 * because the tests run as root in a container; --disable-dev-shm-usage as a small /dev/shm would
 * crash a renderer. Playwright adds --headless, and a fresh --user-data-dir of its own for every
 * launch (a temporary folder it removes on close), so two runs of the suite never share a profile.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Every wait on the browser: generous, as two busy cores may run another `npm test` beside this one. */
export const BROWSER_TIMEOUT_MS = 120_000;

/**
 * The little of the DOM that the tests' page callbacks use. The project's `lib` has no "dom" (the
 * exporter runs on Node), so callbacks passed to `page.evaluate` reach the page's globals through
 * `globalThis as unknown as PageGlobals`: a cast the compiler erases, so the function text that
 * Playwright sends to the page is plain JavaScript.
 */
export type DomElement = {
  readonly tagName: string;
  readonly id: string;
  textContent: string | null;
  readonly innerText: string;
  readonly scrollWidth: number;
  readonly clientWidth: number;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  append(...nodes: DomElement[]): void;
};

export type PageGlobals = {
  readonly document: {
    readonly title: string;
    readonly documentElement: DomElement;
    readonly body: DomElement;
    readonly scripts: ArrayLike<DomElement>;
    getElementById(id: string): DomElement | null;
    querySelector(selector: string): DomElement | null;
    querySelectorAll(selector: string): ArrayLike<DomElement>;
    createElement(tag: string): DomElement;
    addEventListener(type: string, listener: (event: { violatedDirective: string; blockedURI: string; sourceFile: string; lineNumber: number }) => void): void;
  };
  readonly innerWidth: number;
  getComputedStyle(element: DomElement): { getPropertyValue(name: string): string };
  /** Set by a hostile message if it ever ran. */
  __pwned?: unknown;
  /** Set by the tests to tell the same document from a reloaded one. */
  __marker?: string;
  __cspViolations?: string[];
  axe?: Axe;
};

type Axe = {
  run(
    context: unknown,
    options: object,
  ): Promise<{ violations: Array<{ id: string; impact?: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }>;
};

/** Starts Debian's Chromium (found or installed by the global setup, test/support/system-tools.ts). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: systemTools().chromium,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: BROWSER_TIMEOUT_MS,
    // Chromium must not inherit a proxy from the environment: every page is on 127.0.0.1.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', TZ: 'UTC', LANG: 'en_US.UTF-8' },
  });
}

/** What went wrong in a page: console errors and warnings, uncaught errors, CSP violations, failed requests. */
export type PageProblems = {
  console: string[];
  pageErrors: string[];
  cspViolations: string[];
  failedRequests: string[];
};

/** No problems at all: what `problems()` of a healthy page returns. */
export const NO_PROBLEMS: PageProblems = { console: [], pageErrors: [], cspViolations: [], failedRequests: [] };

/**
 * Records CSP violations in the page as they happen. Playwright injects it through the DevTools
 * protocol before any script of the page, so the page's CSP does not apply to it.
 */
function recordCspViolations(): void {
  const page = globalThis as unknown as PageGlobals;
  const found: string[] = [];
  page.__cspViolations = found;
  page.document.addEventListener('securitypolicyviolation', (event) => {
    found.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'} at ${event.sourceFile}:${event.lineNumber}`);
  });
}

export async function newContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', ...options });
  context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(BROWSER_TIMEOUT_MS);
  await context.addInitScript(recordCspViolations);
  return context;
}

/** A new page that records its problems; `problems()` also collects the CSP violations of the current document. */
export async function watchedPage(context: BrowserContext): Promise<{ page: Page; problems: () => Promise<PageProblems> }> {
  const page = await context.newPage();
  const found: PageProblems = { console: [], pageErrors: [], cspViolations: [], failedRequests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') found.console.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => found.pageErrors.push(error.message));
  page.on('requestfailed', (request) => found.failedRequests.push(`${request.url()}: ${request.failure()?.errorText ?? 'failed'}`));
  page.on('response', (response) => {
    if (response.status() >= 400) found.failedRequests.push(`${response.url()}: HTTP ${response.status()}`);
  });
  const problems = async (): Promise<PageProblems> => {
    const violations = page.isClosed() ? [] : await page.evaluate(() => (globalThis as unknown as PageGlobals).__cspViolations ?? []);
    return { ...found, cspViolations: [...found.cspViolations, ...violations] };
  };
  return { page, problems };
}

/**
 * Saves a screenshot of the whole page (or of the viewport only) under SCREENSHOT_DIR; returns its
 * path. Written to a file of this process and renamed into place, so a second copy of the suite
 * saving the same name never leaves a half-written file.
 */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, await page.screenshot({ fullPage: options.fullPage ?? true, animations: 'disabled' }));
  renameSync(partial, path);
  return path;
}

/** axe-core's browser bundle, to evaluate in a page. */
export function axeSource(): string {
  return readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
}

export type AxeViolation = { id: string; impact: string | null; help: string; nodes: string[] };

/**
 * Runs axe-core (WCAG 2.0-2.2 A and AA, and best practices) on the page and returns its violations.
 * The bundle is evaluated through the DevTools protocol, which the page's CSP does not govern, so
 * the page is checked as served, CSP and all: no `bypassCSP`, no injected <script>.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource());
  return page.evaluate(async () => {
    const { axe, document } = globalThis as unknown as PageGlobals;
    if (!axe) throw new Error('axe-core did not load');
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact ?? null, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) }));
  });
}
