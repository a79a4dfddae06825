/**
 * User tokens: HS256 JWTs naming the activity and the user, valid for a short while and
 * re-issued by every call that presents one. The algorithm is pinned on verification, so
 * `alg: none` and key-confusion tokens are refused; time comes from the injected clock.
 */
import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { InvalidUserTokenError } from './errors.js';

export const TOKEN_TTL_SECONDS = 30 * 60;
const ISSUER = 'huodong.lottery';
const AUDIENCE = 'lottery-user';

export interface UserIdentity {
  readonly aid: number;
  /** Row id in ims_scratch_person. */
  readonly pid: number;
  readonly openid: string;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

export class UserTokens {
  /** Imported once: handing jose the raw bytes would import a CryptoKey on every sign and verify. */
  private readonly key: Promise<CryptoKey>;

  constructor(
    secret: string | undefined,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    if (secret === undefined) {
      logger.warn(
        'HUODONG_JWT_SECRET is not set: lottery user tokens use a random per-process secret, so they ' +
          'die with this process and are not accepted by other instances; set it in any multi-instance deployment',
      );
    }
    const raw = new TextEncoder().encode(secret ?? randomBytes(32).toString('hex'));
    this.key = crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    // A key that cannot be imported fails each sign and verify, as before, not the process.
    void this.key.catch(() => undefined);
  }

  async issue(user: UserIdentity): Promise<IssuedToken> {
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const exp = now + TOKEN_TTL_SECONDS;
    const token = await new SignJWT({ aid: user.aid, pid: user.pid })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.openid)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(await this.key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Verifies a token; `aid`, when given, must be the token's activity. */
  async verify(token: string | undefined, aid?: number): Promise<UserIdentity> {
    if (token === undefined || token === '' || token.length > 4096) throw new InvalidUserTokenError();
    let payload;
    try {
      ({ payload } = await jwtVerify(token, await this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        currentDate: this.clock.now(),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch {
      throw new InvalidUserTokenError('the user token is invalid or expired; enter the activity again');
    }
    const { aid: tokenAid, pid } = payload;
    const positive = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0;
    if (!positive(tokenAid) || !positive(pid) || typeof payload.sub !== 'string') throw new InvalidUserTokenError();
    if (aid !== undefined && aid !== tokenAid) throw new InvalidUserTokenError('the user token is for another activity');
    return { aid: tokenAid, pid, openid: payload.sub };
  }
}
