import { randomInt } from 'node:crypto';
import { expect } from 'chai';
import { InvalidArgumentError } from '../../../src/platform/errors.js';
import { ActivityConfigInvalidError, PrizesLockedError } from '../../../src/lottery/errors.js';
import { encodePhpJson, parseLenientJson } from '../../../src/lottery/json.js';
import {
  checkPrizeChange,
  formatLocalMinute,
  maskName,
  parseActivityRow,
  parseDecimal,
  parseLocalMinute,
  payout,
  pickPrize,
  POOL_SIZE,
  sessionState,
  validateActivity,
  type ActivityRow,
} from '../../../src/lottery/rules.js';
import type { ActivityInput, PrizeConfig } from '../../../src/lottery/model.js';

const TZ = 'Asia/Shanghai';

function prize(p: Partial<PrizeConfig>): PrizeConfig {
  return { id: 0, kind: 'physical', name: 'A', sum: 10, chance: 100, money: 0, min: 0, max: 0, img: '', link: '', desc: '', info: '', ...p };
}

function input(overrides: Partial<ActivityInput> = {}): ActivityInput {
  return {
    enabled: true,
    title: 't',
    activeType: 1,
    template: 10,
    virtual: 0,
    headerImg: '',
    ruleLink: '',
    rule: '',
    needAddress: false,
    tips: { haveAward: '', noTimes: '', noAward: '', gameOver: '', default: '' },
    prizes: [prize({})],
    sessions: [{ start: Date.UTC(2026, 0, 1), end: Date.UTC(2026, 0, 2) }],
    maxPlay: 0,
    maxEplay: 0,
    maxShare: 0,
    maxPrize: 1,
    share: { enabled: false, title: '', desc: '', link: '', img: '' },
    config: '',
    rid: 0,
    uniacid: 0,
    ...overrides,
  };
}

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err.field;
    if (err instanceof PrizesLockedError || err instanceof ActivityConfigInvalidError) return err.metadata.field ?? err.metadata.column ?? '';
    throw err;
  }
  throw new Error('expected an error');
}

describe('lottery json (legacy PHP)', () => {
  it('reads strict JSON, and the seed example with trailing and missing commas', () => {
    expect(parseLenientJson('{"a":"\\u6298","b":[1,2]}')).to.deep.equal({ a: '折', b: [1, 2] });
    const seed = '[\n  {\n    "type":"physical",\n    "sum":"0",\n    "img":"http:\\/\\/x\\/a.jpg"\n    "info" :"其它说明"\n    },\n]';
    expect(parseLenientJson(seed)).to.deep.equal([{ type: 'physical', sum: '0', img: 'http://x/a.jpg', info: '其它说明' }]);
    expect(parseLenientJson('[{"start":"a","end":"b"},]')).to.deep.equal([{ start: 'a', end: 'b' }]);
    expect(parseLenientJson('{"a":"line\nbreak"}')).to.deep.equal({ a: 'line\nbreak' });
  });

  it('refuses what is not JSON even leniently', () => {
    for (const bad of ['[{"a":', 'not json', '{"a" 1}', '[1 2', '{"a":"\\x"}', '[]x', '{a:1}']) {
      expect(() => parseLenientJson(bad), bad).to.throw();
    }
  });

  it('writes like json_encode: \\u escapes and escaped slashes, readable back', () => {
    const text = encodePhpJson({ name: '折叠/车 😀', sum: '0' });
    expect(text).to.equal('{"name":"\\u6298\\u53e0\\/\\u8f66 \\ud83d\\ude00","sum":"0"}');
    expect(JSON.parse(text)).to.deep.equal({ name: '折叠/车 😀', sum: '0' });
  });
});

