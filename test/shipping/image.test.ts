// The image built and run for real with podman: it builds from this tree, runs as uid 1000, serves the demo, reports the
// revision it was built from, and its HEALTHCHECK tells a healthy exporter from a frozen one, with TLS and basic auth too.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASE_NODE_VERSION,
  BUILD_CA_FILE,
  BUILD_NPMRC,
  buildImage,
  createPodman,
  describeResult,
  ensureBaseImage,
  removeContainer,
  removeLeftovers,
  runSuffix,
  startExporterContainer,
  type ExporterContainer,
  type Podman,
} from '../support/container-image.js';
import { samplesOf, valueOf } from '../support/exposition.js';
import { waitFor } from '../support/processes.js';
import { systemTools } from '../support/system-tools.js';

const ROOT = resolve(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const MINUTE = 60_000;
/** Deadlines for things that take a second or two: only there so a broken image fails instead of hanging. */
const WAIT = { timeoutMs: 2 * MINUTE, intervalMs: 500 };
/** Where the TLS + basic auth case mounts its web config, certificate and password files. */
const WEB_DIR = '/etc/wolkvox';
const PASSWORD = 's3cret';
/** Names of this suite's images and containers, followed by runSuffix() (pid first, so leftovers can be told). */
const IMAGE_PREFIX = 'localhost/wolkvox-exporter-test:';
const CONTAINER_PREFIX = 'wolkvox-test-';

type Built = { podman: Podman; image: string; revision: string; output: string };

// Set up once in beforeAll, awaited by every case: a failed build then fails each case with its output, where a
// throwing beforeAll would report them as skipped.
let built: Promise<Built>;
let podman: Podman | undefined;
let image = '';
let webDir = '';
const started: ExporterContainer[] = [];
const ignore = (): void => undefined;

function gitRevision(): string {
  const result = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  // Not a git checkout (an unpacked tarball): any value will do, as long as the image reports exactly it.
  return result.status === 0 && result.stdout.trim() !== '' ? result.stdout.trim() : `t${randomBytes(6).toString('hex')}`;
}

function requirePodman(): Podman {
  if (!podman) throw new Error('beforeAll did not set up podman');
  return podman;
}

async function start(name: string, options: { runOptions?: string[]; args: string[] }): Promise<ExporterContainer> {
  const { podman: ready, image: tag } = await built;
  const container = await startExporterContainer(ready, { image: tag, name: `${CONTAINER_PREFIX}${runSuffix()}-${name}`, timeoutMs: WAIT.timeoutMs, ...options });
  started.push(container);
  return container;
}

/** Runs the image's own HEALTHCHECK command once, as Docker's timer would; the health log holds its output. */
async function healthcheck(container: ExporterContainer): Promise<{ status: number | null; report: string; lastOutput: string }> {
  // The kill is a safety net: podman 4.3 waits for the command however long it takes (it only marks it failed
  // past --timeout), so a check without a timeout of its own would hang here.
  const run = await requirePodman().run(['healthcheck', 'run', container.name], { killAfterMs: 2 * MINUTE });
  const inspected = await requirePodman().run(['inspect', '--format', '{{json .State.Health}}', container.name]);
  const health = JSON.parse(inspected.stdout || '{}') as { Log?: { ExitCode: number; Output: string }[] };
  const last = health.Log?.at(-1);
  return {
    status: run.status,
    lastOutput: last?.Output ?? '',
    report: `${describeResult(`podman healthcheck run ${container.name}`, run)}\n--- last check's output ---\n${last?.Output ?? '(none)'}\n--- container output (tail) ---\n${container.proc.output().slice(-4000)}`,
  };
}

function httpsGet(port: number, path: string, auth?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolvePromise, reject) => {
    const request = httpsRequest({ host: '127.0.0.1', port, path, ca: readFileSync(join(webDir, 'server.crt')), ...(auth ? { auth } : {}) }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => void (text += chunk.toString('utf8')));
      response.on('end', () => resolvePromise({ status: response.statusCode ?? 0, text }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** A self-signed certificate, a $2y$ bcrypt hash and the password files, readable by uid 1000 only, as an operator would mount them. */
function writeWebConfig(dir: string): void {
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=wolkvox-exporter',
      '-addext', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.crt')],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  const hash = bcrypt.hashSync(PASSWORD, 4).replace(/^\$2[ab]\$/, '$2y$');
  writeFileSync(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: ${hash}\n`);
  writeFileSync(join(dir, 'healthcheck-password'), `${PASSWORD}\n`);
  writeFileSync(join(dir, 'wrong-password'), 'not-the-password\n');
  for (const file of ['server.crt', 'server.key', 'web.yml', 'healthcheck-password', 'wrong-password']) {
    chownSync(join(dir, file), 1000, 1000);
    chmodSync(join(dir, file), 0o600);
  }
  chownSync(dir, 1000, 1000);
  chmodSync(dir, 0o700);
}

async function buildOnce(): Promise<Built> {
  if (process.getuid?.() !== 0) {
    throw new Error('the image tests need root (debootstrap, podman build --isolation=chroot, rootful containers): run npm test as root, as .ci/run does');
  }
  const tools = systemTools();
  podman = createPodman(tools);
  await removeLeftovers(podman, { container: CONTAINER_PREFIX, image: IMAGE_PREFIX });
  await ensureBaseImage(podman, tools);
  const revision = gitRevision();
  image = `${IMAGE_PREFIX}${runSuffix()}`;
  const { output } = await buildImage(podman, { context: ROOT, tag: image, buildArgs: { REVISION: revision, VERSION } });
  webDir = mkdtempSync(join(tmpdir(), 'wolkvox-image-web-'));
  writeWebConfig(webDir);
  return { podman, image, revision, output };
}

beforeAll(() => {
  built = buildOnce();
  return built.then(ignore, ignore);
}, 30 * MINUTE);

afterAll(async () => {
  if (podman) {
    for (const container of started.splice(0)) await removeContainer(podman, container);
    if (image !== '') await podman.run(['rmi', '--force', image]);
    podman.close();
  }
  if (webDir !== '') rmSync(webDir, { recursive: true, force: true });
}, 5 * MINUTE);

describe('the image', () => {
  it('builds from this tree: build info from the REVISION argument, only the runtime files in /app, no build-time npm settings', async () => {
    const { image, revision, output } = await built;
    expect(output).toMatch(/Successfully tagged/);
    const [inspected] = JSON.parse(await requirePodman().ok(['image', 'inspect', image])) as {
      Config: { User: string; Env: string[]; Entrypoint: string[]; Labels: Record<string, string> };
      Healthcheck?: { Test: string[]; Timeout: number };
    }[];
    expect(inspected!.Config.User).toBe('node');
    expect(inspected!.Config.Entrypoint).toEqual(['node', '--max-semi-space-size=1', '--optimize-for-size', '--no-memory-reducer', '--v8-pool-size=1', 'dist/main.js']);
    expect(inspected!.Config.Labels['org.opencontainers.image.revision']).toBe(revision);
    expect(inspected!.Healthcheck?.Test).toEqual(['CMD', 'node', '--max-semi-space-size=1', '--optimize-for-size', '--no-memory-reducer', '--v8-pool-size=1', 'dist/main.js', 'healthcheck']);
    // The revision travels as a build-stage argument, the npm settings as mounts: neither may stay in the config.
    expect(inspected!.Config.Env.filter((entry) => !/^(PATH|NODE_ENV|NODE_VERSION)=/.test(entry))).toEqual([]);
    expect(JSON.stringify(inspected)).not.toMatch(/npmrc|cafile|NODE_EXTRA_CA_CERTS|WOLKVOX_EXPORTER_REVISION/);

    const files = await requirePodman().ok([
      'run', '--rm', '--network=host', '--user=root', '--entrypoint=sh', image, '-c',
      // The mount points of the build's npmrc and CA file may remain, but empty.
      `ls -A /app; echo ---; cat /app/dist/build-info.json; echo ---; cat ${BUILD_NPMRC} ${BUILD_CA_FILE} 2>/dev/null; true`,
    ]);
    const [listing, buildInfo, leftovers] = files.split('---\n');
    expect(listing?.trim().split('\n')).toEqual(['dist', 'node_modules', 'package-lock.json', 'package.json']);
    expect(JSON.parse(buildInfo ?? '')).toEqual({ revision });
    expect(leftovers).toBe('');
  });

  it('prints the version and the revision it was built from with --version', async () => {
    const { image, revision } = await built;
    const stdout = await requirePodman().ok(['run', '--rm', '--network=host', image, '--version']);
    expect(stdout).toContain(VERSION);
    expect(stdout).toContain(revision);
    expect(stdout).not.toContain('unknown');
  });
});

describe('a container running --demo', () => {
  let starting: Promise<ExporterContainer>;
  beforeAll(() => {
    // At debug level the exporter says whether it started from the V8 code cache of the build.
    starting = start('demo', { args: ['--demo', '--log.level=debug'] });
    return starting.then(ignore, ignore);
  }, 5 * MINUTE);

  it('runs the exporter as uid and gid 1000', async () => {
    const demo = await starting;
    const out = await requirePodman().ok(['exec', demo.name, 'sh', '-c', 'id -u; id -g; grep -E "^(Uid|Gid):" /proc/1/status']);
    const [uid, gid, pidOneUid, pidOneGid] = out.trim().split('\n');
    expect([uid, gid]).toEqual(['1000', '1000']);
    // Real, effective, saved and filesystem ids of PID 1, the exporter itself.
    expect(pidOneUid?.split(/\s+/)).toEqual(['Uid:', '1000', '1000', '1000', '1000']);
    expect(pidOneGid?.split(/\s+/)).toEqual(['Gid:', '1000', '1000', '1000', '1000']);
  }, 5 * MINUTE);

  it('serves /metrics with wolkvox_up 1 for the demo account and build_info with the revision passed at build time', async () => {
    const [demo, { revision }] = await Promise.all([starting, built]);
    const text = await waitFor(
      'wolkvox_up{account="demo",window="1h"} 1',
      async () => {
        const response = await fetch(`http://127.0.0.1:${demo.port}/metrics`);
        const body = await response.text();
        return response.status === 200 && valueOf(body, 'wolkvox_up', { account: 'demo', window: '1h' }) === 1 ? body : undefined;
      },
      { ...WAIT, describe: () => demo.proc.output().slice(-4000) },
    );
    expect(samplesOf(text, 'wolkvox_exporter_build_info')).toEqual([
      { name: 'wolkvox_exporter_build_info', labels: { version: VERSION, revision, nodejs: `v${BASE_NODE_VERSION}` }, value: 1 },
    ]);
  }, 5 * MINUTE);

  it('starts from the V8 code cache that the build stage wrote: both stages run one Node.js', async () => {
    const demo = await starting;
    await waitFor('the listening log line', async () => (demo.proc.output().includes('"msg":"listening"') ? true : undefined), {
      ...WAIT,
      describe: () => demo.proc.output().slice(-4000),
    });
    const codeCache = demo.proc
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { codeCache?: string }).codeCache)
      .filter((use) => use !== undefined);
    expect(codeCache, demo.proc.output().slice(-4000)).toEqual(['used']);
  }, 5 * MINUTE);

  it('passes its HEALTHCHECK while the exporter answers, and fails it while the exporter is frozen', async () => {
    const demo = await starting;
    const healthy = await healthcheck(demo);
    expect(healthy.status, healthy.report).toBe(0);

    // SIGSTOP freezes PID 1 the way a wedged event loop would: the process is there and the kernel still accepts
    // connections on its port, but nothing answers. A check that only looked for the process or the port would
    // pass; this one must give up on its own and say why. podman 4.3 never kills a check: one that hung would
    // hang here, and one that ends after --timeout is failed with status 125, which on a slow host can happen to a
    // check that did give up in time, so the status is only "not healthy" and the output is what shows it ended.
    await requirePodman().ok(['kill', '--signal', 'STOP', demo.name]);
    try {
      const frozen = await healthcheck(demo);
      expect(frozen.status === 1 || frozen.status === 125, frozen.report).toBe(true);
      expect(frozen.lastOutput, frozen.report).toMatch(/unhealthy/);
    } finally {
      await requirePodman().ok(['kill', '--signal', 'CONT', demo.name]);
    }

    // Thawed, the same container is healthy again: the failure came from the freeze, not from the check.
    const thawed = await healthcheck(demo);
    expect(thawed.status, thawed.report).toBe(0);
  }, 5 * MINUTE);
});

