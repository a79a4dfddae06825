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
import { badRequest, bridgeError, callOptions, noteLegacyApp, routeErrorHandler, stringParam, type SendFailure } from '../bridge/http.js';
import { legacyAppCacheTtls, legacySignatures } from '../member/bridge.js';
import { lotteryExportRoutes } from './export-bridge.js';
import { parseLenientJson } from './json.js';
import { formatLocalMinute, parseLocalMinute } from './rules.js';

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
  return bridgeError({ code: GrpcStatus.UNAUTHENTICATED, reason: 'ENTRY_UNAUTHENTICATED', message });
}

function postOnly(path: string): HuodongError {
  return bridgeError({ code: GrpcStatus.INVALID_ARGUMENT, reason: 'METHOD_NOT_ALLOWED', message: `${path} changes state: send it as POST` });
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

const PHASE_NAMES: Partial<Record<pb.Phase, string>> = {
  [pb.Phase.PHASE_NOT_STARTED]: 'not_started',
  [pb.Phase.PHASE_ONGOING]: 'ongoing',
  [pb.Phase.PHASE_ENDED]: 'ended',
};

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
    // Seed 003: status 1 usable, 0 closed. Where the activity stands in its sessions is `phase`
    // (until 2026-12-02 it was sent as status -1 / 0 / 1, so an ongoing game read as closed).
    status: a?.enabled ? 1 : 0,
    phase: s === undefined ? undefined : PHASE_NAMES[s.phase],
    phase_status: s?.legacyStatus,
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
/** Seed 003's `/Activity/prize` and `/Activity/user` answer status 1 success, 0 failure. */
const failZero: SendFailure = (reply, err, httpStatus) => reply.code(httpStatus).send({ status: 0, msg: err.message, reason: err.reason, code: httpStatus, data: null });

interface RouteOptions {
  /** State-changing: GET is refused (always, or when the function says so). */
  readonly post?: boolean | ((request: FastifyRequest) => boolean);
  /** Answer status 1 / 0 as seed 003 documents for this route, instead of 200 / the error's. */
  readonly zeroOne?: boolean;
}

/**
 * A route answering GET and POST. A state-changing one (`post`) answers GET with 405 in the
 * legacy envelope: the cookie is SameSite=Lax, so a cross-site link or image carries it on GET.
 */
function route(app: FastifyInstance, path: string, handler: Handler, options: RouteOptions = {}): void {
  const { post = false, zeroOne = false } = options;
  const send = zeroOne ? failZero : fail;
  app.route({
    method: ['GET', 'POST'],
    url: path,
    errorHandler: routeErrorHandler(send),
    handler: async (request, reply) => {
      if (request.method !== 'POST' && (post === true || (typeof post === 'function' && post(request)))) return send(reply, postOnly(path), 405);
      const { status = 200, msg = 'ok', data } = await handler(request, reply);
      return { status: zeroOne && status === 200 ? 1 : status, msg, data };
    },
  });
}

export function lotteryBridge(app: FastifyInstance, { internal, caller }: BridgeClients, config: Config): void {
  lotteryExportRoutes(app, { internal, caller }, config, fail);
  const api = internal.lottery;
  const opts = (request: FastifyRequest): { requestId: string } => ({ requestId: request.id });
  const signatures = legacySignatures(internal, legacyAppCacheTtls(config));

  /**
   * Who may say which openid enters: a trusted front with its own Bearer token (the gRPC
   * server checks the `lottery` scope), or the OAuth front's signature in `auth`. A bare openid
   * is trusted only when the deployment says so (HUODONG_LOTTERY_TRUST_OPENID=1).
   * Whoever vouched for the openid owns the user's draw request ids, carried in the token the
   * cookie holds: the front's app, the signing legacy app (`legacy:<appName>`), or, for a bare
   * openid, the bridge's own app of the instance that let the user in.
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
        const verified = await signatures.verify({ method: request.method, path: ENTRY_PATH, params: entrySignedParams(code, openid, appName, ts), appName, ts, sig, requestId: request.id });
        noteLegacyApp(request, appName);
        // The signing legacy app owns the user's draw request ids (the token names it), as it
        // owns its orders on the member routes; not the bridge, whose own app is per instance.
        r = await api.enterActivity(entry, { ...opts(request), onBehalfOf: verified.appName });
      } else if (!config.lotteryTrustOpenid) {
        throw unauthenticated('auth is required: the signature of the OAuth front over appName, code, openid and ts');
      } else {
        r = await api.enterActivity(entry, opts(request));
      }
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
  }, { zeroOne: true });

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
  }, { post: true, zeroOne: true });

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
  }, { post: true });

  route(app, '/lottery/Activity/share', async (request, reply) => {
    const r = await api.share({ token: cookieToken(request) }, opts(request));
    setCookie(request, reply, r.token, r.tokenExpireTime);
    return { data: { counted: r.counted ? 1 : 0, ...userData(r.user) } };
  }, { post: true });

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
    if (token === '') throw bridgeError({ code: GrpcStatus.UNAUTHENTICATED, reason: 'UNAUTHENTICATED', message: 'the winner\'s cookie or a merchant\'s Bearer token is required' });
    const r = await api.listMyPrizes({ token }, opts(request));
    setCookie(request, reply, r.token, r.tokenExpireTime);
    const mine = r.prizes.find((x) => x.secret === secret.trim());
    if (mine === undefined) throw bridgeError({ code: GrpcStatus.NOT_FOUND, reason: 'AWARD_NOT_FOUND', message: 'no prize of yours has this secret', domain: 'huodong.lottery' });
    if (mine.claimed) throw bridgeError({ code: GrpcStatus.FAILED_PRECONDITION, reason: 'AWARD_ALREADY_CLAIMED', message: 'this prize has already been claimed', domain: 'huodong.lottery' });
    return { data: wonData(mine) };
  }, { post: (request) => stringParam(params(request), 'confirm') === '1' });

  /**
   * Seed 003's activity editor: creates (no `id`) or updates an activity from the legacy
   * parameters (JSON bodies may send active_time / prize / tips as JSON, forms as JSON text).
   * Seed 003's `auth` "用户" is the admin: a Bearer token with `lottery.admin`.
   */
  route(app, '/lottery/Activity/add', async (request) => {
    const activity = legacyActivity(params(request), process.env.HUODONG_TZ?.trim() || 'Asia/Shanghai');
    const r = await caller.lottery.saveActivity({ activity }, callOptions(request));
    return { data: { id: r.activity?.activityId, code: r.activity?.code } };
  }, { post: true });

  /**
   * Seed 003's image upload. huodong keeps no images (activities hold image URLs from the
   * operator's own storage), so this answers the seed's `{status: false, info}` with 501.
   */
  app.route({
    method: ['GET', 'POST'],
    url: '/lottery/img/add',
    handler: async (_request, reply) => reply.code(501).send({ status: false, info: '图片上传不由本系统提供：请上传到图片存储后填写图片地址', reason: 'UNIMPLEMENTED' }),
  });

  if (config.corsOrigins.length > 0) {
    const origins = new Set(config.corsOrigins);
    const allow = (request: FastifyRequest, reply: FastifyReply): boolean => {
      const origin = request.headers.origin;
      if (typeof origin !== 'string' || !origins.has(origin)) return false;
      reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('vary', 'Origin');
      return true;
    };
    app.addHook('onRequest', async (request, reply) => {
      if (request.url.startsWith('/lottery/')) allow(request, reply);
    });
    app.options('/lottery/*', async (request, reply) => {
      if (!allow(request, reply)) return reply.code(403).send({ status: 403, msg: 'origin not allowed', reason: 'CORS_ORIGIN_REFUSED', data: null });
      return reply
        .code(204)
        .header('access-control-allow-methods', 'GET, POST')
        .header('access-control-allow-headers', 'content-type, authorization')
        .header('access-control-max-age', '600')
        .send();
    });
  }

  route(app, '/lottery/info/userlist', async (request) => {
    const p = params(request);
    const r = await api.listWinners({ code: stringParam(p, 'code') ?? '' }, opts(request));
    return {
      data: r.winners.map((w) => ({ wxname: w.nickname, headimgurl: w.avatar, money: w.money, name: w.prizeName, createtime: unix(w.winTime) })),
    };
  });
}

/** A JSON parameter: an object or array sent as JSON, or its text in a form (seed 003's lenient JSON read too). */
function jsonParam(p: Record<string, unknown>, name: string): unknown {
  const value = p[name];
  if (typeof value !== 'string') return value;
  if (value.trim() === '') return undefined;
  try {
    return parseLenientJson(value);
  } catch {
    throw badRequest(name, 'is not valid JSON');
  }
}

function intOf(p: Record<string, unknown>, name: string, fallback = 0): number {
  const raw = stringParam(p, name);
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw.trim())) throw badRequest(name, 'must be a non-negative integer');
  return Number(raw);
}

