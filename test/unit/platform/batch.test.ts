import { expect } from 'chai';
import { createBatcher, firstAsAsked, groupAsAsked } from '../../../src/platform/batch.js';

describe('read batcher', () => {
  it('coalesces reads of one tick into one load, deduplicating keys, and answers each caller', async () => {
    const loads: string[][] = [];
    const get = createBatcher<string, number>(
      async (keys) => {
        loads.push([...keys]);
        return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k.length]));
      },
      { keyOf: (k) => k },
    );
    const results = await Promise.all([get('a'), get('bb'), get('a'), get('missing')]);
    expect(results).to.deep.equal([1, 2, 1, undefined]);
    expect(loads).to.deep.equal([['a', 'bb', 'missing']]);
    expect(await get('ccc')).to.equal(3);
    expect(loads).to.have.lengthOf(2);
  });

  it('splits large batches and rejects every waiter of a failed load', async () => {
    let calls = 0;
    const get = createBatcher<number, number>(
      async (keys) => {
        calls += 1;
        if (keys.includes(13)) throw new Error('db down');
        return new Map(keys.map((k) => [String(k), k]));
      },
      { keyOf: String, maxBatch: 10 },
    );
    const settled = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => get(i)));
    expect(calls).to.equal(3);
    const rejected = settled.flatMap((s, i) => (s.status === 'rejected' ? [i] : []));
    expect(rejected).to.deep.equal([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });
});

describe('groupAsAsked', () => {
  const rows = [
    { id: 'abc', n: 1 },
    { id: 'ABC', n: 2 },
    { id: 'Xy', n: 3 },
    { id: 'Xy', n: 4 },
  ];
  const ns = (m: Map<string, Array<{ n: number }>>): Record<string, number[]> =>
    Object.fromEntries([...m].map(([k, g]) => [k, g.map((r) => r.n)]));

  it('case-insensitive (MySQL): an exact key wins, another case answers the key asked for, in row order', () => {
    const found = groupAsAsked(['abc', 'xy', 'XY', 'none'], rows, (r) => r.id, true);
    expect(ns(found)).to.deep.equal({ abc: [1], xy: [3, 4], XY: [3, 4] });
  });

  it('case-sensitive (SQLite): only exact keys answer', () => {
    const found = groupAsAsked(['abc', 'xy', 'Xy'], rows, (r) => r.id, false);
    expect(ns(found)).to.deep.equal({ abc: [1], Xy: [3, 4] });
  });

  it('firstAsAsked answers the one row of each key asked for', () => {
    const found = firstAsAsked(['ABC', 'xy', 'none'], rows, (r) => r.id, true);
    expect([...found].map(([k, r]) => [k, r.n])).to.deep.equal([
      ['ABC', 2],
      ['xy', 3],
    ]);
  });
});