describe('a container with --web.config.file (TLS and basic auth)', () => {
  let starting: Promise<ExporterContainer>;
  beforeAll(() => {
    starting = start('tls', {
      runOptions: [
        '-v', `${webDir}:${WEB_DIR}:ro`,
        '-e', 'WOLKVOX_HEALTHCHECK_USERNAME=prometheus',
        '-e', `WOLKVOX_HEALTHCHECK_PASSWORD_FILE=${WEB_DIR}/healthcheck-password`,
      ],
      args: ['--demo', `--web.config.file=${WEB_DIR}/web.yml`],
    });
    return starting.then(ignore, ignore);
  }, 5 * MINUTE);

  it('serves /metrics over TLS to the right credentials only', async () => {
    const [secured, { revision }] = await Promise.all([starting, built]);
    const metrics = await waitFor(
      'wolkvox_up 1 over TLS',
      async () => {
        const response = await httpsGet(secured.port, '/metrics', `prometheus:${PASSWORD}`);
        return response.status === 200 && valueOf(response.text, 'wolkvox_up', { account: 'demo', window: '1h' }) === 1 ? response : undefined;
      },
      { ...WAIT, describe: () => secured.proc.output().slice(-4000) },
    );
    expect(samplesOf(metrics.text, 'wolkvox_exporter_build_info').map((sample) => sample.labels.revision)).toEqual([revision]);
    expect((await httpsGet(secured.port, '/healthz')).status).toBe(401);
    expect((await httpsGet(secured.port, '/healthz', 'prometheus:wrong')).status).toBe(401);
    await expect(fetch(`http://127.0.0.1:${secured.port}/healthz`)).rejects.toThrow();
  }, 5 * MINUTE);

  it('passes its HEALTHCHECK with WOLKVOX_HEALTHCHECK_USERNAME and WOLKVOX_HEALTHCHECK_PASSWORD_FILE', async () => {
    const secured = await starting;
    const healthy = await healthcheck(secured);
    expect(healthy.status, healthy.report).toBe(0);
  }, 5 * MINUTE);

  it('fails the same check with a wrong password: it really authenticates', async () => {
    const secured = await starting;
    const wrong = await requirePodman().run([
      'exec', '-e', `WOLKVOX_HEALTHCHECK_PASSWORD_FILE=${WEB_DIR}/wrong-password`, secured.name, 'node', 'dist/main.js', 'healthcheck',
    ]);
    expect(wrong.status, describeResult('healthcheck with a wrong password', wrong)).toBe(1);
    const lines = wrong.stderr.trim().split('\n');
    expect(lines, wrong.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/401/);
  }, 5 * MINUTE);
});
