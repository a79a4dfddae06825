import { expect } from 'chai';
import { approximateBytes, chunkBySize, keysetPages } from '../../../src/platform/export.js';

describe('platform: export pages', () => {
  const rows = Array.from({ length: 1_234 }, (_, i) => ({ id: i + 1 }));
  const table = (calls: Array<[number, number]>) => async (after: number, limit: number) => {
    calls.push([after, limit]);
    return rows.filter((r) => r.id > after).slice(0, limit);
  };

  it('reads keyset pages after the last key until a short page', async () => {
    const calls: Array<[number, number]> = [];
    const seen: number[] = [];
    for await (const page of keysetPages(table(calls), (r) => r.id, { after: 0, pageSize: 500 })) seen.push(...page.map((r) => r.id));
    expect(seen).to.deep.equal(rows.map((r) => r.id));
    expect(calls).to.deep.equal([
      [0, 500],
      [500, 500],
      [1000, 500],
    ]);
  });

  it('reads one more (empty) page when the last is full, none when resumed past the end', async () => {
    const calls: Array<[number, number]> = [];
    let n = 0;
    for await (const page of keysetPages(table(calls), (r) => r.id, { after: 234, pageSize: 500 })) n += page.length;
    expect(n).to.equal(1_000);
    expect(calls.map(([after]) => after)).to.deep.equal([234, 734, 1234]);
  });

  it('reads nothing more once the consumer stops, or its signal aborts', async () => {
    const calls: Array<[number, number]> = [];
    for await (const page of keysetPages(table(calls), (r) => r.id, { after: 0, pageSize: 100 })) if (page.length > 0) break;
    expect(calls.length).to.equal(1);
    const abort = new AbortController();
    const aborted: Array<[number, number]> = [];
    for await (const page of keysetPages(table(aborted), (r) => r.id, { after: 0, pageSize: 100, signal: abort.signal })) {
      if (page.length > 0) abort.abort();
    }
    expect(aborted.length).to.equal(1);
  });

  it('splits a page into messages under a size, each row in one', () => {
    const big = [{ t: 'x'.repeat(400) }, { t: 'y'.repeat(400) }, { t: 'z'.repeat(10) }, { t: 'w'.repeat(5_000) }];
    const chunks = chunkBySize(big, approximateBytes, 2_410);
    expect(chunks.map((c) => c.length)).to.deep.equal([2, 1, 1]);
    expect(chunks.flat()).to.deep.equal(big);
    expect(chunkBySize([], approximateBytes)).to.deep.equal([]);
  });
});
