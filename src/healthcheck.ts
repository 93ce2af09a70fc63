// `wolkvox-exporter healthcheck`: one GET /healthz to a running exporter, with its own flags and web config (TLS, basic auth).
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import { ConfigError } from './config/error.js';
import { parseCommandLine, type RawSettings } from './config/flags.js';
import { loadWebSettings } from './config/load.js';
import { readNamedFile, type ReadFile } from './config/read-file.js';
import { positiveDurationSchema } from './config/schema.js';
import { loadWebConfig } from './http/web-config.js';

export type HealthcheckDeps = {
  /** argv after the word `healthcheck`. */
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  readFile: ReadFile;
  /**
   * The flags PID 1 was started with when PID 1 is this exporter, else undefined. In a container
   * the HEALTHCHECK runs beside the exporter and cannot see its argv otherwise.
   */
  exporterArgv(): readonly string[] | undefined;
};

export type HealthcheckResult = { healthy: boolean; message: string };

/** Where a listen address is reached from the same host: any-address listeners answer on loopback. */
export function loopbackHost(host: string | undefined): string {
  if (host === undefined || host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** True when argv sets any flag of the exporter itself (not one of the healthcheck's own). */
function givesExporterFlags(settings: RawSettings): boolean {
  return Object.entries(settings.values).some(([name, raw]) => !name.startsWith('healthcheck.') && raw?.key.startsWith('--'));
}

/** The settings to check with: the healthcheck's own argv, or PID 1's flags plus its own healthcheck flags. */
function settingsFor(deps: HealthcheckDeps): RawSettings {
  const own = parseCommandLine(['healthcheck', ...deps.argv], deps.env);
  if (own.kind !== 'run') throw new ConfigError('argv', 'unexpected --help or --version');
  if (givesExporterFlags(own.settings)) return own.settings;
  const inherited = deps.exporterArgv();
  if (!inherited) return own.settings;
  const merged = parseCommandLine(['healthcheck', ...inherited, ...deps.argv], deps.env);
  if (merged.kind !== 'run') return own.settings;
  return merged.settings;
}

function get(url: URL, options: { headers: Record<string, string>; timeoutMs: number; cert?: string; key?: string }): Promise<IncomingMessage> {
  return new Promise((resolvePromise, reject) => {
    const common = { method: 'GET', headers: options.headers, timeout: options.timeoutMs };
    const request =
      url.protocol === 'https:'
        ? // The exporter is reached by a loopback address its certificate rarely names, and this
          // checks liveness, not identity: the server certificate is not verified.
          httpsRequest(url, { ...common, rejectUnauthorized: false, ...(options.cert ? { cert: options.cert, key: options.key } : {}) })
        : httpRequest(url, common);
    request.on('response', (response) => {
      response.resume();
      resolvePromise(response);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutMs / 1000}s`)));
    request.on('error', reject);
    request.end();
  });
}

/**
 * Checks the exporter the flags describe. Never throws: a bad flag or file, a refused connection
 * and a non-200 answer are all unhealthy, since Docker reserves exit status 2 and reads 1 as unhealthy.
 */
export async function healthcheck(deps: HealthcheckDeps): Promise<HealthcheckResult> {
  let url: URL | undefined;
  try {
    const settings = settingsFor(deps);
    const web = loadWebSettings(settings);
    const webConfig = web.configFile !== undefined ? await loadWebConfig(web.configFile) : undefined;
    const host = loopbackHost(web.listenAddress.host);
    url = new URL(`${webConfig?.tls ? 'https' : 'http'}://${isIPv6(host) ? `[${host}]` : host}:${web.listenAddress.port}/healthz`);

    const headers: Record<string, string> = {};
    const user = settings.values['healthcheck.username'];
    const passwordFile = settings.values['healthcheck.password-file'];
    if (webConfig && webConfig.basicAuthUsers.size > 0 && (!user || !passwordFile)) {
      throw new ConfigError(
        '--healthcheck.username',
        'the web config turns on basic auth: set --healthcheck.username and --healthcheck.password-file (or WOLKVOX_HEALTHCHECK_USERNAME and WOLKVOX_HEALTHCHECK_PASSWORD_FILE)',
      );
    }
    if (user && passwordFile) {
      const password = readNamedFile(deps.readFile, passwordFile.value, passwordFile.key, { what: 'password file' }).replace(/\r?\n$/, '');
      headers.authorization = `Basic ${Buffer.from(`${user.value}:${password}`).toString('base64')}`;
    }

    const certFile = settings.values['healthcheck.cert-file'];
    const keyFile = settings.values['healthcheck.key-file'];
    if ((certFile === undefined) !== (keyFile === undefined)) {
      throw new ConfigError((certFile ?? keyFile)?.key ?? '--healthcheck.cert-file', 'set both --healthcheck.cert-file and --healthcheck.key-file');
    }
    const clientAuth = webConfig?.tls?.clientAuth;
    if ((clientAuth === 'RequireAnyClientCert' || clientAuth === 'RequireAndVerifyClientCert') && !certFile) {
      throw new ConfigError('--healthcheck.cert-file', `the web config requires a client certificate (${clientAuth}): set --healthcheck.cert-file and --healthcheck.key-file`);
    }
    const timeout = settings.values['healthcheck.timeout'] ?? { value: '4s', key: '--healthcheck.timeout' };
    const parsed = positiveDurationSchema.safeParse(timeout.value);
    if (!parsed.success) throw new ConfigError(timeout.key, `"${timeout.value}" is not a duration such as 4s`);

    const response = await get(url, {
      headers,
      timeoutMs: parsed.data,
      ...(certFile && keyFile
        ? {
            cert: readNamedFile(deps.readFile, certFile.value, certFile.key, { what: 'certificate' }),
            key: readNamedFile(deps.readFile, keyFile.value, keyFile.key, { what: 'key' }),
          }
        : {}),
    });
    const answer = `GET ${url.href} answered ${response.statusCode} ${response.statusMessage ?? ''}`.trimEnd();
    return response.statusCode === 200 ? { healthy: true, message: `healthy: ${answer}` } : { healthy: false, message: `unhealthy: ${answer}` };
  } catch (error) {
    const reason = error instanceof ConfigError ? error.message : ((error as NodeJS.ErrnoException).code ?? (error as Error).message);
    return { healthy: false, message: `unhealthy: ${url ? `GET ${url.href} failed: ` : ''}${reason}` };
  }
}

/**
 * The flags of PID 1 when PID 1 runs this very script (`node [node options] dist/main.js …`),
 * read from /proc; undefined anywhere else (no /proc, another program, another user's process).
 */
export function exporterArgvOfPidOne(selfScript: string | undefined = process.argv[1]): string[] | undefined {
  try {
    if (selfScript === undefined) return undefined;
    const words = readFileSync('/proc/1/cmdline', 'utf8').split('\0').filter((word) => word !== '');
    const cwd = readlinkSync('/proc/1/cwd');
    // Skip the runtime and its own options to find the script.
    const scriptAt = words.findIndex((word, index) => index > 0 && !word.startsWith('-'));
    const script = words[scriptAt];
    if (script === undefined) return undefined;
    if (realpathSync(resolve(cwd, script)) !== realpathSync(selfScript)) return undefined;
    return words.slice(scriptAt + 1);
  } catch {
    return undefined;
  }
}
