// The status page's stylesheet, served as /static/status.css: a file, not an inline style, so the CSP needs no 'unsafe-inline'.
//
// Colours only add to the state words; every text/background pair is at least 4.5:1 (WCAG AA).
export const STATUS_CSS = `:root {
  color-scheme: light;
  --text: #1f2328;
  --muted: #505a64;
  --line: #d0d7de;
  --head: #f3f5f7;
  --link: #0b57b5;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0 auto;
  max-width: 90rem;
  padding: 0 1rem 2rem;
  font: 1rem/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  color: var(--text);
  background: #fff;
}
a { color: var(--link); }
a:focus-visible, .scroll:focus-visible { outline: 3px solid var(--link); outline-offset: 2px; }
h1 { font-size: 1.5rem; margin: 1rem 0 0.25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.5rem; overflow-wrap: anywhere; }
header p, footer p { margin: 0.25rem 0; color: var(--muted); }
nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; padding: 0; margin: 0.5rem 0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; overflow-wrap: anywhere; }
.summary { margin: 1rem 0 0.5rem; }
.trouble { margin: 0.25rem 0 1rem; padding-left: 1.25rem; }
.trouble li { margin: 0.15rem 0; }
dl.account { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.15rem 1rem; margin: 0.5rem 0 1rem; }
dl.account dt { font-weight: 600; }
dl.account dd { margin: 0; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; margin: 0 0 1rem; border: 1px solid var(--line); border-radius: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
caption { text-align: left; font-weight: 600; padding: 0.4rem 0.6rem; }
th, td { padding: 0.35rem 0.6rem; border-top: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--head); white-space: nowrap; }
tbody th { white-space: nowrap; background: #fff; }
/* Scrolled sideways on a phone, a table keeps its caption and the window of each row in sight. */
thead th:first-child, tbody th { position: sticky; left: 0; }
caption > span { display: inline-block; position: sticky; left: 0.6rem; }
thead th:first-child, tbody th { z-index: 1; box-shadow: inset -1px 0 0 var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.when { white-space: nowrap; }
/* Two dates: each stays whole, the pair may take two lines. */
td.bounds { min-width: 11rem; }
td.bounds data { white-space: nowrap; }
td > code { white-space: nowrap; overflow-wrap: normal; }
td.error { min-width: 14rem; max-width: 32rem; overflow-wrap: anywhere; }
.abs { display: block; color: var(--muted); font-size: 0.85em; }
.none { color: var(--muted); }
.warn { font-weight: 600; color: #8a1020; }
.state { display: inline-block; padding: 0 0.45rem; border-radius: 3px; border: 1px solid currentColor; font-weight: 600; white-space: nowrap; }
.state-ok { color: #0d5223; background: #e6f4ea; }
.state-failing { color: #8a1020; background: #fde7e9; }
.state-stale { color: #6b4a00; background: #fff4ce; }
.state-paused { color: #2f3a8f; background: #e8eaf6; }
.state-pending { color: #333; background: #eee; }
@media (max-width: 40rem) {
  body { padding: 0 0.75rem 1.5rem; }
  dl.account { grid-template-columns: minmax(0, 1fr); }
  dl.account dd { margin-bottom: 0.35rem; }
}
footer { margin-top: 2rem; border-top: 1px solid var(--line); padding-top: 0.5rem; font-size: 0.9rem; }
`;
