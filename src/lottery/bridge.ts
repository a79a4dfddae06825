/**
 * Seed 003's legacy routes under /lottery. The browser holds no app token: its credential is
 * the user JWT in the httponly cookie `jwt`, which the gRPC server verifies, so these routes
 * call through the bridge's `internal` clients and renew the cookie on every call. The cookie
 * itself is issued only to an authenticated entry (`/Activity/index`: seed 003's `auth`, a
 * signature of the OAuth front, or the Bearer token of a trusted front), and the merchant's
 * award check takes the merchant's own Bearer token (`lottery.admin`). Answers are
 * `{status, msg, data}`: 200 success, 201 user info needed first, 202 a draw without a prize
 * (msg is the activity's tip), otherwise the HTTP status of the error.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { lottery as pb } from '@huodong/clients';
import { GrpcStatus, HuodongError } from '@huodong/clients';
import type { BridgeClients } from '../platform/area.js';
import type { Config } from '../platform/config.js';
import { badRequest, callOptions, routeErrorHandler, stringParam, type SendFailure } from '../bridge/http.js';
import { legacySignatures } from '../member/bridge.js';
import { formatLocalMinute } from './rules.js';

export const ENTRY_PATH = '/lottery/Activity/index';

/** The parameters the OAuth front signs for an entry (with appName and ts from `auth`). */
export function entrySignedParams(code: string, openid: string, appName: string, ts: string): Record<string, string> {
  return { appName, code, openid, ts };
}

/** Splits seed 003's `auth` into `<appName>:<ts>:<sig>` (the app name may itself hold ':'). */
function parseAuth(auth: string): { appName: string; ts: string; sig: string } {
  const match = /^(.+):(\d{1,12}):([0-9a-fA-F]{64})$/.exec(auth);
  if (match === null) throw unauthenticated('auth must be <appName>:<ts>:<sig>');
  return { appName: match[1] as string, ts: match[2] as string, sig: match[3] as string };
}

function unauthenticated(message: string): HuodongError {
  return new HuodongError(GrpcStatus.UNAUTHENTICATED, message, 'ENTRY_UNAUTHENTICATED', 'huodong.bridge', undefined, {});
}

function postOnly(path: string): HuodongError {
  return new HuodongError(GrpcStatus.INVALID_ARGUMENT, `${path} changes state: send it as POST`, 'METHOD_NOT_ALLOWED', 'huodong.bridge', undefined, {});
}

const COOKIE = 'jwt';

function params(request: FastifyRequest): Record<string, unknown> {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const body = request.body;
  const form = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  return { ...query, ...form };
}

function cookieToken(request: FastifyRequest): string {
  const header = request.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === COOKIE) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return '';
}

function setCookie(request: FastifyRequest, reply: FastifyReply, token: string, expires: Date | undefined): void {
  const maxAge = expires === undefined ? 0 : Math.max(0, Math.floor((expires.getTime() - Date.now()) / 1000));
  const secure = request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
  reply.header('set-cookie', `${COOKIE}=${token}; Path=/lottery; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`);
}

const unix = (d: Date | undefined): number => (d === undefined ? 0 : Math.floor(d.getTime() / 1000));

/** Legacy pages read sessions as "YYYY-MM-DD HH:mm" in the shop's zone (the server's HUODONG_TZ). */
function localMinute(d: Date | undefined): string {
  return d === undefined ? '' : formatLocalMinute(d.getTime(), process.env.HUODONG_TZ?.trim() || 'Asia/Shanghai');
}

function legacyPrize(p: pb.Prize): Record<string, unknown> {
  const type = p.type === pb.PrizeType.PRIZE_TYPE_RED ? 'red' : p.type === pb.PrizeType.PRIZE_TYPE_COUPON ? 'coupon' : 'physical';
  return { prize_id: p.prizeId, type, sum: p.sum, name: p.name, money: p.money, max: p.max, min: p.min, img: p.img, info: p.info, link: p.link, desc: p.desc, chance: p.chance };
}

