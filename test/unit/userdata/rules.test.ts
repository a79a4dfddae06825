import { expect } from 'chai';
import { MAX_DATA_BYTES, serializeData, validateActid, validateCas, validateOpenid } from '../../../src/userdata/service.js';
import { fieldOf } from '../../support/errors.js';

describe('userdata rules', () => {
  it('accepts activity ids 1..2^63-1 and refuses the rest, naming actid', () => {
    expect(validateActid('1')).to.equal('1');
    expect(validateActid('9223372036854775807')).to.equal('9223372036854775807');
    // The proto field is uint64, but SQLite keeps integers above 2^63-1 only as REAL, where
    // neighbouring ids collide; every store must keep an accepted id exact.
    for (const bad of ['0', '-1', '1.5', 'abc', '', '9223372036854775808', '18446744073709551615', '18446744073709551616', undefined]) {
      expect(fieldOf(() => validateActid(bad)), String(bad)).to.equal('actid');
    }
  });

  it('requires an openid of at most 128 characters', () => {
    expect(validateOpenid('o-1')).to.equal('o-1');
    expect(validateOpenid('用'.repeat(128))).to.have.lengthOf(128);
    for (const bad of ['', '   ', 'x'.repeat(129), undefined]) expect(fieldOf(() => validateOpenid(bad))).to.equal('openid');
  });

  it('refuses an openid with leading or trailing whitespace, which MySQL would match to another user', () => {
    expect(validateOpenid('a b')).to.equal('a b');
    for (const bad of ['abc ', ' abc', 'abc\t', '\nabc', 'abc\u3000', 'abc\u00a0']) {
      expect(fieldOf(() => validateOpenid(bad)), JSON.stringify(bad)).to.equal('openid');
    }
  });

  it('takes cas -1, 0 or positive and refuses anything below -1', () => {
    expect(validateCas('-1')).to.equal(-1n);
    expect(validateCas('0')).to.equal(0n);
    expect(validateCas('42')).to.equal(42n);
    for (const bad of ['-2', '1.5', 'x', '9223372036854775808']) expect(fieldOf(() => validateCas(bad))).to.equal('cas');
  });

  it('caps data at 64 KiB of JSON and requires an object', () => {
    const fits = { s: 'a'.repeat(MAX_DATA_BYTES - 8) };
    expect(Buffer.byteLength(serializeData(fits))).to.equal(MAX_DATA_BYTES);
    expect(fieldOf(() => serializeData({ s: 'a'.repeat(MAX_DATA_BYTES - 7) }))).to.equal('data');
    // multi-byte characters count as bytes, not characters
    expect(fieldOf(() => serializeData({ s: '用'.repeat(22_000) }))).to.equal('data');
    expect(fieldOf(() => serializeData([1, 2]))).to.equal('data');
    expect(fieldOf(() => serializeData('text'))).to.equal('data');
  });

  it('requires data: absent is refused, an empty object is a document', () => {
    expect(fieldOf(() => serializeData(undefined))).to.equal('data');
    expect(fieldOf(() => serializeData(null))).to.equal('data');
    expect(serializeData({})).to.equal('{}');
  });
});
