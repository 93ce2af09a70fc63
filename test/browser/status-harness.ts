// For the browser tests: an exporter (startExporter) whose accounts each poll their own simulator, and the status page read back from the DOM.
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { AccountConfig, Config } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { formatContainment, formatSeconds, relativeTime } from '../../src/http/status-page.js';
import { createLogger } from '../../src/log.js';
import { startExporter, type RunningExporter } from '../../src/main.js';
import { startSimulator, type Scenario, type Simulator } from '../../src/simulator/server.js';
import type { StatusReport } from '../../src/status/report.js';
import type { DomElement, PageGlobals } from '../support/browser.js';
import { waitFor } from '../support/processes.js';
import { windowSpec } from '../support/windows.js';

/** One account of a test exporter and its simulator. */
export type AccountPlan = {
  name: string;
  /** The account's token: a sentinel that must never be shown. */
  token: string;
  /** The token the simulator accepts; another one than `token` makes Wolkvox reject it. Default `token`. */
  simulatorToken?: string;
  scenario?: Scenario;
  /** The simulator's daily quota (calls before it answers TOKEN LIMIT EXCEEDED). */
  simulatorQuota?: number;
  /** The account's time zone. Default America/Bogota. */
  timeZone?: string;
  windows?: string[];
  intervalMs?: number;
  maxStalenessMs?: number;
  dailyQuota?: number;
  counterStepMs?: number;
  counterDelayMs?: number;
};

export type StatusExporter = {
  /** `http://127.0.0.1:<port>` (https with a web config that has TLS). */
  base: string;
  telemetryPath: string;
  simulator(account: string): Simulator;
  /** /api/v1/status over plain HTTP (not with a web config). */
  report(): Promise<StatusReport>;
  /** The body of a path over plain HTTP (not with a web config). */
  text(path: string): Promise<string>;
  /** Every log line so far. */
  logs(): readonly string[];
  close(): Promise<void>;
};

const HOUR_MS = 3_600_000;