function activityData(r: pb.GetActivityInfoResponse | pb.EnterActivityResponse): Record<string, unknown> {
  const a = r.activity;
  const s = r.state;
  return {
    code: a?.code,
    active_title: a?.title,
    active_type: a?.activeType,
    template: a?.template,
    header_img: a?.headerImg,
    rule: a?.rule,
    rule_link: a?.ruleLink,
    need_address: a?.needAddress ? 1 : 0,
    need_info: a?.requireUserInfo ? 1 : 0,
    tips: a?.tips === undefined ? {} : { have_award: a.tips.haveAward, no_times: a.tips.noTimes, no_award: a.tips.noAward, game_over: a.tips.gameOver, default: a.tips.default },
    active_time: (a?.sessions ?? []).map((x) => ({ start: localMinute(x.startTime), end: localMinute(x.endTime) })),
    prize: (a?.prizes ?? []).map(legacyPrize),
    max_play: a?.maxPlay,
    max_eplay: a?.maxEplay,
    max_share: a?.maxShare,
    max_prize: a?.maxPrize,
    isshare: a?.share?.enabled ? 1 : 0,
    share_title: a?.share?.title,
    share_desc: a?.share?.desc,
    share_link: a?.share?.link,
    share_img: a?.share?.img,
    config: a?.config,
    status: s?.legacyStatus,
    session: s?.session === undefined ? null : { index: s.sessionIndex, start: localMinute(s.session.startTime), end: localMinute(s.session.endTime) },
    participants: s?.displayedParticipants,
    user: userData(r.user),
  };
}

function userData(u: pb.UserState | undefined): Record<string, unknown> {
  return {
    openid: u?.openid,
    plays: u?.sessionPlays,
    shares: u?.sessionShares,
    wins: u?.sessionWins,
    total_plays: u?.totalPlays,
    plays_left: u?.playsLeft,
    has_info: u?.hasUserInfo ? 1 : 0,
  };
}

function wonData(p: pb.WonPrize): Record<string, unknown> {
  return {
    prizeid: p.prizeId,
    name: p.name,
    type: p.legacyType,
    money: p.money,
    prizecode: p.secret,
    info: p.info,
    status: p.claimed ? 1 : 2,
    createtime: unix(p.winTime),
  };
}

type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<{ status?: number; msg?: string; data: unknown }>;

const fail: SendFailure = (reply, err, httpStatus) => reply.code(httpStatus).send({ status: httpStatus, msg: err.message, reason: err.reason, data: null });

/**
 * A route answering GET and POST. A state-changing one (`post`) answers GET with 405 in the
 * legacy envelope: the cookie is SameSite=Lax, so a cross-site link or image carries it on GET.
 */
function route(app: FastifyInstance, path: string, handler: Handler, post: boolean | ((request: FastifyRequest) => boolean) = false): void {
  app.route({
    method: ['GET', 'POST'],
    url: path,
    errorHandler: routeErrorHandler(fail),
    handler: async (request, reply) => {
      if (request.method !== 'POST' && (post === true || (typeof post === 'function' && post(request)))) return fail(reply, postOnly(path), 405);
      const { status = 200, msg = 'ok', data } = await handler(request, reply);
      return { status, msg, data };
    },
  });
}

