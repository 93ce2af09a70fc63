// The status page at `/`: every account and window of a StatusReport as HTML, rendered on the server; pure.
//
// All markup is written with the `html` tag (html.ts), which escapes every value it is given:
// error messages quote Wolkvox's answers and account names come from the config, so either may
// hold markup. The page carries no inline script or style (STATUS_PAGE_CSP forbids both); its
// stylesheet and script are files under /static/ (static/).
import type { AccountStatus, StatusReport, WindowState, WindowStatus } from '../status/report.js';
import { OUTCOMES } from '../wolkvox/outcome.js';
import { html, joinHtml, type SafeHtml } from './html.js';
import { assetHref } from './static/assets.js';

export type StatusPageOptions = {
  telemetryPath: string;
  lifecycleEnabled: boolean;
  version: string;
  /** From `?refresh=<seconds>`: the period of both the script's refresh and the no-script reload. */
  refreshSeconds?: number;
};

/** Seconds between the script's in-place refreshes. */
export const SCRIPT_REFRESH_SECONDS = 10;

/**
 * Seconds between reloads without JavaScript (a `<meta http-equiv="refresh">`): longer than the
 * script's, as a reload fetches the whole page again and loses the reader's place in a wide table.
 */
export const NO_SCRIPT_REFRESH_SECONDS = 30;

/** The range `?refresh=` accepts; anything else is ignored, so a typo still shows the page. */
export const REFRESH_RANGE_SECONDS = { min: 1, max: 3_600 } as const;

/**
 * The CSP of the page (spec: Endpoints): script, style and fetches from this origin only; nothing
 * inline, no images, frames, forms, plugins or <base>. The page uses nothing else.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // The script fetches the page itself to refresh it.
  "connect-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Every state, in the order the summary lists them. */
const STATES: readonly WindowState[] = ['ok', 'failing', 'stale', 'paused', 'pending'];

/** States an operator should look at; `pending` is only the start-up. */
const TROUBLE: ReadonlySet<WindowState> = new Set(['failing', 'stale', 'paused']);

/** At most this many accounts are linked from the summary: with 1,000 accounts in trouble, the count says enough. */
const MAX_TROUBLE_LINKS = 20;

/** What each state means, as the `title` of its badge and the legend. */
export const STATE_MEANINGS: Record<WindowState, string> = {
  ok: 'the last poll succeeded',
  failing: 'the last poll failed; the last good values are still served',
  stale: 'no values are served: they passed max-staleness, or none came yet',
  paused: "the token's daily quota is spent; polling resumes at local midnight",
  pending: 'not polled yet since the exporter started',
};

/** `?refresh=<seconds>` of the request's query string, when it is a whole number in REFRESH_RANGE_SECONDS. */
export function refreshFromQuery(search: string): number | undefined {
  const text = new URLSearchParams(search).get('refresh');
  if (text === null || !/^\d{1,4}$/.test(text)) return undefined;
  const seconds = Number(text);
  return seconds >= REFRESH_RANGE_SECONDS.min && seconds <= REFRESH_RANGE_SECONDS.max ? seconds : undefined;
}

/** "45 s ago", "3 min ago", "2 h 5 min ago", "in 20 s": the distance from `nowMs` to `thenMs`, whole units, rounded down. */
export function relativeTime(thenMs: number, nowMs: number): string {
  const delta = Math.round((nowMs - thenMs) / 1000);
  const seconds = Math.abs(delta);
  if (seconds === 0) return 'now';
  let text: string;
  if (seconds < 60) text = `${seconds} s`;
  else if (seconds < 3_600) text = `${Math.floor(seconds / 60)} min`;
  else if (seconds < 86_400) {
    const minutes = Math.floor((seconds % 3_600) / 60);
    text = `${Math.floor(seconds / 3_600)} h${minutes > 0 ? ` ${minutes} min` : ''}`;
  } else {
    const hours = Math.floor((seconds % 86_400) / 3_600);
    text = `${Math.floor(seconds / 86_400)} d${hours > 0 ? ` ${hours} h` : ''}`;
  }
  return delta > 0 ? `${text} ago` : `in ${text}`;
}

/** "20240501000000" → "2024-05-01 00:00:00" (Wolkvox's 14 digits, in the account's zone); anything else as it is. */
export function formatWolkvoxBound(bound: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(bound);
  return m ? `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}` : bound;
}

