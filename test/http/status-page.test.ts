// The status page as HTML: every state, hostile text kept as text, the links, no inline script or style, and no token.
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { STATIC_ASSETS } from '../../src/http/static/assets.js';
import { STATUS_JS } from '../../src/http/static/status-js.js';
import {
  NO_SCRIPT_REFRESH_SECONDS,
  SCRIPT_REFRESH_SECONDS,
  formatContainment,
  formatSeconds,
  formatWolkvoxBound,
  refreshFromQuery,
  relativeTime,
  statusPage,
} from '../../src/http/status-page.js';
import { HOSTILE, NOW, account, everyState, okWindow, report } from './status-page-fixtures.js';

const OPTIONS = { telemetryPath: '/metrics', lifecycleEnabled: false, version: '9.8.7' };

/** Every tag of the page with its attribute names: what the markup is, whatever the text says. */
function tags(html: string): Array<{ name: string; attributes: string[]; raw: string }> {
  return [...html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g)].map((m) => ({
    name: m[1]!.toLowerCase(),
    attributes: [...m[2]!.matchAll(/([^\s=/]+)(?:=(?:"[^"]*"|'[^']*'|[^\s>]+))?/g)].map((a) => a[1]!.toLowerCase()),
    raw: m[0],
  }));
}

/** The tags the renderer writes; anything else came from report text. */
const OWN_TAGS = new Set([
  'html', 'head', 'meta', 'title', 'link', 'script', 'noscript', 'body', 'header', 'h1', 'h2', 'p', 'code', 'nav', 'ul', 'li', 'a',
  'main', 'section', 'dl', 'dt', 'dd', 'span', 'time', 'div', 'table', 'caption', 'thead', 'tbody', 'tr', 'th', 'td', 'data', 'footer',
  'details', 'summary',
]);

/** The rows of one account's table, as the text of their cells. */
function rowsOf(html: string, accountName: string, table: 'polls' | 'values'): Record<string, string[]> {
  const section = html.split('<section ').find((part) => part.startsWith(`class="account" data-account="${accountName}"`));
  if (!section) throw new Error(`no section for ${accountName}`);
  const box = section.split('<div class="scroll" ').find((part) => new RegExp(`^id="account-\\d+-${table}"`).test(part));
  if (!box) throw new Error(`no ${table} table for ${accountName}`);
  const rows: Record<string, string[]> = {};
  for (const [, window, cells] of box.matchAll(/<tr data-window="([^"]*)">(.*?)<\/tr>/g)) {
    rows[window!] = [...cells!.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/g)].map((cell) => text(cell[1]!));
  }
  return rows;
}

