/**
 * User tokens: HS256 JWTs naming the activity and the user, valid for a short while and
 * re-issued by every call that presents one. The algorithm is pinned on verification, so
 * `alg: none` and key-confusion tokens are refused; time comes from the injected clock.
 *
 * A token also names the owner of the user's draw request ids (`own`, platform/owner.ts): the
 * app that entered the user (EnterActivity), or the legacy app the bridge entered them for.
 * Every call presenting the token acts for that owner, whichever app relays it, so a session
 * relayed by the bridge of any instance keeps one owner, and an app that enters the same
 * openid itself gets a token, and draws, of its own.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { Hs256Jwt } from '../platform/jwt.js';
import type { Logger } from '../platform/logger.js';
import { LEGACY_OWNER, OWNER_WIDTH } from '../platform/owner.js';
import { InvalidUserTokenError } from './errors.js';

export const TOKEN_TTL_SECONDS = 30 * 60;
const ISSUER = 'huodong.lottery';
const AUDIENCE = 'lottery-user';

export interface UserIdentity {
  readonly aid: number;
  /** Row id in ims_scratch_person. */
  readonly pid: number;
  readonly openid: string;
  /**
   * The owner of the user's draw request ids; undefined in a token issued before tokens named
   * one (the draw then takes the calling app's, and the token it re-issues names it).
   */
  readonly owner: string | undefined;
}

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

export interface UserTokensDeps {
  /** HUODONG_JWT_SECRET; undefined: a random secret of this process. */
  readonly secret: string | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
}

export class UserTokens {
  private readonly jwt: Hs256Jwt;
  private readonly clock: Clock;

  constructor({ secret, clock, logger }: UserTokensDeps) {
    this.clock = clock;
    if (secret === undefined) {
      logger.warn(
        'HUODONG_JWT_SECRET is not set: lottery user tokens use a random per-process secret, so they ' +
          'die with this process and are not accepted by other instances; set it in any multi-instance deployment',
      );
    }
    this.jwt = new Hs256Jwt(secret ?? randomBytes(32).toString('hex'));
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }

  issue(user: UserIdentity): IssuedToken {
    const now = this.nowSeconds();
    const exp = now + TOKEN_TTL_SECONDS;
    const token = this.jwt.sign({
      aid: user.aid,
      pid: user.pid,
      sub: user.openid,
      ...(user.owner === undefined ? {} : { own: user.owner }),
      iss: ISSUER,
      aud: AUDIENCE,
      iat: now,
      exp,
    });
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Verifies a token; `aid`, when given, must be the token's activity. */
  verify(token: string | undefined, aid?: number): UserIdentity {
    if (token === undefined || token === '' || token.length > 4096) throw new InvalidUserTokenError();
    const payload = this.jwt.verify(token, { issuer: ISSUER, audience: AUDIENCE, now: this.nowSeconds() });
    if (payload === undefined) throw new InvalidUserTokenError('the user token is invalid or expired; enter the activity again');
    const { aid: tokenAid, pid, sub, own } = payload;
    const positive = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0;
    if (!positive(tokenAid) || !positive(pid) || typeof sub !== 'string') throw new InvalidUserTokenError();
    // LEGACY_OWNER is never the owner of a new draw.
    const owner = typeof own === 'string' && own !== LEGACY_OWNER && own.length <= OWNER_WIDTH ? own : undefined;
    if (own !== undefined && owner === undefined) throw new InvalidUserTokenError();
    if (aid !== undefined && aid !== tokenAid) throw new InvalidUserTokenError('the user token is for another activity');
    return { aid: tokenAid, pid, openid: sub, owner };
  }
}