const TEXT = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

const PRIZE_TYPES: Readonly<Record<string, pb.PrizeType>> = {
  physical: pb.PrizeType.PRIZE_TYPE_PHYSICAL,
  red: pb.PrizeType.PRIZE_TYPE_RED,
  coupon: pb.PrizeType.PRIZE_TYPE_COUPON,
};

/** Seed 003's `/Activity/add` parameters as a SaveActivity activity. */
export function legacyActivity(p: Record<string, unknown>, timeZone: string): pb.Activity {
  const sessions = jsonParam(p, 'active_time') ?? [];
  if (!Array.isArray(sessions)) throw badRequest('active_time', 'must be a list of {start, end}');
  const prizes = jsonParam(p, 'prize') ?? [];
  if (!Array.isArray(prizes)) throw badRequest('prize', 'must be a list of prizes');
  const tipsRaw = jsonParam(p, 'tips') ?? {};
  if (typeof tipsRaw !== 'object' || tipsRaw === null || Array.isArray(tipsRaw)) throw badRequest('tips', 'must be an object');
  const tips = tipsRaw as Record<string, unknown>;
  const minute = (value: unknown, field: string): Date => {
    const ms = parseLocalMinute(value, timeZone);
    if (ms === undefined) throw badRequest(field, 'must be "YYYY-MM-DD HH:mm"');
    return new Date(ms);
  };
  const activeType = intOf(p, 'active_type', 1);
  return {
    activityId: intOf(p, 'id'),
    code: '',
    enabled: intOf(p, 'status', 1) === 1,
    title: stringParam(p, 'active_title') ?? '',
    activeType: activeType === 2 ? pb.ActiveType.ACTIVE_TYPE_REWARD : pb.ActiveType.ACTIVE_TYPE_NORMAL,
    template: ({ 10: pb.Template.TEMPLATE_SCRATCH_CARD, 11: pb.Template.TEMPLATE_WHEEL, 12: pb.Template.TEMPLATE_RED_PACKET } as Record<number, pb.Template>)[intOf(p, 'template', 10)] ?? pb.Template.TEMPLATE_UNSPECIFIED,
    virtualParticipants: intOf(p, 'virtual'),
    headerImg: stringParam(p, 'header_img') ?? '',
    ruleLink: stringParam(p, 'rule_link') ?? '',
    rule: stringParam(p, 'rule') ?? '',
    needAddress: intOf(p, 'need_address') === 1,
    requireUserInfo: intOf(p, 'need_info') === 1,
    tips: { haveAward: TEXT(tips.have_award), noTimes: TEXT(tips.no_times), noAward: TEXT(tips.no_award), gameOver: TEXT(tips.game_over), default: TEXT(tips.default) },
    prizes: prizes.map((raw: unknown, i): pb.Prize => {
      if (typeof raw !== 'object' || raw === null) throw badRequest(`prize[${i}]`, 'must be an object');
      const x = raw as Record<string, unknown>;
      const type = PRIZE_TYPES[TEXT(x.type)];
      if (type === undefined) throw badRequest(`prize[${i}].type`, 'must be physical, red or coupon');
      const sum = TEXT(x.sum);
      if (sum !== '' && !/^\d{1,9}$/.test(sum)) throw badRequest(`prize[${i}].sum`, 'must be a non-negative integer');
      return {
        prizeId: i,
        type,
        name: TEXT(x.name),
        sum: Number(sum || 0),
        chance: TEXT(x.chance ?? x.probability) || '0',
        money: TEXT(x.money),
        min: TEXT(x.min),
        max: TEXT(x.max),
        img: TEXT(x.img),
        link: TEXT(x.link),
        desc: TEXT(x.desc),
        info: TEXT(x.info),
      };
    }),
    sessions: sessions.map((raw: unknown, i): pb.Session => {
      const x = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
      return { startTime: minute(x.start, `active_time[${i}].start`), endTime: minute(x.end, `active_time[${i}].end`) };
    }),
    maxPlay: intOf(p, 'max_play'),
    maxEplay: intOf(p, 'max_eplay'),
    maxShare: intOf(p, 'max_share'),
    maxPrize: intOf(p, 'max_prize'),
    share: {
      enabled: intOf(p, 'isshare') === 1,
      title: stringParam(p, 'share_title') ?? '',
      desc: stringParam(p, 'share_desc') ?? '',
      link: stringParam(p, 'share_link') ?? '',
      img: stringParam(p, 'share_img') ?? '',
    },
    config: typeof p.config === 'object' && p.config !== null ? JSON.stringify(p.config) : (stringParam(p, 'config') ?? ''),
    rid: intOf(p, 'rid'),
    uniacid: intOf(p, 'uniacid'),
    createTime: undefined,
    updateTime: undefined,
  };
}