/** The text a browser shows for a fragment: block tags a space, other tags dropped, entities decoded, spaces collapsed. */
function text(fragment: string): string {
  return fragment
    .replace(/<\/?(?:dt|dd|td|th|tr|p|li|h\d|caption|div|section)\b[^>]*>/g, ' ')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

describe('statusPage', () => {
  const page = statusPage(everyState(), OPTIONS);

  it('is one HTML5 document with lang, viewport, a title and headings in order', () => {
    expect(page.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    // The tab names the windows in trouble first; a page without trouble has the plain title.
    expect(page).toContain('<title>(1 failing, 1 stale, 1 paused) Wolkvox Exporter status</title>');
    expect(statusPage(report([account()]), OPTIONS)).toContain('<title>Wolkvox Exporter status</title>');
    const levels = [...page.matchAll(/<h([1-6])[ >]/g)].map((m) => Number(m[1]));
    expect(levels[0]).toBe(1);
    for (let i = 1; i < levels.length; i++) expect(levels[i]! - levels[i - 1]!).toBeLessThanOrEqual(1);
    expect(levels.filter((level) => level === 2)).toHaveLength(5);
  });

  it('refreshes itself without JavaScript through a meta refresh in <noscript> in <head>, where HTML allows it', () => {
    const head = page.slice(page.indexOf('<head>'), page.indexOf('</head>'));
    expect(head).toContain(`<noscript><meta http-equiv="refresh" content="${NO_SCRIPT_REFRESH_SECONDS}"></noscript>`);
    expect(page.slice(page.indexOf('<body'))).not.toContain('http-equiv');
    expect(page).toContain(`<p id="refresh-note">Without JavaScript this page reloads every ${NO_SCRIPT_REFRESH_SECONDS} s.</p>`);
  });

  it('tells the script its period in a data attribute; ?refresh=<seconds> sets both periods', () => {
    expect(page).toContain(`<body data-refresh-seconds="${SCRIPT_REFRESH_SECONDS}">`);
    const quick = statusPage(everyState(), { ...OPTIONS, refreshSeconds: 2 });
    expect(quick).toContain('<body data-refresh-seconds="2">');
    expect(quick).toContain('<noscript><meta http-equiv="refresh" content="2"></noscript>');
    expect(quick).toContain('reloads every 2 s.');
  });

  it.each([
    ['refresh=5', 5],
    ['a=1&refresh=1', 1],
    ['refresh=3600', 3600],
    ['refresh=0', undefined],
    ['refresh=3601', undefined],
    ['refresh=-1', undefined],
    ['refresh=1.5', undefined],
    ['refresh=5s', undefined],
    ['refresh=', undefined],
    ['refresh=99999999999999999999', undefined],
    ['', undefined],
  ])('refreshFromQuery(%j) is %s', (query, expected) => {
    expect(refreshFromQuery(query)).toBe(expected);
  });

  it('links the accounts in trouble from the top, with their windows, states and outcomes', () => {
    const trouble = page.slice(page.indexOf('<ul class="trouble">'), page.indexOf('</ul>', page.indexOf('<ul class="trouble">')));
    expect([...trouble.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1])).toEqual([
      '<a href="#account-1">mexico</a>: 1h failing (server_error)',
      '<a href="#account-2">peru</a>: 1h stale (unauthorized)',
      '<a href="#account-3">chile</a>: 1h paused (quota_exceeded)',
    ]);
    expect(page).toContain('<h2 id="account-1">Account <code>mexico</code></h2>');
    expect(statusPage(report([account()]), OPTIONS)).not.toContain('class="trouble"');
  });

  it('links at most 20 accounts in trouble, then says how many more', () => {
    const many = report(Array.from({ length: 23 }, (_, i) => account({ name: `a${i}`, windows: [okWindow({ state: 'stale' })] })));
    const html = statusPage(many, OPTIONS);
    expect(html.match(/<li><a href="#account-\d+">/g)).toHaveLength(20);
    expect(html).toContain('<li>and 3 more</li>');
  });

  it('loads its stylesheet and script as files named by their content, and holds no inline script, style or handler', () => {
    const css = STATIC_ASSETS.get('/static/status.css')!;
    const js = STATIC_ASSETS.get('/static/status.js')!;
    expect(page).toContain(`<link rel="stylesheet" href="/static/status.css?v=${css.hash}">`);
    expect(page).toContain(`<script src="/static/status.js?v=${js.hash}" defer></script>`);
    const all = tags(page);
    expect(all.filter((tag) => tag.name === 'script')).toHaveLength(1);
    expect(all.filter((tag) => tag.name === 'style')).toEqual([]);
    for (const tag of all) {
      expect(tag.attributes.filter((name) => name === 'style' || name.startsWith('on')), tag.raw).toEqual([]);
    }
  });

  it('shows each window state as a word, with colour only as a class beside it', () => {
    const states = [...page.matchAll(/<span class="state state-(\w+)" title="[^"]*">(\w+)<\/span>/g)];
    // Five accounts' windows, then the legend's five.
    expect(states.map((m) => m[2])).toEqual(['ok', 'ok', 'failing', 'stale', 'paused', 'pending', 'ok', 'failing', 'stale', 'paused', 'pending']);
    for (const m of states) expect(m[1]).toBe(m[2]);
    expect(text(page)).toContain('5 accounts, 6 windows: 2 ok, 1 failing, 1 stale, 1 paused, 1 pending.');
  });

  it('puts every window into tables with column and row headers and a caption', () => {
    expect(page.match(/<table>/g)).toHaveLength(10);
    expect(page.match(/<caption id="account-\d+-(polls|values)-caption">/g)).toHaveLength(10);
    expect(page).toContain('<th scope="col">State</th>');
    expect(page).toContain('<th scope="row">today</th>');
    // Each table scrolls in its own labelled, focusable box instead of widening the page.
    expect(page).toContain('<div class="scroll" id="account-0-polls" role="region" aria-labelledby="account-0-polls-caption" tabindex="0">');
  });

  it('shows an ok window: outcome, last success relative and absolute, call duration, next poll', () => {
    expect(rowsOf(page, 'colombia', 'polls')['1h']).toEqual([
      '1h', 'ok', 'success', '', '3 min ago 2024-05-01T17:27:00.000Z', '0.42 s', 'in 2 min 2024-05-01T17:32:00.000Z', '2024-05-01 11:30:00 to 2024-05-01 12:29:59',
    ]);
    expect(page).toContain('<time class="abs" datetime="2024-05-01T17:27:00.000Z">2024-05-01T17:27:00.000Z</time>');
  });

  it('shows the values with the bounds they were counted over and the bot containment rate, and "no chats" when there were none', () => {
    const values = rowsOf(page, 'colombia', 'values');
    expect(values['1h']).toEqual(['1h', '2024-05-01 11:30:00 to 2024-05-01 12:29:59', '12', '3', '40', '9', '70', '14', '83.3 %']);
    expect(values.today?.slice(2)).toEqual(['0', '0', '0', '0', '0', '0', 'no chats']);
    expect(page).toContain('<data value="20240501113000">2024-05-01 11:30:00</data>');
  });

  it('shows a failing window with its error and the values still served', () => {
    expect(rowsOf(page, 'mexico', 'polls')['1h']).toEqual([
      '1h', 'failing', 'server_error', 'HTTP 503', '20 min ago 2024-05-01T17:10:00.000Z', '12.3 s', 'in 2 min 2024-05-01T17:32:00.000Z',
      '2024-05-01 12:00:00 to 2024-05-01 12:59:59',
    ]);
    // The values still served are those of the last success, shown with its bounds, not the failed call's.
    expect(rowsOf(page, 'mexico', 'values')['1h']?.slice(0, 3)).toEqual(['1h', '2024-05-01 11:30:00 to 2024-05-01 12:29:59', '12']);
  });

  it('shows a stale window without values, and a pending one', () => {
    expect(rowsOf(page, 'peru', 'polls')['1h']?.slice(1, 5)).toEqual(['stale', 'unauthorized', 'Wolkvox rejected the token (PLEASE VALIDATE TOKEN)', 'never']);
    expect(rowsOf(page, 'peru', 'polls')['1h']?.[7]).toBe('none');
    expect(rowsOf(page, 'peru', 'values')['1h']).toEqual(['1h', 'no values served']);
    expect(rowsOf(page, 'argentina', 'polls')['1h']).toEqual(['1h', 'pending', 'none yet', '', 'never', 'none yet', 'in 20 s 2024-05-01T17:30:20.000Z', 'none']);
  });

  it('shows a paused account: the pause, no next poll, and planned calls over the quota', () => {
    expect(rowsOf(page, 'chile', 'polls')['1h']?.slice(1)).toEqual([
      'paused', 'quota_exceeded', 'HTTP 403: "TOKEN LIMIT EXCEEDED"', '2 h 30 min ago 2024-05-01T15:00:00.000Z', 'none yet', 'not scheduled', 'none',
    ]);
    const chile = text(page.slice(page.indexOf('data-account="chile"')));
    expect(chile).toContain('Quota pause until in 10 h 30 min 2024-05-02T04:00:00.000Z');
    expect(chile).toContain('Calls a day 1200 planned of 1000 a day (120 %); quota assumed (one license) more than the quota');
    expect(chile).toContain('Calls today 1000 success, 1 quota_exceeded (1001 in all)');
  });

  it('shows the account facts: fingerprint, zone, quota stated or assumed, calls today, counters when present', () => {
    const colombia = text(page.slice(page.indexOf('data-account="colombia"'), page.indexOf('data-account="mexico"')));
    expect(colombia).toContain('Token fingerprint 0123456789abcdef');
    expect(colombia).toContain('Time zone America/Bogota');
    expect(colombia).toContain('Calls a day 600 planned of 1000 a day (60 %); quota assumed');
    expect(colombia).toContain('Calls today 210 success, 4 no_data (214 in all)');
    expect(colombia).toContain('Quota pause not paused');
    expect(colombia).toContain('Counters settled until 1 h 30 min ago 2024-05-01T16:00:00.000Z (chunks of 3600 s, 600 s behind)');
    const mexico = text(page.slice(page.indexOf('data-account="mexico"'), page.indexOf('data-account="peru"')));
    expect(mexico).toContain('Calls a day 600 planned of 2000 a day (30 %)');
    expect(mexico).not.toContain('assumed');
    expect(mexico).not.toContain('Counters settled until');
    expect(text(page.slice(page.indexOf('data-account="argentina"')))).toContain('Calls today none yet');
  });

  it('links the configured telemetry path, the JSON, health and readiness, and mentions reload only when enabled', () => {
    const custom = statusPage(everyState(), { ...OPTIONS, telemetryPath: '/custom/metrics' });
    expect(custom).toContain('<a href="/custom/metrics">Metrics</a>');
    expect(custom).not.toContain('href="/metrics"');
    for (const href of ['/api/v1/status', '/healthz', '/readyz']) expect(custom).toContain(`<a href="${href}">`);
    expect(custom).not.toContain('/-/reload');
    expect(statusPage(everyState(), { ...OPTIONS, lifecycleEnabled: true })).toContain('<code>POST /-/reload</code>');
    expect(custom).toContain('Version <code>9.8.7</code>, revision <code>abc1234</code>');
  });

  it('says when nothing is configured or polled yet', () => {
    expect(text(statusPage(report([]), OPTIONS))).toContain('0 accounts, 0 windows. Ready');
    expect(text(statusPage(report([account({ windows: [{ window: '1h', state: 'pending' }] })], { ready: false }), OPTIONS))).toContain(
      '1 account, 1 window: 1 pending. Not ready yet',
    );
    expect(text(statusPage(report([], { shard: { index: 1, total: 3 } }), OPTIONS))).toContain('This is shard 1 of 3.');
  });

  it.each(HOSTILE)('shows %s from Wolkvox or the config as text, never as markup', (hostile) => {
    const hostileReport = report(
      [
        account({
          name: hostile,
          timeZone: hostile,
          tokenFingerprint: hostile,
          windows: [okWindow({ window: hostile, state: 'failing', lastError: `HTTP 200 with body code 500: ${JSON.stringify(hostile)}`, lastSuccess: hostile, nextPoll: hostile, bounds: { dateIni: hostile, dateEnd: hostile } })],
        }),
      ],
      { revision: hostile, now: hostile },
    );
    const html = statusPage(hostileReport, { telemetryPath: `/m${hostile}`, lifecycleEnabled: true, version: hostile });
    for (const tag of tags(html)) {
      expect(OWN_TAGS.has(tag.name), tag.raw).toBe(true);
      expect(tag.attributes.filter((name) => name.startsWith('on')), tag.raw).toEqual([]);
    }
    expect(html).not.toContain(hostile.includes('<') ? hostile : '\u0000');
    expect(html).not.toMatch(/<(img|svg|script)\b(?! src="\/static)/);
    // The text a reader sees holds it verbatim, in the error cell too.
    const shown = text(html);
    expect(shown).toContain(`Account ${hostile}`);
    expect(shown).toContain(`HTTP 200 with body code 500: ${JSON.stringify(hostile)}`);
  });

  it('shows the fingerprint where it goes and nowhere else: the report holds no token to leak', () => {
    const SENTINEL = 'fp-SENTINEL-3d9a';
    const html = statusPage(report([account({ tokenFingerprint: SENTINEL })]), OPTIONS);
    expect(html.split(SENTINEL)).toHaveLength(2);
    expect(html).toContain(`<dt>Token fingerprint</dt><dd><code class="fingerprint">${SENTINEL}</code></dd>`);
  });
});

describe('the page helpers', () => {
  it.each([
    [0, 'now'],
    [1, '1 s ago'],
    [59, '59 s ago'],
    [60, '1 min ago'],
    [3_599, '59 min ago'],
    [3_600, '1 h ago'],
    [3_660, '1 h 1 min ago'],
    [86_400, '1 d ago'],
    [90_000, '1 d 1 h ago'],
    [-20, 'in 20 s'],
    [-600, 'in 10 min'],
  ])('relativeTime %i s before now is %s', (secondsAgo, expected) => {
    const now = Date.parse(NOW);
    expect(relativeTime(now - secondsAgo * 1000, now)).toBe(expected);
  });

  it('formats bounds, seconds and the containment rate', () => {
    expect(formatWolkvoxBound('20240501000000')).toBe('2024-05-01 00:00:00');
    expect(formatWolkvoxBound('2024')).toBe('2024');
    expect(formatSeconds(0.123)).toBe('0.12 s');
    expect(formatSeconds(61.27)).toBe('61.3 s');
    expect(formatContainment(null)).toBe('no chats');
    expect(formatContainment(1)).toBe('100.0 %');
    expect(formatContainment(2 / 3)).toBe('66.7 %');
  });
});

describe('the page script', () => {
  it('compiles, and never turns text into markup: no innerHTML, outerHTML, insertAdjacentHTML, document.write or eval', () => {
    expect(() => new Script(STATUS_JS)).not.toThrow();
    expect(STATUS_JS).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    // It writes only its own messages, with textContent.
    expect(STATUS_JS.match(/\.textContent = /g)?.length).toBeGreaterThan(0);
  });
});