/** Seconds of an API call: "0.42 s", "12.3 s". */
export function formatSeconds(seconds: number): string {
  return `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1)} s`;
}

/** The bot containment rate as a percentage with one decimal, or the words for no chats. */
export function formatContainment(rate: number | null): string {
  return rate === null ? 'no chats' : `${(rate * 100).toFixed(1)} %`;
}

const none = (text: string): SafeHtml => html`<span class="none">${text}</span>`;

/** A moment: relative to the report, then the ISO time itself in <time datetime>. */
function moment(iso: string, nowMs: number): SafeHtml {
  const at = Date.parse(iso);
  const relative = Number.isNaN(at) || Number.isNaN(nowMs) ? '' : html`<span class="rel">${relativeTime(at, nowMs)}</span> `;
  return html`${relative}<time class="abs" datetime="${iso}">${iso}</time>`;
}

function stateBadge(state: WindowState): SafeHtml {
  return html`<span class="state state-${state}" title="${STATE_MEANINGS[state]}">${state}</span>`;
}

function callsToday(calls: AccountStatus['callsToday']): SafeHtml {
  const parts = OUTCOMES.flatMap((outcome) => {
    const count = calls[outcome];
    return count === undefined || count === 0 ? [] : [html`${count} <code>${outcome}</code>`];
  });
  if (parts.length === 0) return none('none yet');
  const total = OUTCOMES.reduce((sum, outcome) => sum + (calls[outcome] ?? 0), 0);
  return html`${joinHtml(parts, ', ')}${parts.length > 1 ? ` (${total} in all)` : ''}`;
}

function plannedCalls(account: AccountStatus): SafeHtml {
  const share = account.dailyQuota > 0 ? ` (${Math.round((account.plannedDailyCalls / account.dailyQuota) * 100)} %)` : '';
  const assumed = account.dailyQuotaAssumed ? '; quota assumed (one license)' : '';
  const over = account.plannedDailyCalls > account.dailyQuota ? html` <span class="warn">more than the quota</span>` : '';
  return html`${account.plannedDailyCalls} planned of ${account.dailyQuota} a day${share}${assumed}${over}`;
}

function accountFacts(account: AccountStatus, nowMs: number): SafeHtml {
  const facts: Array<[string, SafeHtml]> = [
    ['Token fingerprint', html`<code class="fingerprint">${account.tokenFingerprint}</code>`],
    ['Time zone', html`${account.timeZone}`],
    ['Calls a day', plannedCalls(account)],
    ['Calls today', callsToday(account.callsToday)],
    ['Quota pause', account.quotaPausedUntil === undefined ? none('not paused') : html`until ${moment(account.quotaPausedUntil, nowMs)}`],
  ];
  if (account.counters) {
    const { settledUntil, stepSeconds, delaySeconds } = account.counters;
    facts.push([
      'Counters settled until',
      html`${moment(settledUntil, nowMs)} <span class="none">(chunks of ${stepSeconds} s, ${delaySeconds} s behind)</span>`,
    ]);
  }
  return html`<dl class="account">
${joinHtml(facts.map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`), '\n')}
</dl>`;
}

/** Two Wolkvox bounds, readable, each with its 14 digits as sent in `<data value>`. */
function bounds(span: { dateIni: string; dateEnd: string } | undefined): SafeHtml {
  return span
    ? html`<data value="${span.dateIni}">${formatWolkvoxBound(span.dateIni)}</data> to <data value="${span.dateEnd}">${formatWolkvoxBound(span.dateEnd)}</data>`
    : none('none');
}

function pollRow(w: WindowStatus, nowMs: number): SafeHtml {
  return html`<tr data-window="${w.window}"><th scope="row">${w.window}</th><td>${stateBadge(w.state)}</td><td>${
    w.lastOutcome === undefined ? none('none yet') : html`<code>${w.lastOutcome}</code>`
  }</td><td class="error">${w.lastError ?? ''}</td><td class="when">${
    w.lastSuccess === undefined ? none('never') : moment(w.lastSuccess, nowMs)
  }</td><td class="num">${w.lastCallSeconds === undefined ? none('none yet') : formatSeconds(w.lastCallSeconds)}</td><td class="when">${
    w.nextPoll === undefined ? none('not scheduled') : moment(w.nextPoll, nowMs)
  }</td><td class="bounds">${bounds(w.bounds)}</td></tr>`;
}

const VALUE_COLUMNS = [
  ['adBot', 'Ad, bot'],
  ['adAgent', 'Ad, agent'],
  ['postBot', 'Post, bot'],
  ['postAgent', 'Post, agent'],
  ['totalBot', 'Total, bot'],
  ['totalAgent', 'Total, agent'],
] as const;

function valueRow(w: WindowStatus): SafeHtml {
  const values = w.values;
  const cells = values
    ? html`<td class="bounds">${bounds(values.bounds)}</td>${VALUE_COLUMNS.map(([key]) => html`<td class="num">${values[key]}</td>`)}<td class="num">${formatContainment(values.botContainment)}</td>`
    : html`<td colspan="${VALUE_COLUMNS.length + 2}">${none('no values served')}</td>`;
  return html`<tr data-window="${w.window}"><th scope="row">${w.window}</th>${cells}</tr>`;
}

/** One scrolling box per table: wide tables scroll inside it on a phone instead of widening the page. */
function scrollingTable(id: string, caption: SafeHtml, head: SafeHtml, rows: readonly SafeHtml[]): SafeHtml {
  return html`<div class="scroll" id="${id}" role="region" aria-labelledby="${id}-caption" tabindex="0">
