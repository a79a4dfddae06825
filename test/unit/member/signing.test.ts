import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { canonicalRequest, percentEncode, signRequest } from '../../../src/member/bridge.js';

// The worked example of README.md and docs/member.md; if this changes, both documents are wrong.
const SECRET = '3f1c2b7a9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c';
const PATH = '/cm/inner/user/adminAddCpoint';
const PARAMS = { uid: 'u1001', cpoint: '12.50', adminId: 'ops-1', note: '双11 a&b', requestId: 'r-20251122-1', appName: 'ops', ts: '1763780000' };
const CANONICAL =
  'POST\n/cm/inner/user/adminAddCpoint\nadminId=ops-1&appName=ops&cpoint=12.50&note=%E5%8F%8C11%20a%26b&requestId=r-20251122-1&ts=1763780000&uid=u1001';
const SIG = '84e01d3d48b1df1201ba6603d59bce5ccfb2a36aa2b9db5bfb8b28f72db15c91';

describe('member legacy signing', () => {
  it('signs method, route path and every parameter but sig, sorted by name, percent-encoded', () => {
    expect(canonicalRequest('POST', PATH, { ...PARAMS, sig: 'ignored' })).to.equal(CANONICAL);
    expect(signRequest('POST', PATH, PARAMS, SECRET)).to.equal(createHmac('sha256', SECRET).update(CANONICAL, 'utf8').digest('hex'));
    expect(signRequest('POST', PATH, PARAMS, SECRET)).to.equal(SIG);
  });

  it('percent-encodes as RFC 3986 (only A-Z a-z 0-9 - . _ ~ stay)', () => {
    expect(percentEncode("a b&c=d!'()*~._-%/+")).to.equal('a%20b%26c%3Dd%21%27%28%29%2A~._-%25%2F%2B');
  });

  it('binds the route and method: the same parameters signed for one route do not verify on another', () => {
    expect(signRequest('POST', '/cm/inner/useCpoint/revoke', PARAMS, SECRET)).to.not.equal(SIG);
    expect(signRequest('GET', PATH, PARAMS, SECRET)).to.not.equal(SIG);
  });

  it('cannot move a parameter into another value: "note=n&requestId=k" is not note + requestId', () => {
    const split = canonicalRequest('POST', PATH, { note: 'n', requestId: 'k' });
    const joined = canonicalRequest('POST', PATH, { note: 'n&requestId=k' });
    expect(split).to.not.equal(joined);
  });

  it('signs JSON numbers as their decimal text and changes with any parameter or key', () => {
    expect(canonicalRequest('post', '/p', { b: 2, a: 1.5 })).to.equal('POST\n/p\na=1.5&b=2');
    expect(signRequest('POST', PATH, { ...PARAMS, cpoint: '12.51' }, SECRET)).to.not.equal(SIG);
    expect(signRequest('POST', PATH, PARAMS, `${SECRET.slice(0, -1)}d`)).to.not.equal(SIG);
  });

  it('refuses nested values', () => {
    expect(() => canonicalRequest('POST', PATH, { a: { b: 1 } })).to.throw(/a: must be a string or a number/);
  });
});