export function lotteryBridge(app: FastifyInstance, { internal, caller }: BridgeClients, config: Config): void {
  const api = internal.lottery;
  const opts = (request: FastifyRequest): { requestId: string } => ({ requestId: request.id });
  const signatures = legacySignatures(internal);

  /**
   * Who may say which openid enters: a trusted front with its own Bearer token (the gRPC
   * server checks the `lottery` scope), or the OAuth front's signature in `auth`. A bare openid
   * is trusted only when the deployment says so (HUODONG_LOTTERY_TRUST_OPENID=1).
   */
  route(app, ENTRY_PATH, async (request, reply) => {
    const p = params(request);
    const code = stringParam(p, 'code');
    if (code === undefined) throw badRequest('code', 'is required');
    const openid = stringParam(p, 'openid') ?? '';
    const entry = {
      code,
      openid,
      nickname: stringParam(p, 'nickname') ?? '',
      avatar: stringParam(p, 'headimgurl') ?? stringParam(p, 'avatar') ?? '',
    };
    const front = callOptions(request);
    let r: pb.EnterActivityResponse;
    if (front.token !== undefined) {
      r = await caller.lottery.enterActivity(entry, front);
    } else {
      const auth = stringParam(p, 'auth');
      if (auth !== undefined) {
        const { appName, ts, sig } = parseAuth(auth);
        await signatures.verify({ method: request.method, path: ENTRY_PATH, params: entrySignedParams(code, openid, appName, ts), appName, ts, sig, requestId: request.id });
      } else if (!config.lotteryTrustOpenid) {
        throw unauthenticated('auth is required: the signature of the OAuth front over appName, code, openid and ts');
      }
      r = await api.enterActivity(entry, opts(request));
    }
    setCookie(request, reply, r.token, r.tokenExpireTime);
    return { data: activityData(r) };
  });

  route(app, '/lottery/Activity/info', async (request, reply) => {
    const r = await api.getActivityInfo({ token: cookieToken(request) }, opts(request));
    setCookie(request, reply, r.token, r.tokenExpireTime);
    return { data: activityData(r) };
  });

  route(app, '/lottery/Activity/prize', async (request, reply) => {
    const r = await api.getActivityInfo({ token: cookieToken(request) }, opts(request));
    setCookie(request, reply, r.token, r.tokenExpireTime);
    return { data: (r.activity?.prizes ?? []).map(legacyPrize) };
  });

  route(app, '/lottery/Activity/user', async (request, reply) => {
    const p = params(request);
    const r = await api.submitUserInfo(
      {
        token: cookieToken(request),
        name: stringParam(p, 'name') ?? '',
        tel: stringParam(p, 'tel') ?? '',
        address: stringParam(p, 'address') ?? '',
        otherInfo: stringParam(p, 'other_info') ?? '',
      },
      opts(request),
    );
    setCookie(request, reply, r.token, r.tokenExpireTime);
    return { data: null };
  }, true);

  route(app, '/lottery/Activity/award', async (request, reply) => {
    const p = params(request);
    const r = await api.draw(
      { token: cookieToken(request), code: stringParam(p, 'code') ?? '', requestId: stringParam(p, 'request_id') ?? randomUUID() },
      opts(request),
    );
    setCookie(request, reply, r.token, r.tokenExpireTime);
    if (r.outcome === pb.Outcome.OUTCOME_WIN && r.prize !== undefined) {
      return {
        msg: r.tip,
        data: { prize_id: r.prize.prizeId, prize_name: r.prize.name, prize_type: r.prize.legacyType, money: r.prize.money, secret: r.prize.secret, draw_id: r.drawId },
      };
    }
    const outcome = pb.outcomeToJSON(r.outcome).replace(/^OUTCOME_/, '').toLowerCase();
    return { status: r.code === 201 ? 201 : 202, msg: r.tip, data: { outcome, draw_id: r.drawId } };
  }, true);

  route(app, '/lottery/Activity/share', async (request, reply) => {
    const r = await api.share({ token: cookieToken(request) }, opts(request));
    setCookie(request, reply, r.token, r.tokenExpireTime);
    return { data: { counted: r.counted ? 1 : 0, ...userData(r.user) } };
  }, true);

  route(app, '/lottery/Activity/prizeList', async (request, reply) => {
    const r = await api.listMyPrizes({ token: cookieToken(request) }, opts(request));
    setCookie(request, reply, r.token, r.tokenExpireTime);
    return { data: r.prizes.map(wonData) };
  });

  /**
   * Showing a prize is separate from claiming it. Without `confirm=1` this shows the prize:
   * to its winner (by the cookie, among their own prizes) or to a merchant (Bearer
   * `lottery.admin`, VerifyAward with validate_only), and a claimed prize fails as seed 003
   * says. `confirm=1`, by POST with the merchant's token, claims it.
   */
  route(app, '/lottery/info/check', async (request, reply) => {
    const p = params(request);
    const code = stringParam(p, 'code') ?? '';
    const secret = stringParam(p, 'awardcode') ?? '';
    const confirm = stringParam(p, 'confirm') === '1';
    const merchant = callOptions(request);
    if (merchant.token !== undefined || confirm) {
      const r = await caller.lottery.verifyAward({ code, secret, validateOnly: !confirm }, merchant);
      return { data: r.prize === undefined ? null : wonData(r.prize) };
    }
    const token = cookieToken(request);
    if (token === '') throw new HuodongError(GrpcStatus.UNAUTHENTICATED, 'the winner\'s cookie or a merchant\'s Bearer token is required', 'UNAUTHENTICATED', 'huodong.bridge', undefined, {});
    const r = await api.listMyPrizes({ token }, opts(request));
    setCookie(request, reply, r.token, r.tokenExpireTime);
    const mine = r.prizes.find((x) => x.secret === secret.trim());
    if (mine === undefined) throw new HuodongError(GrpcStatus.NOT_FOUND, 'no prize of yours has this secret', 'AWARD_NOT_FOUND', 'huodong.lottery', undefined, {});
    if (mine.claimed) throw new HuodongError(GrpcStatus.FAILED_PRECONDITION, 'this prize has already been claimed', 'AWARD_ALREADY_CLAIMED', 'huodong.lottery', undefined, {});
    return { data: wonData(mine) };
  }, (request) => stringParam(params(request), 'confirm') === '1');

  route(app, '/lottery/info/userlist', async (request) => {
    const p = params(request);
    const r = await api.listWinners({ code: stringParam(p, 'code') ?? '' }, opts(request));
    return {
      data: r.winners.map((w) => ({ wxname: w.nickname, headimgurl: w.avatar, money: w.money, name: w.prizeName, createtime: unix(w.winTime) })),
    };
  });
}