<table>
<caption id="${id}-caption"><span>${caption}</span></caption>
<thead><tr>${head}</tr></thead>
<tbody>
${joinHtml(rows, '\n')}
</tbody>
</table>
</div>`;
}

const col = (label: string, className?: string): SafeHtml =>
  className === undefined ? html`<th scope="col">${label}</th>` : html`<th scope="col" class="${className}">${label}</th>`;

/** The id of an account's heading: its place in the report, as names may hold any character. */
const accountId = (index: number): string => `account-${index}`;

function accountSection(account: AccountStatus, index: number, nowMs: number): SafeHtml {
  const id = accountId(index);
  const polls = scrollingTable(
    `${id}-polls`,
    html`Polls of <code>${account.name}</code>`,
    html`${[col('Window'), col('State'), col('Last outcome'), col('Error'), col('Last success'), col('Last call', 'num'), col('Next poll'), col('Bounds queried')]}`,
    account.windows.map((w) => pollRow(w, nowMs)),
  );
  const values = scrollingTable(
    `${id}-values`,
    html`Values of <code>${account.name}</code>`,
    html`${[col('Window'), col('Counted over'), ...VALUE_COLUMNS.map(([, label]) => col(label, 'num')), col('Bot containment', 'num')]}`,
    account.windows.map(valueRow),
  );
  return html`<section class="account" data-account="${account.name}" aria-labelledby="${id}">
<h2 id="${id}">Account <code>${account.name}</code></h2>
${accountFacts(account, nowMs)}
${polls}
${values}
</section>`;
}

/** Links to the accounts with a window in trouble, each with those windows and states: where an alert leads. */
function troubleList(report: StatusReport): SafeHtml {
  const troubled = report.accounts.flatMap((account, index) => {
    const windows = account.windows.filter((w) => TROUBLE.has(w.state));
    return windows.length === 0 ? [] : [{ account, index, windows }];
  });
  if (troubled.length === 0) return html``;
  const shown = troubled.slice(0, MAX_TROUBLE_LINKS);
  const more = troubled.length - shown.length;
  const items = shown.map(
    ({ account, index, windows }) =>
      html`<li><a href="#${accountId(index)}">${account.name}</a>: ${joinHtml(
        windows.map((w) => html`${w.window} ${w.state}${w.lastOutcome !== undefined && w.lastOutcome !== 'success' ? ` (${w.lastOutcome})` : ''}`),
        ', ',
      )}</li>`,
  );
  return html`<p>Accounts needing attention:</p>
