// Records the git revision next to the compiled code, for wolkvox_exporter_build_info.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';

// Set by the image build from --build-arg REVISION; an empty value (REVISION= or an unset shell variable) counts as unset.
let revision = process.env.WOLKVOX_EXPORTER_REVISION?.trim() || 'unknown';
if (revision === 'unknown') {
  try {
    revision = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // Not a git checkout (e.g. a Docker build context without .git): keep "unknown".
  }
}
mkdirSync('dist', { recursive: true });
writeFileSync('dist/build-info.json', `${JSON.stringify({ revision })}\n`);
