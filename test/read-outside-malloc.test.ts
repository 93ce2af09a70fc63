// readOutsideMalloc (src/read-outside-malloc.ts): the bytes of the file, in WebAssembly pages rather than a malloc'd block.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readOutsideMalloc } from '../src/read-outside-malloc.js';

const dir = mkdtempSync(join(tmpdir(), 'wolkvox-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readOutsideMalloc', () => {
  it.each([0, 1, 65_535, 65_536, 65_537, 1_013_368])('reads a file of %i bytes exactly, into whole 64 KiB WebAssembly pages', (size) => {
    const file = join(dir, `file-${size}`);
    writeFileSync(file, randomBytes(size));
    const bytes = readOutsideMalloc(file);
    expect(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).equals(readFileSync(file))).toBe(true);
    // The memory of a WebAssembly.Memory, which V8 maps itself, not an ArrayBuffer of the file's size from malloc.
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(Math.max(1, Math.ceil(size / 65_536)) * 65_536);
  });

  it('fails as readFileSync does for a missing file', () => {
    expect(() => readOutsideMalloc(join(dir, 'absent'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
