// Reads a file at start-up without a large block from malloc, which would leave the process bigger for the rest of its life.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Node.js has WebAssembly.Memory; @types/node 20 declares the WebAssembly namespace's types only. */
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer } };

/** WebAssembly pages are 64 KiB. */
const PAGE_BYTES = 65_536;

/**
 * The bytes of `file`, in memory that V8 maps for itself (a WebAssembly.Memory) rather than memory from malloc.
 * glibc raises its mmap threshold, and its trim threshold with it, to the size of the largest mapped block it frees:
 * the 1 MB code cache and the 860 KB bundle, read and dropped at start, kept every later block under 1 MB on the heap,
 * and the exporter 3-6 MB bigger after a load of scrapes (README: Performance). V8 unmaps this memory once it is
 * garbage. @throws as readFileSync would, and when the file shrinks while it is read.
 */
export function readOutsideMalloc(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(size / PAGE_BYTES)) }).buffer, 0, size);
    for (let read = 0; read < size; ) {
      const got = readSync(fd, bytes, read, size - read, read);
      if (got === 0) throw new Error(`${file} ended after ${read} of ${size} bytes`);
      read += got;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}
