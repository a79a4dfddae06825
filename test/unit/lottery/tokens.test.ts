import { expect } from 'chai';
import { pino } from 'pino';
import { SignJWT, UnsecuredJWT } from 'jose';
import { InvalidUserTokenError } from '../../../src/lottery/errors.js';
import { TOKEN_TTL_SECONDS, UserTokens } from '../../../src/lottery/tokens.js';
import { FakeClock } from '../../support/clock.js';

const SECRET = 'x'.repeat(40);
const silent = pino({ level: 'silent' });

async function refused(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidUserTokenError);
    return (err as InvalidUserTokenError).message;
  }
  throw new Error('expected the token to be refused');
}

describe('lottery user tokens', () => {
  const user = { aid: 7, pid: 3, openid: 'o-1' };

  it('issues a token bound to activity and user that verifies until it expires', async () => {
    const clock = new FakeClock('2026-01-01T00:00:00Z');
    const tokens = new UserTokens(SECRET, clock, silent);
    const { token, expiresAt } = await tokens.issue(user);
    expect(expiresAt.getTime() - clock.now().getTime()).to.equal(TOKEN_TTL_SECONDS * 1000);
    expect(await tokens.verify(token)).to.deep.equal(user);
    expect(await tokens.verify(token, 7)).to.deep.equal(user);
    await refused(tokens.verify(token, 8));
    clock.advance(TOKEN_TTL_SECONDS * 1000 - 1000);
    await tokens.verify(token);
    clock.advance(2000);
    await refused(tokens.verify(token));
  });

  it('refuses alg none, another secret, another algorithm, and missing claims', async () => {
    const clock = new FakeClock();
    const tokens = new UserTokens(SECRET, clock, silent);
    const none = new UnsecuredJWT({ aid: 7, pid: 3 }).setSubject('o').setIssuer('huodong.lottery').setAudience('lottery-user').setExpirationTime('10m').encode();
    await refused(tokens.verify(none));
    const other = new UserTokens('y'.repeat(40), clock, silent);
    await refused(tokens.verify((await other.issue(user)).token));
    const hs512 = await new SignJWT({ aid: 7, pid: 3 })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('o')
      .setIssuer('huodong.lottery')
      .setAudience('lottery-user')
      .setExpirationTime(Math.floor(clock.now().getTime() / 1000) + 600)
      .sign(new TextEncoder().encode(SECRET));
    await refused(tokens.verify(hs512));
    const noAid = await new SignJWT({ pid: 3 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('o')
      .setIssuer('huodong.lottery')
      .setAudience('lottery-user')
      .setExpirationTime(Math.floor(clock.now().getTime() / 1000) + 600)
      .sign(new TextEncoder().encode(SECRET));
    await refused(tokens.verify(noAid));
  });

  it('without a configured secret, warns and uses a per-process random one', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => lines.push(s) });
    const a = new UserTokens(undefined, new FakeClock(), logger);
    const b = new UserTokens(undefined, new FakeClock(), logger);
    expect(lines.join('')).to.contain('HUODONG_JWT_SECRET');
    await refused(b.verify((await a.issue(user)).token));
  });
});
