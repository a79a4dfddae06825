/**
 * Seed 003's legacy routes under /lottery. The browser holds no app token: its credential is
 * the user JWT in the httponly cookie `jwt`, which the gRPC server verifies, so these routes
 * call through the bridge's `internal` clients and renew the cookie on every call. Answers are
 * `{status, msg, data}`: 200 success, 201 user info needed first, 202 a draw without a prize
 * (msg is the activity's tip), otherwise the HTTP status of the error.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { lottery as pb } from '@huodong/clients';
import type { BridgeClients } from '../platform/area.js';
import { badRequest, routeErrorHandler, stringParam, type SendFailure } from '../bridge/http.js';
import { formatLocalMinute } from './rules.js';

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

function route(app: FastifyInstance, path: string, handler: Handler): void {
  app.route({
    method: ['GET', 'POST'],
    url: path,
    errorHandler: routeErrorHandler(fail),
    handler: async (request, reply) => {
      const { status = 200, msg = 'ok', data } = await handler(request, reply);
      return { status, msg, data };
    },
  });
}

export function lotteryBridge(app: FastifyInstance, { internal }: BridgeClients): void {
  const api = internal.lottery;
  const opts = (request: FastifyRequest): { requestId: string } => ({ requestId: request.id });

  route(app, '/lottery/Activity/index', async (request, reply) => {
    const p = params(request);
    const code = stringParam(p, 'code');
    if (code === undefined) throw badRequest('code', 'is required');
    const r = await api.enterActivity(
      {
        code,
        openid: stringParam(p, 'openid') ?? '',
        nickname: stringParam(p, 'nickname') ?? '',
        avatar: stringParam(p, 'headimgurl') ?? stringParam(p, 'avatar') ?? '',
      },
      opts(request),
    );
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
  });

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
  });

  route(app, '/lottery/Activity/share', async (request, reply) => {
    const r = await api.share({ token: cookieToken(request) }, opts(request));
    setCookie(request, reply, r.token, r.tokenExpireTime);
    return { data: { counted: r.counted ? 1 : 0, ...userData(r.user) } };
  });

  route(app, '/lottery/Activity/prizeList', async (request, reply) => {
    const r = await api.listMyPrizes({ token: cookieToken(request) }, opts(request));
    setCookie(request, reply, r.token, r.tokenExpireTime);
    return { data: r.prizes.map(wonData) };
  });

  route(app, '/lottery/info/check', async (request) => {
    const p = params(request);
    const r = await api.verifyAward({ code: stringParam(p, 'code') ?? '', secret: stringParam(p, 'awardcode') ?? '' }, opts(request));
    return { data: r.prize === undefined ? null : wonData(r.prize) };
  });

  route(app, '/lottery/info/userlist', async (request) => {
    const p = params(request);
    const r = await api.listWinners({ code: stringParam(p, 'code') ?? '' }, opts(request));
    return {
      data: r.winners.map((w) => ({ wxname: w.nickname, headimgurl: w.avatar, money: w.money, name: w.prizeName, createtime: unix(w.winTime) })),
    };
  });
}
