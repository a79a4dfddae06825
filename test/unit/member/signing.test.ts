import { expect } from 'chai';
import { canonicalString, signParams } from '../../../src/member/bridge.js';

// The worked example of README.md and docs/member.md; if this changes, both documents are wrong.
const SECRET = '3f1c2b7a9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c';
const PARAMS = { uid: 'u1001', orderId: 'mall_11', cpoint: '12.50', appName: 'shop', ts: '1763780000' };

describe('member legacy signing', () => {
  it('signs every parameter but sig, sorted by name, as k=v joined by &', () => {
    expect(canonicalString({ ...PARAMS, sig: 'ignored' })).to.equal('appName=shop&cpoint=12.50&orderId=mall_11&ts=1763780000&uid=u1001');
    expect(signParams(PARAMS, SECRET)).to.equal('01da7c79b4863bfd1db0830822afcb23a1628b0c8d6d5db964fd5808f6b80046');
  });

  it('signs JSON numbers as their decimal text and changes with any parameter', () => {
    expect(canonicalString({ b: 2, a: 1.5 })).to.equal('a=1.5&b=2');
    expect(signParams({ ...PARAMS, cpoint: '12.51' }, SECRET)).to.not.equal(signParams(PARAMS, SECRET));
    expect(signParams(PARAMS, `${SECRET.slice(0, -1)}d`)).to.not.equal(signParams(PARAMS, SECRET));
  });

  it('refuses nested values', () => {
    expect(() => canonicalString({ a: { b: 1 } })).to.throw(/a: must be a string or a number/);
  });
});
