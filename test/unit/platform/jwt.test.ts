import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { Hs256Jwt } from '../../../src/platform/jwt.js';

const SECRET = 's'.repeat(40);
const NOW = 1_780_000_000;
const OPTIONS = { issuer: 'iss-1', audience: 'aud-1', now: NOW };
const CLAIMS = { sub: 'o-1', iss: 'iss-1', aud: 'aud-1', exp: NOW + 600 };

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token with any header whose signature is a correct HMAC-SHA256 of header.payload under `secret`. */
function hs256Signed(header: Record<string, unknown>, claims: Record<string, unknown> = CLAIMS, secret = SECRET): string {
  const signingInput = `${b64(header)}.${b64(claims)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

describe('Hs256Jwt', () => {
  const jwt = new Hs256Jwt(SECRET);

  it('accepts a hand-made HS256 token, so the refusals below come from the header alone', () => {
    expect(jwt.verify(hs256Signed({ alg: 'HS256', typ: 'JWT' }), OPTIONS)).to.deep.equal(CLAIMS);
    // Header spelling is free: other key order, no typ.
    expect(jwt.verify(hs256Signed({ typ: 'JWT', alg: 'HS256' }), OPTIONS)).to.deep.equal(CLAIMS);
    expect(jwt.verify(hs256Signed({ alg: 'HS256' }), OPTIONS)).to.deep.equal(CLAIMS);
    // Its own tokens verify too.
    expect(jwt.verify(jwt.sign(CLAIMS), OPTIONS)).to.deep.equal(CLAIMS);
  });

  it('refuses alg none even with a valid HMAC-SHA256 signature made with the real secret', () => {
    const token = hs256Signed({ alg: 'none', typ: 'JWT' });
    expect(token.split('.')[2]).to.have.lengthOf(43);
    expect(jwt.verify(token, OPTIONS)).to.equal(undefined);
    for (const alg of ['None', 'NONE', 'hs256', '', null, ['HS256'], { alg: 'HS256' }]) {
      expect(jwt.verify(hs256Signed({ alg, typ: 'JWT' }), OPTIONS), JSON.stringify(alg)).to.equal(undefined);
    }
    expect(jwt.verify(hs256Signed({ typ: 'JWT' }), OPTIONS), 'no alg').to.equal(undefined);
  });

  it('refuses HS512, HS384 and RS256 headers over a valid HMAC-SHA256 signature', () => {
    for (const alg of ['HS512', 'HS384', 'RS256', 'ES256']) {
      expect(jwt.verify(hs256Signed({ alg, typ: 'JWT' }), OPTIONS), alg).to.equal(undefined);
    }
  });

  it('refuses a header with crit, or a header that is not a JSON object, despite a valid signature', () => {
    expect(jwt.verify(hs256Signed({ alg: 'HS256', typ: 'JWT', crit: ['exp'] }), OPTIONS)).to.equal(undefined);
    const signingInput = `${Buffer.from('["HS256"]').toString('base64url')}.${b64(CLAIMS)}`;
    const arrayHeader = `${signingInput}.${createHmac('sha256', SECRET).update(signingInput).digest('base64url')}`;
    expect(jwt.verify(arrayHeader, OPTIONS)).to.equal(undefined);
  });

  it('refuses an HS256 header signed with another secret', () => {
    expect(jwt.verify(hs256Signed({ alg: 'HS256', typ: 'JWT' }, CLAIMS, 't'.repeat(40)), OPTIONS)).to.equal(undefined);
  });
});
