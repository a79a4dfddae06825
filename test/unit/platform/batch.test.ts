import { expect } from 'chai';
import { createBatcher, firstByKey, groupByKey } from '../../../src/platform/batch.js';

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

describe('groupByKey / firstByKey', () => {
  const rows = [
    { id: 'abc', n: 1 },
    { id: 'ABC', n: 2 },
    { id: 'Xy', n: 3 },
    { id: 'Xy', n: 4 },
  ];

  it('groups rows under their exact key, in row order', () => {
    const found = groupByKey(rows, (r) => r.id);
    expect(Object.fromEntries([...found].map(([k, g]) => [k, g.map((r) => r.n)]))).to.deep.equal({ abc: [1], ABC: [2], Xy: [3, 4] });
  });

  it('firstByKey answers the first row of each key', () => {
    expect([...firstByKey(rows, (r) => r.id)].map(([k, r]) => [k, r.n])).to.deep.equal([
      ['abc', 1],
      ['ABC', 2],
      ['Xy', 3],
    ]);
  });
});
