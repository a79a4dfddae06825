import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { pino } from 'pino';
import { jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
import { InvalidUserTokenError } from '../../../src/lottery/errors.js';
import { TOKEN_TTL_SECONDS, UserTokens } from '../../../src/lottery/tokens.js';
import { FakeClock } from '../../support/clock.js';
import { thrownBy } from '../../support/errors.js';

const SECRET = 'x'.repeat(40);
const silent = pino({ level: 'silent' });

function refused(verify: () => unknown): string {
  return thrownBy(verify, InvalidUserTokenError).message;
}

describe('lottery user tokens', () => {
  // A token of before tokens named an owner (as jose signs it below, without `own`).
  const user = { aid: 7, pid: 3, openid: 'o-1', owner: undefined };

  it('issues a token bound to activity and user that verifies until it expires', async () => {
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const tokens = new UserTokens({ secret: SECRET, clock, logger: silent });
    const { token, expiresAt } = tokens.issue(user);
    expect(expiresAt.getTime() - clock.now().getTime()).to.equal(TOKEN_TTL_SECONDS * 1000);
    expect(tokens.verify(token)).to.deep.equal(user);
    expect(tokens.verify(token, 7)).to.deep.equal(user);
    refused(() => tokens.verify(token, 8));
    clock.advance(TOKEN_TTL_SECONDS * 1000 - 1000);
    tokens.verify(token);
    clock.advance(2000);
    refused(() => tokens.verify(token));
  });

  it('carries the owner of the draw request ids through re-issue; a bad owner claim is refused', async () => {
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const tokens = new UserTokens({ secret: SECRET, clock, logger: silent });
    const owned = { ...user, owner: 'legacy:shop-a' };
    const identity = tokens.verify(tokens.issue(owned).token);
    expect(identity).to.deep.equal(owned);
    expect(tokens.verify(tokens.issue(identity).token)).to.deep.equal(owned);
    const withOwn = (own: unknown): string => {
      const claims = { aid: 7, pid: 3, sub: 'o-1', own, iss: 'huodong.lottery', aud: 'lottery-user', exp: Math.floor(clock.now().getTime() / 1000) + 60 };
      const input = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    };
    expect(tokens.verify(withOwn('app-1'))).to.deep.equal({ ...user, owner: 'app-1' });
    // '' is LEGACY_OWNER, the owner of rows from before owners: never a new draw's.
    for (const bad of ['', 7, 'x'.repeat(81), null]) refused(() => tokens.verify(withOwn(bad)));
  });

  it('refuses alg none, another secret, another algorithm, and missing claims', async () => {
    const clock = new FakeClock();
    const tokens = new UserTokens({ secret: SECRET, clock, logger: silent });
    const none = new UnsecuredJWT({ aid: 7, pid: 3 }).setSubject('o').setIssuer('huodong.lottery').setAudience('lottery-user').setExpirationTime('10m').encode();
    refused(() => tokens.verify(none));
    const other = new UserTokens({ secret: 'y'.repeat(40), clock, logger: silent });
    refused(() => tokens.verify((other.issue(user)).token));
    const hs512 = await new SignJWT({ aid: 7, pid: 3 })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('o')
      .setIssuer('huodong.lottery')
      .setAudience('lottery-user')
      .setExpirationTime(Math.floor(clock.now().getTime() / 1000) + 600)
      .sign(new TextEncoder().encode(SECRET));
    refused(() => tokens.verify(hs512));
    const noAid = await new SignJWT({ pid: 3 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('o')
      .setIssuer('huodong.lottery')
      .setAudience('lottery-user')
      .setExpirationTime(Math.floor(clock.now().getTime() / 1000) + 600)
      .sign(new TextEncoder().encode(SECRET));
    refused(() => tokens.verify(noAid));
  });

  it('refuses alg none and HS512 headers that carry a correct HMAC-SHA256 signature with the real secret', () => {
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const tokens = new UserTokens({ secret: SECRET, clock, logger: silent });
    const [, body = ''] = tokens.issue(user).token.split('.');
    const resigned = (header: Record<string, unknown>): string => {
      const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${body}`;
      return `${signingInput}.${createHmac('sha256', SECRET).update(signingInput).digest('base64url')}`;
    };
    // The construction is sound: with an HS256 header (spelled differently) the same claims verify.
    expect(tokens.verify(resigned({ typ: 'JWT', alg: 'HS256' }))).to.deep.equal(user);
    expect(refused(() => tokens.verify(resigned({ alg: 'none', typ: 'JWT' })))).to.contain('invalid or expired');
    expect(refused(() => tokens.verify(resigned({ alg: 'HS512' })))).to.contain('invalid or expired');
  });

  it('without a configured secret, warns and uses a per-process random one', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => lines.push(s) });
    const a = new UserTokens({ secret: undefined, clock: new FakeClock(), logger });
    const b = new UserTokens({ secret: undefined, clock: new FakeClock(), logger });
    expect(lines.join('')).to.contain('HUODONG_JWT_SECRET');
    refused(() => b.verify((a.issue(user)).token));
  });

  it('speaks standard JWT: its tokens verify with jose, and jose-signed tokens with the same claims verify here', async () => {
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const tokens = new UserTokens({ secret: SECRET, clock, logger: silent });
    const key = new TextEncoder().encode(SECRET);
    const { payload, protectedHeader } = await jwtVerify(tokens.issue(user).token, key, {
      algorithms: ['HS256'],
      issuer: 'huodong.lottery',
      audience: 'lottery-user',
      currentDate: clock.now(),
    });
    expect(protectedHeader.alg).to.equal('HS256');
    expect(payload).to.include({ aid: 7, pid: 3, sub: 'o-1' });
    const byJose = await new SignJWT({ aid: 7, pid: 3 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('o-1')
      .setIssuer('huodong.lottery')
      .setAudience(['lottery-user', 'other'])
      .setExpirationTime(Math.floor(clock.now().getTime() / 1000) + 60)
      .sign(key);
    expect(tokens.verify(byJose)).to.deep.equal(user);
  });

  it('refuses tampered, malformed, not-yet-valid and foreign-issuer tokens', async () => {
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const tokens = new UserTokens({ secret: SECRET, clock, logger: silent });
    const key = new TextEncoder().encode(SECRET);
    const now = Math.floor(clock.now().getTime() / 1000);
    const [header = '', body = '', signature = ''] = tokens.issue(user).token.split('.');
    const forgedBody = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), aid: 8 })).toString('base64url');
    refused(() => tokens.verify(`${header}.${forgedBody}.${signature}`));
    // The same 32 signature bytes spelled with other unused trailing bits (43 characters carry 258 bits).
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = signature.slice(0, -1) + (alphabet[alphabet.indexOf(signature.at(-1) ?? 'A') ^ 1] ?? '');
    expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(signature, 'base64url'))).to.equal(true);
    refused(() => tokens.verify(`${header}.${body}.${respelled}`));
    for (const malformed of [`${header}.${body}`, `${header}.${body}.${signature}.x`, `${header}.${body}.`, `${header}.${body}.${signature}=`, 'a.b.c', '...']) {
      refused(() => tokens.verify(malformed));
    }
    const signed = (claims: Record<string, unknown>): Promise<string> =>
      new SignJWT({ aid: 7, pid: 3, sub: 'o-1', iss: 'huodong.lottery', aud: 'lottery-user', exp: now + 60, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    for (const token of await Promise.all([
      signed({ nbf: now + 30 }),
      signed({ iss: 'someone.else' }),
      signed({ aud: 'another-audience' }),
      signed({ exp: now }),
      signed({ exp: 'never' }),
    ])) {
      refused(() => tokens.verify(token));
    }
    expect(tokens.verify(await signed({ nbf: now }))).to.deep.equal(user);
  });
});