describe('lottery rules', () => {
  it('parses decimals exactly, numbers or strings, refusing extra precision', () => {
    expect(parseDecimal('10.5', 1)).to.equal(105);
    expect(parseDecimal(10.5, 1)).to.equal(105);
    expect(parseDecimal('0.50', 2)).to.equal(50);
    expect(parseDecimal('100', 2)).to.equal(10000);
    expect(parseDecimal('', 2)).to.equal(0);
    expect(parseDecimal('10.50', 1)).to.equal(105);
    for (const bad of ['10.55', '-1', 'abc', '1e3', '1.2.3']) expect(parseDecimal(bad, 1), bad).to.equal(undefined);
  });

  it('converts legacy local minutes in the zone both ways', () => {
    expect(parseLocalMinute('2017-06-21 00:00', TZ)).to.equal(Date.UTC(2017, 5, 20, 16, 0));
    expect(formatLocalMinute(Date.UTC(2017, 5, 20, 16, 0), TZ)).to.equal('2017-06-21 00:00');
    expect(parseLocalMinute('2024-03-10 02:30', 'America/New_York')).to.be.a('number');
    for (const bad of ['2017-02-30 00:00', '2017-06-21', '2017-13-01 00:00', '2017-06-21 24:00', 5]) {
      expect(parseLocalMinute(bad, TZ), String(bad)).to.equal(undefined);
    }
  });

  it('session state: not started, ongoing (end minute included), between, ended', () => {
    const s = [
      { start: 1000, end: 2000 },
      { start: 3000, end: 4000 },
    ];
    expect(sessionState(s, 999)).to.deep.equal({ phase: 'not_started', index: 0 });
    expect(sessionState(s, 1999)).to.deep.equal({ phase: 'ongoing', index: 0 });
    expect(sessionState(s, 2000)).to.deep.equal({ phase: 'between', index: 1 });
    expect(sessionState(s, 3000)).to.deep.equal({ phase: 'ongoing', index: 1 });
    expect(sessionState(s, 4000)).to.deep.equal({ phase: 'ended', index: -1 });
  });

  it('reads a legacy row leniently and names a broken column', () => {
    const row = {
      id: 7,
      status: '1',
      prize: '[{"type":"red","name":"r","sum":"0","chance":"10.5","money":"100","min":"0.5","max":"5"},{"name":"old","probability":"2","sum":"3"}]',
      active_time: '[{"start":"2026-01-01 00:00","end":"2026-01-01 23:59"}]',
      tips: '',
    } as unknown as ActivityRow;
    const a = parseActivityRow(row, TZ);
    expect(a.prizes[0]).to.include({ kind: 'red', chance: 105, money: 10000, min: 50, max: 500, sum: 0 });
    expect(a.prizes[1]).to.include({ kind: 'physical', chance: 20, sum: 3 });
    expect(a.tips.default).to.equal('谢谢！');
    expect(a.sessions[0]?.end).to.equal(Date.UTC(2026, 0, 1, 16, 0));
    expect(fieldOf(() => parseActivityRow({ ...row, prize: '{"a":1}' }, TZ))).to.equal('prize');
    expect(fieldOf(() => parseActivityRow({ ...row, active_time: '[{"start":"x","end":"y"}]' }, TZ))).to.equal('active_time');
    expect(fieldOf(() => parseActivityRow({ ...row, tips: '[broken' }, TZ))).to.equal('tips');
  });

  it('validates SaveActivity input, naming the field', () => {
    expect(() => validateActivity(input())).to.not.throw();
    expect(() => validateActivity(input({ prizes: [prize({ chance: 600 }), prize({ id: 1, chance: 400 })] }))).to.not.throw();
    expect(fieldOf(() => validateActivity(input({ prizes: [prize({ chance: 600 }), prize({ id: 1, chance: 401 })] })))).to.equal('activity.prizes');
    expect(fieldOf(() => validateActivity(input({ prizes: [prize({ kind: 'red', sum: 0, money: 100, min: 0, max: 10 })] })))).to.equal('activity.prizes[0].min');
    expect(() => validateActivity(input({ prizes: [prize({ kind: 'red', sum: 0, money: 100, min: 50, max: 20000 })] }))).to.not.throw();
    expect(() => validateActivity(input({ prizes: [prize({ kind: 'red', sum: 5, money: 888 })] }))).to.not.throw();
    expect(fieldOf(() => validateActivity(input({ prizes: [prize({ sum: 0, chance: 10 })] })))).to.equal('activity.prizes[0].sum');
    expect(fieldOf(() => validateActivity(input({ maxPlay: -1 })))).to.equal('activity.max_play');
    expect(fieldOf(() => validateActivity(input({ maxEplay: 1.5 })))).to.equal('activity.max_eplay');
    expect(fieldOf(() => validateActivity(input({ title: 'x'.repeat(256) })))).to.equal('activity.title');
  });

  it('once started, prizes may only be appended or raised', () => {
    const before = [prize({ sum: 5, chance: 100 }), prize({ id: 1, name: 'B', sum: 5, chance: 100 })];
    expect(() => checkPrizeChange(before, [...before, prize({ id: 2, name: 'C' })])).to.not.throw();
    expect(() => checkPrizeChange(before, [prize({ sum: 6, chance: 101 }), before[1] as PrizeConfig])).to.not.throw();
    expect(fieldOf(() => checkPrizeChange(before, [before[0] as PrizeConfig]))).to.equal('activity.prizes');
    expect(fieldOf(() => checkPrizeChange(before, [prize({ sum: 4, chance: 100 }), before[1] as PrizeConfig]))).to.equal('activity.prizes[0].sum');
    expect(fieldOf(() => checkPrizeChange(before, [prize({ kind: 'red', sum: 5, chance: 100 }), before[1] as PrizeConfig]))).to.equal('activity.prizes[0]');
  });

  it('masks winner names', () => {
    expect(maskName('张三丰')).to.equal('张**丰');
    expect(maskName('张三')).to.equal('张*');
    expect(maskName('')).to.equal('***');
  });

  it('pools: each prize owns chance x 10 slots of 1000, the rest is no win', () => {
    const prizes = [prize({ chance: 105 }), prize({ id: 1, chance: 5 })];
    expect(pickPrize(prizes, 0)?.id).to.equal(0);
    expect(pickPrize(prizes, 104)?.id).to.equal(0);
    expect(pickPrize(prizes, 105)?.id).to.equal(1);
    expect(pickPrize(prizes, 109)?.id).to.equal(1);
    expect(pickPrize(prizes, 110)).to.equal(undefined);
  });

  it('fairness: 100,000 draws hit each pool within statistical tolerance of its chance', () => {
    const prizes = [prize({ chance: 5 }), prize({ id: 1, chance: 105 }), prize({ id: 2, chance: 300 }), prize({ id: 3, chance: 1 })];
    const n = 100_000;
    const hits = new Map<number, number>();
    for (let i = 0; i < n; i += 1) {
      const p = pickPrize(prizes, randomInt(POOL_SIZE));
      const key = p?.id ?? -1;
      hits.set(key, (hits.get(key) ?? 0) + 1);
    }
    for (const [id, chance] of [[0, 5], [1, 105], [2, 300], [3, 1], [-1, 589]] as const) {
      const p = chance / POOL_SIZE;
      const sigma = Math.sqrt(n * p * (1 - p));
      // Five sigma: a fair generator fails this about once in 1.7 million runs.
      expect(Math.abs((hits.get(id) ?? 0) - n * p), `prize ${id}`).to.be.below(5 * sigma);
    }
  });

  it('random red packets pay between min and max, fixed ones their amount', () => {
    const red = prize({ kind: 'red', sum: 0, money: 10000, min: 50, max: 500 });
    const seen = new Set<number>();
    for (let i = 0; i < 20_000; i += 1) {
      const c = payout(red, randomInt);
      expect(c).to.be.within(50, 500);
      seen.add(c);
    }
    expect(seen.has(50) && seen.has(500)).to.equal(true);
    expect(payout(prize({ kind: 'red', sum: 3, money: 888 }), randomInt)).to.equal(888);
    expect(payout(prize({}), randomInt)).to.equal(0);
  });
});
