// The landing page at `/`: name, version and links, like the Go exporters' pages.

export type LandingOptions = {
  version: string;
  telemetryPath: string;
  lifecycleEnabled: boolean;
  accounts: readonly string[];
};

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export function landingPage({ version, telemetryPath, lifecycleEnabled, accounts }: LandingOptions): string {
  const path = escapeHtml(telemetryPath);
  const accountList = accounts.map((name) => `<code>${escapeHtml(name)}</code>`).join(', ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Wolkvox Exporter</title>
<style>
body { font-family: -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 46em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } code { background: #f2f2f2; padding: 0 .2em; }
li { margin: .3em 0; }
</style>
</head>
<body>
<h1>Wolkvox Exporter</h1>
<p>Prometheus exporter for the Wolkvox <code>chat_15</code> report (WhatsApp Click Summary). Version <code>${escapeHtml(version)}</code>.</p>
<p>Values are polled in the background and cached: a scrape never calls the Wolkvox API.</p>
<ul>
<li><a href="${path}">Metrics</a> (<code>${path}</code>)</li>
<li><a href="/healthz">Health</a> (<code>/healthz</code>)</li>
<li><a href="/readyz">Readiness</a> (<code>/readyz</code>: 200 once every window has been polled)</li>
${lifecycleEnabled ? '<li><code>POST /-/reload</code> reloads the config file</li>\n' : ''}</ul>
<p>Accounts: ${accountList || 'none'}</p>
</body>
</html>
`;
}