<ul class="trouble">
${joinHtml(items, '\n')}${more > 0 ? html`\n<li>and ${more} more</li>` : ''}
</ul>`;
}

/** How many windows are in each state, in STATES order, as "2 ok"; states without windows left out. */
function stateCounts(report: StatusReport, only: (state: WindowState) => boolean = () => true): string[] {
  const counts = new Map<WindowState, number>();
  for (const account of report.accounts) for (const w of account.windows) counts.set(w.state, (counts.get(w.state) ?? 0) + 1);
  return STATES.filter((state) => counts.has(state) && only(state)).map((state) => `${counts.get(state)} ${state}`);
}

function summary(report: StatusReport): SafeHtml {
  const states = stateCounts(report);
  const accounts = report.accounts.length;
  const windows = report.accounts.reduce((sum, account) => sum + account.windows.length, 0);
  const { ready, shard, now } = report.exporter;
  return html`<p class="summary">${accounts} ${accounts === 1 ? 'account' : 'accounts'}, ${windows} ${windows === 1 ? 'window' : 'windows'}${
    states.length > 0 ? `: ${states.join(', ')}` : ''
  }. ${ready ? 'Ready: every window has been polled.' : 'Not ready yet: some windows wait for their first poll.'}${
    shard ? ` This is shard ${shard.index} of ${shard.total}.` : ''
  }
Report made at <time datetime="${now}">${now}</time>.</p>
${troubleList(report)}`;
}

/** The tab's title: the windows in trouble first, so a glance at the tab tells. */
function title(report: StatusReport): string {
  const trouble = stateCounts(report, (state) => TROUBLE.has(state));
  return `${trouble.length > 0 ? `(${trouble.join(', ')}) ` : ''}Wolkvox Exporter status`;
}

/**
 * The page in pieces, each rendered only when it is asked for: the head and summary, each account,
 * then the footer. app.ts sends them as they come (stream-body.ts), so a page of 1,000 accounts
 * never holds up the event loop for the whole of its rendering. `report` holds no token
 * (status/report.ts); everything from it is escaped by `html`.
 */
export function* statusPageParts(report: StatusReport, options: StatusPageOptions): Generator<string, void, undefined> {
  const nowMs = Date.parse(report.exporter.now);
  const scriptSeconds = options.refreshSeconds ?? SCRIPT_REFRESH_SECONDS;
  const reloadSeconds = options.refreshSeconds ?? NO_SCRIPT_REFRESH_SECONDS;
  const telemetry = options.telemetryPath;
  // The no-script reload sits in <noscript> in <head>, where HTML allows a <meta>: with scripting on,
  // a browser reads <noscript> as text, so the two refreshes never both run. A meta that the script
  // removed would not do: Chromium and Firefox schedule the reload once they parse the meta.
  yield html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title(report)}</title>
<link rel="stylesheet" href="${assetHref('/static/status.css')}">
<script src="${assetHref('/static/status.js')}" defer></script>
<noscript><meta http-equiv="refresh" content="${reloadSeconds}"></noscript>
</head>
<body data-refresh-seconds="${scriptSeconds}">
<header>
<h1>Wolkvox Exporter</h1>
<p>Prometheus exporter for the Wolkvox <code>chat_15</code> report. Version <code>${options.version}</code>${
    report.exporter.revision ? html`, revision <code>${report.exporter.revision}</code>` : ''
  }. Values are polled in the background and cached: neither a scrape nor this page calls the Wolkvox API.</p>
<nav aria-label="Endpoints">
<ul>
<li><a href="${telemetry}">Metrics</a> <code>${telemetry}</code></li>
<li><a href="/api/v1/status">Status as JSON</a> <code>/api/v1/status</code></li>
<li><a href="/healthz">Health</a> <code>/healthz</code></li>
<li><a href="/readyz">Readiness</a> <code>/readyz</code></li>
${options.lifecycleEnabled ? html`<li>Reload the config: <code>POST /-/reload</code></li>\n` : ''}</ul>
</nav>
</header>
<main id="status">
${summary(report)}
`.toString();
  if (report.accounts.length === 0) yield '<p>No accounts are configured.</p>\n';
  for (const [i, account] of report.accounts.entries()) yield `${accountSection(account, i, nowMs).toString()}\n`;
  const legend = STATES.map((state) => html`<li>${stateBadge(state)} ${STATE_MEANINGS[state]}</li>`);
  yield html`</main>
<footer>
<p id="refresh-note">Without JavaScript this page reloads every ${reloadSeconds} s.</p>
<p id="refresh-problem" role="status"></p>
<details>
<summary>What the states mean</summary>
<ul>
${joinHtml(legend, '\n')}
</ul>
</details>
</footer>
</body>
</html>
`.toString();
}

/** The whole page as one string (the parts joined): for tests, and anything small. */
export function statusPage(report: StatusReport, options: StatusPageOptions): string {
  return [...statusPageParts(report, options)].join('');
}