/** Starts one simulator per account and the exporter polling them, each on an ephemeral port. */
export async function startStatusExporter(
  plans: readonly AccountPlan[],
  web: { telemetryPath?: string; enableLifecycle?: boolean; configFile?: string } = {},
): Promise<StatusExporter> {
  const simulators = new Map<string, Simulator>();
  const lines: string[] = [];
  let exporter: RunningExporter | undefined;
  const close = async () => {
    await exporter?.shutdown();
    for (const simulator of simulators.values()) await simulator.close();
  };
  try {
    const accounts: AccountConfig[] = [];
    for (const plan of plans) {
      const simulator = await startSimulator({
        port: 0,
        token: plan.simulatorToken ?? plan.token,
        ...(plan.scenario ? { scenario: plan.scenario } : {}),
        ...(plan.simulatorQuota !== undefined ? { dailyQuota: plan.simulatorQuota } : {}),
      });
      simulators.set(plan.name, simulator);
      accounts.push({
        name: plan.name,
        baseUrl: simulator.url,
        token: new Secret(plan.token),
        timeZone: plan.timeZone ?? 'America/Bogota',
        windows: (plan.windows ?? ['1h', 'today']).map(windowSpec),
        intervalMs: plan.intervalMs ?? HOUR_MS,
        maxStalenessMs: plan.maxStalenessMs ?? 3 * HOUR_MS,
        timeoutMs: 10_000,
        maxConcurrency: 2,
        counterStepMs: plan.counterStepMs ?? 0,
        counterDelayMs: plan.counterDelayMs ?? 0,
        ...(plan.dailyQuota !== undefined ? { dailyQuota: plan.dailyQuota } : {}),
      });
    }
    const telemetryPath = web.telemetryPath ?? '/metrics';
    const config: Config = {
      accounts,
      demo: false,
      web: {
        listenAddress: { host: '127.0.0.1', port: 0 },
        telemetryPath,
        enableLifecycle: web.enableLifecycle ?? false,
        ...(web.configFile ? { configFile: web.configFile } : {}),
      },
      log: { level: 'info', format: 'json' },
    };
    const logger = createLogger(config.log, { write: (line: string) => void lines.push(line) });
    exporter = await startExporter({ config, argv: [], env: {}, logger });
    const base = `${web.configFile ? 'https' : 'http'}://127.0.0.1:${exporter.address.port}`;
    const text = async (path: string): Promise<string> => {
      const response = await fetch(`${base}${path}`);
      if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
      return response.text();
    };
    return {
      base,
      telemetryPath,
      simulator(account) {
        const found = simulators.get(account);
        if (!found) throw new Error(`no simulator for ${account}`);
        return found;
      },
      report: async () => JSON.parse(await text('/api/v1/status')) as StatusReport,
      text,
      logs: () => lines,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Waits, with a generous deadline, until the report satisfies `ready`; `step` may act on each report seen (switch a scenario). */
export function reportUntil(
  exporter: StatusExporter,
  what: string,
  ready: (report: StatusReport) => boolean,
  step: (report: StatusReport) => void = () => {},
): Promise<StatusReport> {
  let last: StatusReport | undefined;
  return waitFor(
    what,
    async () => {
      last = await exporter.report();
      step(last);
      return ready(last) ? last : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 100, describe: () => `last report: ${JSON.stringify(last)}\n${exporter.logs().slice(-6).join('')}` },
  );
}

/** One window's row in the page, read from the DOM: the texts a reader sees and the machine-readable times and bounds. */
export type ShownWindow = {
  window: string;
  state: string;
  outcome: string;
  error: string;
  lastSuccess: string | null;
  lastSuccessRelative: string;
  lastCall: string;
  nextPoll: string | null;
  nextPollRelative: string;
  /** The 14-digit bounds the last call asked for. */
  bounds: string[];
  /** The 14-digit bounds the values shown were counted over. */
  valuesBounds: string[];
  values: string[];
};

export type ShownAccount = {
  name: string;
  facts: Record<string, string>;
  quotaPausedUntil: string | null;
  settledUntil: string | null;
  windows: ShownWindow[];
};

export type ShownPage = { title: string; now: string | null; summary: string; trouble: string[]; accounts: ShownAccount[] };

/** Runs in the page: the status as the DOM shows it. Self-contained, as Playwright sends its text to the browser. */
function readShownPage(): ShownPage {
  const { document } = globalThis as unknown as PageGlobals;
  const text = (element: DomElement | null | undefined): string => (element?.textContent ?? '').replace(/\s+/g, ' ').trim();
  const all = (root: { querySelectorAll(selector: string): ArrayLike<DomElement> }, selector: string): DomElement[] =>
    Array.from(root.querySelectorAll(selector));
  const accounts = all(document, 'section.account').map((section): ShownAccount => {
    const facts: Record<string, string> = {};
    const terms = all(section, 'dl.account dt');
    const details = all(section, 'dl.account dd');
    terms.forEach((term, i) => (facts[text(term)] = text(details[i])));
    const factTime = (term: string): string | null => {
      const index = terms.findIndex((t) => text(t) === term);
      return index === -1 ? null : details[index]?.querySelector('time')?.getAttribute('datetime') ?? null;
    };
    const valueRows = new Map(all(section, '[id$="-values"] tbody tr').map((row) => [row.getAttribute('data-window') ?? '', row]));
    const windows = all(section, '[id$="-polls"] tbody tr').map((row): ShownWindow => {
      const window = row.getAttribute('data-window') ?? '';
      const cells = all(row, 'td');
      const valueRow = valueRows.get(window);
      const valueCells = valueRow ? all(valueRow, 'td') : [];
      const dataValues = (cell: DomElement | undefined): string[] => (cell ? all(cell, 'data').map((data) => data.getAttribute('value') ?? '') : []);
      const served = valueCells.length > 1;
      return {
        window,
        state: text(cells[0]),
        outcome: text(cells[1]),
        error: cells[2]?.textContent ?? '',
        lastSuccess: cells[3]?.querySelector('time')?.getAttribute('datetime') ?? null,
        lastSuccessRelative: text(cells[3]?.querySelector('.rel')),
        lastCall: text(cells[4]),
        nextPoll: cells[5]?.querySelector('time')?.getAttribute('datetime') ?? null,
        nextPollRelative: text(cells[5]?.querySelector('.rel')),
        bounds: dataValues(cells[6]),
        valuesBounds: served ? dataValues(valueCells[0]) : [],
        values: served ? valueCells.slice(1).map((cell) => text(cell)) : valueCells.map((cell) => text(cell)),
      };
    });
    return {
      name: text(section.querySelector('h2 code')),
      facts,
      quotaPausedUntil: factTime('Quota pause'),
      settledUntil: factTime('Counters settled until'),
      windows,
    };
  });
  return {
    title: document.title,
    now: document.querySelector('.summary time')?.getAttribute('datetime') ?? null,
    summary: text(document.querySelector('.summary')),
    trouble: all(document, 'ul.trouble li').map((item) => text(item)),
    accounts,
  };
}

/** The report without its `now`, which differs between any two requests. */
function withoutNow(report: StatusReport): string {
  return JSON.stringify({ ...report, exporter: { ...report.exporter, now: '' } });
}

/**
 * Loads the page between two identical reports (but for their `now`), so that what the page shows
 * is what the report said: every API call changes calls-today, so no call finished in between.
 * Polling accounts keep changing the report; this waits for a quiet moment.
 */
export function quietView(page: Page, exporter: StatusExporter, path = '/'): Promise<{ shown: ShownPage; report: StatusReport }> {
  return waitFor(
    'a page loaded while the report held still',
    async () => {
      const before = await exporter.report();
      const response = await page.goto(`${exporter.base}${path}`);
      expect(response?.status()).toBe(200);
      const shown = await page.evaluate(readShownPage);
      const after = await exporter.report();
      return withoutNow(before) === withoutNow(after) ? { shown, report: after } : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 50 },
  );
}

/** The page as the DOM shows it now. */
export function shownPage(page: Page): Promise<ShownPage> {
  return page.evaluate(readShownPage);
}

/** Asserts that the page shows every field of the report, as the report has it. */
export function expectPageShows(shown: ShownPage, report: StatusReport): void {
  expect(shown.now).not.toBeNull();
  const pageNow = Date.parse(shown.now ?? '');
  expect(shown.accounts.map((a) => a.name)).toEqual(report.accounts.map((a) => a.name));
  report.accounts.forEach((account, i) => {
    const a = shown.accounts[i]!;
    const where = `account ${account.name}`;
    expect(a.facts['Token fingerprint'], where).toBe(account.tokenFingerprint);
    expect(a.facts['Time zone'], where).toBe(account.timeZone);
    expect(a.facts['Calls a day'], where).toMatch(new RegExp(`^${account.plannedDailyCalls} planned of ${account.dailyQuota} a day`));
    expect(a.facts['Calls a day']?.includes('quota assumed'), where).toBe(account.dailyQuotaAssumed);
    const calls = Object.entries(account.callsToday);
    if (calls.length === 0) expect(a.facts['Calls today'], where).toBe('none yet');
    for (const [outcome, count] of calls) expect(a.facts['Calls today'], where).toMatch(new RegExp(`(^|, )${count} ${outcome}( |,|$)`));
    expect(a.quotaPausedUntil, where).toBe(account.quotaPausedUntil ?? null);
    if (account.quotaPausedUntil === undefined) expect(a.facts['Quota pause'], where).toBe('not paused');
    expect(a.settledUntil, where).toBe(account.counters?.settledUntil ?? null);
    expect(a.windows.map((w) => w.window), where).toEqual(account.windows.map((w) => w.window));
    account.windows.forEach((w, j) => {
      const values = w.values;
      expect(a.windows[j], `${where}, window ${w.window}`).toEqual({
        window: w.window,
        state: w.state,
        outcome: w.lastOutcome ?? 'none yet',
        error: w.lastError ?? '',
        lastSuccess: w.lastSuccess ?? null,
        lastSuccessRelative: w.lastSuccess === undefined ? '' : relativeTime(Date.parse(w.lastSuccess), pageNow),
        lastCall: w.lastCallSeconds === undefined ? 'none yet' : formatSeconds(w.lastCallSeconds),
        nextPoll: w.nextPoll ?? null,
        nextPollRelative: w.nextPoll === undefined ? '' : relativeTime(Date.parse(w.nextPoll), pageNow),
        bounds: w.bounds ? [w.bounds.dateIni, w.bounds.dateEnd] : [],
        valuesBounds: values ? [values.bounds.dateIni, values.bounds.dateEnd] : [],
        values: values
          ? [values.adBot, values.adAgent, values.postBot, values.postAgent, values.totalBot, values.totalAgent].map(String).concat(formatContainment(values.botContainment))
          : ['no values served'],
      });
    });
  });
}
