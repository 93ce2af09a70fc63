// Pure pieces of the simulator's answers: row splitting and the huge-body stream.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Chat15Counts } from '../../src/simulator/data.js';
import { hugeBodyChunks, splitRows, successBody } from '../../src/simulator/scenario.js';

const FIELDS = ['ad_chatbot', 'ad_agents', 'post_chatbot', 'post_agents', 'total_chatbot', 'total_agents'] as const;

const counts: fc.Arbitrary<Chat15Counts> = fc
  .tuple(fc.nat(1_000_000), fc.nat(1_000_000), fc.nat(1_000_000), fc.nat(1_000_000), fc.nat(1_000), fc.nat(1_000))
  .map(([a, b, c, d, e, f]) => ({
    ad_chatbot: a,
    ad_agents: b,
    post_chatbot: c,
    post_agents: d,
    total_chatbot: a + c + e,
    total_agents: b + d + f,
  }));

describe('splitRows', () => {
  it('splits into non-negative integers that sum exactly, each row consistent', () => {
    fc.assert(
      fc.property(counts, fc.integer({ min: 1, max: 12 }), (c, n) => {
        const rows = splitRows(c, n);
        expect(rows).toHaveLength(n);
        for (const f of FIELDS) {
          expect(rows.reduce((acc, r) => acc + r[f], 0)).toBe(c[f]);
          for (const r of rows) expect(Number.isSafeInteger(r[f]) && r[f] >= 0).toBe(true);
        }
        for (const r of rows) {
          expect(r.total_chatbot).toBeGreaterThanOrEqual(r.ad_chatbot + r.post_chatbot);
          expect(r.total_agents).toBeGreaterThanOrEqual(r.ad_agents + r.post_agents);
        }
      }),
    );
  });

  it('writes every value as a decimal string', () => {
    const body = successBody(
      { ad_chatbot: 12, ad_agents: 5, post_chatbot: 0, post_agents: 1, total_chatbot: 15, total_agents: 6 },
      2,
    );
    expect(JSON.parse(body)).toEqual({
      code: '200',
      error: null,
      msg: '2 records were found',
      data: [
        { ad_chatbot: '6', ad_agents: '3', post_chatbot: '0', post_agents: '1', total_chatbot: '7', total_agents: '4' },
        { ad_chatbot: '6', ad_agents: '2', post_chatbot: '0', post_agents: '0', total_chatbot: '8', total_agents: '2' },
      ],
    });
  });
});

describe('hugeBodyChunks', () => {
  const filler = Buffer.alloc(1024, 0x20);
  it('yields exactly the requested bytes, in chunks no larger than the filler', () => {
    fc.assert(
      fc.property(fc.nat(20_000), (bytes) => {
        const chunks = [...hugeBodyChunks(bytes, filler)];
        const body = Buffer.concat(chunks);
        expect(body.length).toBe(bytes);
        for (const c of chunks.slice(1)) expect(c.length).toBeLessThanOrEqual(filler.length);
        if (bytes >= 100) expect(JSON.parse(body.toString())).toMatchObject({ code: '200', data: [] });
      }),
    );
  });
});
