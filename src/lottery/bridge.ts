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
import { lottery as pb, GrpcStatus, HuodongError, type CallOptions, type Clients } from '@huodong/clients';
import { badRequest, bearerToken, bridgeError, callOptions, noteLegacyApp, stringParam, type SendFailure } from '../bridge/http.js';
import {
  bearer,
  bridgeToken,
  perBridge,
  routesFor,
  routeTable,
  type BridgeContext,
  type Credential,
  type Envelope,
  type Params,
  type RouteContext,
} from '../bridge/routes.js';
import { legacyAppCacheTtls, legacySignatures } from '../member/bridge.js';
import { winnersCsv } from './export-bridge.js';
import { parseLenientJson } from './json.js';
import { formatLocalMinute, parseLocalMinute } from './rules.js';
import { ACTIVE_TYPES, OUTCOMES, PHASES, PRIZE_KINDS, TEMPLATES } from './words.js';

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

const COOKIE = 'jwt';

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

/** Every answer that carries the user's token (a fresh one) renews the cookie. */
function renewCookie(response: unknown, { request, reply }: RouteContext): void {
  if (typeof response !== 'object' || response === null || !('token' in response) || typeof response.token !== 'string') return;
  const expires = 'tokenExpireTime' in response && response.tokenExpireTime instanceof Date ? response.tokenExpireTime : undefined;
  setCookie(request, reply, response.token, expires);
}

const unix = (d: Date | undefined): number => (d === undefined ? 0 : Math.floor(d.getTime() / 1000));

/** The shop's zone (the server's HUODONG_TZ). */
const shopZone = (): string => process.env.HUODONG_TZ?.trim() || 'Asia/Shanghai';

/** Legacy pages read sessions as "YYYY-MM-DD HH:mm" in the shop's zone. */
function localMinute(d: Date | undefined): string {
  return d === undefined ? '' : formatLocalMinute(d.getTime(), shopZone());
}

function legacyPrize(p: pb.Prize): Record<string, unknown> {
  const type = PRIZE_KINDS.toDomain(p.type) ?? 'physical';
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
    phase: s === undefined ? undefined : PHASES.toDomain(s.phase),
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
  return { prizeid: p.prizeId, name: p.name, type: p.legacyType, money: p.money, prizecode: p.secret, info: p.info, status: p.claimed ? 1 : 2, createtime: unix(p.winTime) };
}

function drawAnswer(r: pb.DrawResponse): LegacyAnswer {
  if (r.outcome === pb.Outcome.OUTCOME_WIN && r.prize !== undefined) {
    return {
      msg: r.tip,
      data: { prize_id: r.prize.prizeId, prize_name: r.prize.name, prize_type: r.prize.legacyType, money: r.prize.money, secret: r.prize.secret, draw_id: r.drawId },
    };
  }
  return { status: r.code === 201 ? 201 : 202, msg: r.tip, data: { outcome: OUTCOMES.toDomain(r.outcome) ?? 'unspecified', draw_id: r.drawId } };
}

/** A route's answer before its envelope: status 200 and msg `ok` unless said. */
interface LegacyAnswer {
  readonly status?: number;
  readonly msg?: string;
  readonly data: unknown;
}

const fail: SendFailure = (reply, err, httpStatus) => reply.code(httpStatus).send({ status: httpStatus, msg: err.message, reason: err.reason, data: null });
const envelope: Envelope<LegacyAnswer> = { ok: ({ status = 200, msg = 'ok', data }) => ({ status, msg, data }), fail };

/** Seed 003's `/Activity/prize` and `/Activity/user` answer status 1 success, 0 failure. */
const zeroOne: Envelope<LegacyAnswer> = {
  ok: ({ status = 200, msg = 'ok', data }) => ({ status: status === 200 ? 1 : status, msg, data }),
  fail: (reply, err, httpStatus) => reply.code(httpStatus).send({ status: 0, msg: err.message, reason: err.reason, code: httpStatus, data: null }),
};

const signaturesOf = perBridge(({ clients, config }) => legacySignatures(clients.internal, legacyAppCacheTtls(config)));

/** Seed 003's entry parameters; `code` is required before anything else is looked at. */
function entryOf(p: Params): pb.EnterActivityRequest {
  const code = stringParam(p, 'code');
  if (code === undefined) throw badRequest('code', 'is required');
  return {
    code,
    openid: stringParam(p, 'openid') ?? '',
    nickname: stringParam(p, 'nickname') ?? '',
    avatar: stringParam(p, 'headimgurl') ?? stringParam(p, 'avatar') ?? '',
  };
}

/**
 * Who may say which openid enters: a trusted front with its own Bearer token (the gRPC server
 * checks the `lottery` scope), or the OAuth front's signature in `auth`. A bare openid is
 * trusted only when the deployment says so (HUODONG_LOTTERY_TRUST_OPENID=1).
 * Whoever vouched for the openid owns the user's draw request ids, carried in the token the
 * cookie holds: the front's app, the signing legacy app (`legacy:<appName>`), or, for a bare
 * openid, the bridge's own app of the instance that let the user in.
 */
const entrant: Credential = async (ctx) => {
  const { request, params } = ctx;
  const { code, openid } = entryOf(params);
  const front = callOptions(request);
  if (front.token !== undefined) return { clients: ctx.clients.caller, options: front };
  const auth = stringParam(params, 'auth');
  if (auth === undefined) {
    if (!ctx.config.lotteryTrustOpenid) throw unauthenticated('auth is required: the signature of the OAuth front over appName, code, openid and ts');
    return bridgeToken(ctx);
  }
  const { appName, ts, sig } = parseAuth(auth);
  const verified = await signaturesOf(ctx).verify({ method: request.method, path: ENTRY_PATH, params: entrySignedParams(code, openid, appName, ts), appName, ts, sig, requestId: request.id });
  noteLegacyApp(request, appName);
  // The signing legacy app owns the user's draw request ids (the token names it), as it owns
  // its orders on the member routes; not the bridge, whose own app is per instance.
  return { clients: ctx.clients.internal, options: { requestId: request.id, onBehalfOf: verified.appName } };
};

/** `/info/check` by a merchant: with a Bearer token (`lottery.admin`), or to claim (`confirm=1`). */
const byMerchant = ({ request, params }: RouteContext): boolean => {
  const confirm = stringParam(params, 'confirm') === '1';
  return bearerToken(request) !== undefined || confirm;
};

interface AwardCheck {
  readonly byMerchant: boolean;
  readonly code: string;
  readonly secret: string;
  readonly confirm: boolean;
  /** The winner's cookie. */
  readonly token: string;
}

type LotteryApi = Clients['lottery'];

async function checkAward(api: LotteryApi, check: AwardCheck, options: CallOptions): Promise<pb.VerifyAwardResponse | pb.ListMyPrizesResponse> {
  if (check.byMerchant) return api.verifyAward({ code: check.code, secret: check.secret, validateOnly: !check.confirm }, options);
  if (check.token === '') throw bridgeError({ code: GrpcStatus.UNAUTHENTICATED, reason: 'UNAUTHENTICATED', message: 'the winner\'s cookie or a merchant\'s Bearer token is required' });
  return api.listMyPrizes({ token: check.token }, options);
}

function checkedAward(r: pb.VerifyAwardResponse | pb.ListMyPrizesResponse, check: AwardCheck): LegacyAnswer {
  if (!('prizes' in r)) return { data: r.prize === undefined ? null : wonData(r.prize) };
  const mine = r.prizes.find((x) => x.secret === check.secret.trim());
  if (mine === undefined) throw bridgeError({ code: GrpcStatus.NOT_FOUND, reason: 'AWARD_NOT_FOUND', message: 'no prize of yours has this secret', domain: 'huodong.lottery' });
  if (mine.claimed) throw bridgeError({ code: GrpcStatus.FAILED_PRECONDITION, reason: 'AWARD_ALREADY_CLAIMED', message: 'this prize has already been claimed', domain: 'huodong.lottery' });
  return { data: wonData(mine) };
}

/** The routes that name the user by the cookie only. */
const byCookie = (_params: Params, { request }: RouteContext): { token: string } => ({ token: cookieToken(request) });

const { route, csvRoute } = routesFor<LotteryApi, LegacyAnswer>();

/**
 * Seed 003's image upload. huodong keeps no images (activities hold image URLs from the
 * operator's own storage), so this answers the seed's `{status: false, info}` with 501.
 * With HUODONG_CORS_ORIGINS, the listed origins may call the routes from a browser.
 */
function extras(app: FastifyInstance, { config }: BridgeContext): void {
  app.route({
    method: ['GET', 'POST'],
    url: '/lottery/img/add',
    handler: async (_request, reply) => reply.code(501).send({ status: false, info: '图片上传不由本系统提供：请上传到图片存储后填写图片地址', reason: 'UNIMPLEMENTED' }),
  });
  if (config.corsOrigins.length === 0) return;
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

/**
 * Every route answers GET and POST (parameters from the query and the form); a state-changing
 * one (`postOnly`) refuses GET. Routes call with the bridge's own token: the user token in the
 * request is what the gRPC server checks.
 */
export const lotteryBridge = routeTable({
  api: (clients) => clients.lottery,
  method: 'GET+POST',
  credential: bridgeToken,
  envelope,
  onResponse: renewCookie,
  extras,
  routes: [
    csvRoute(winnersCsv),
    route({ path: ENTRY_PATH, credential: entrant, toRequest: entryOf, call: (l, r, o) => l.enterActivity(r, o), toLegacy: (r) => ({ data: activityData(r) }) }),
    route({ path: '/lottery/Activity/info', toRequest: byCookie, call: (l, r, o) => l.getActivityInfo(r, o), toLegacy: (r) => ({ data: activityData(r) }) }),
    route({
      path: '/lottery/Activity/prize',
      envelope: zeroOne,
      toRequest: byCookie,
      call: (l, r, o) => l.getActivityInfo(r, o),
      toLegacy: (r) => ({ data: (r.activity?.prizes ?? []).map(legacyPrize) }),
    }),
    route({
      path: '/lottery/Activity/user',
      postOnly: true,
      envelope: zeroOne,
      toRequest: (p, { request }) => ({
        token: cookieToken(request),
        name: stringParam(p, 'name') ?? '',
        tel: stringParam(p, 'tel') ?? '',
        address: stringParam(p, 'address') ?? '',
        otherInfo: stringParam(p, 'other_info') ?? '',
      }),
      call: (l, r, o) => l.submitUserInfo(r, o),
      toLegacy: () => ({ data: null }),
    }),
    route({
      path: '/lottery/Activity/award',
      postOnly: true,
      toRequest: (p, { request }) => ({ token: cookieToken(request), code: stringParam(p, 'code') ?? '', requestId: stringParam(p, 'request_id') ?? randomUUID() }),
      call: (l, r, o) => l.draw(r, o),
      toLegacy: drawAnswer,
    }),
    route({
      path: '/lottery/Activity/share',
      postOnly: true,
      toRequest: byCookie,
      call: (l, r, o) => l.share(r, o),
      toLegacy: (r) => ({ data: { counted: r.counted ? 1 : 0, ...userData(r.user) } }),
    }),
    route({ path: '/lottery/Activity/prizeList', toRequest: byCookie, call: (l, r, o) => l.listMyPrizes(r, o), toLegacy: (r) => ({ data: r.prizes.map(wonData) }) }),
    /**
     * Showing a prize is separate from claiming it. Without `confirm=1` this shows the prize: to
     * its winner (by the cookie, among their own prizes) or to a merchant (Bearer
     * `lottery.admin`, VerifyAward with validate_only), and a claimed prize fails as seed 003
     * says. `confirm=1`, by POST with the merchant's token, claims it.
     */
    route({
      path: '/lottery/info/check',
      postOnly: (p) => stringParam(p, 'confirm') === '1',
      credential: (ctx) => (byMerchant(ctx) ? bearer(ctx) : bridgeToken(ctx)),
      toRequest: (p, ctx): AwardCheck => ({
        byMerchant: byMerchant(ctx),
        code: stringParam(p, 'code') ?? '',
        secret: stringParam(p, 'awardcode') ?? '',
        confirm: stringParam(p, 'confirm') === '1',
        token: cookieToken(ctx.request),
      }),
      call: checkAward,
      toLegacy: checkedAward,
    }),
    /**
     * Seed 003's activity editor: creates (no `id`) or updates an activity from the legacy
     * parameters (JSON bodies may send active_time / prize / tips as JSON, forms as JSON text).
     * Seed 003's `auth` "用户" is the admin: a Bearer token with `lottery.admin`.
     */
    route({
      path: '/lottery/Activity/add',
      postOnly: true,
      credential: bearer,
      toRequest: (p) => ({ activity: legacyActivity(p, shopZone()) }),
      call: (l, r, o) => l.saveActivity(r, o),
      toLegacy: (r) => ({ data: { id: r.activity?.activityId, code: r.activity?.code } }),
    }),
    route({
      path: '/lottery/info/userlist',
      toRequest: (p) => ({ code: stringParam(p, 'code') ?? '' }),
      call: (l, r, o) => l.listWinners(r, o),
      toLegacy: (r) => ({ data: r.winners.map((w) => ({ wxname: w.nickname, headimgurl: w.avatar, money: w.money, name: w.prizeName, createtime: unix(w.winTime) })) }),
    }),
  ],
});

/** A JSON parameter: an object or array sent as JSON, or its text in a form (seed 003's lenient JSON read too). */
function jsonParam(p: Params, name: string): unknown {
  const value = p[name];
  if (typeof value !== 'string') return value;
  if (value.trim() === '') return undefined;
  try {
    return parseLenientJson(value);
  } catch {
    throw badRequest(name, 'is not valid JSON');
  }
}

function intOf(p: Params, name: string, fallback = 0): number {
  const raw = stringParam(p, name);
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw.trim())) throw badRequest(name, 'must be a non-negative integer');
  return Number(raw);
}

const TEXT = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** Seed 003's `/Activity/add` parameters as a SaveActivity activity. */
export function legacyActivity(p: Params, timeZone: string): pb.Activity {
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
    activeType: ACTIVE_TYPES.toProto(activeType, pb.ActiveType.ACTIVE_TYPE_NORMAL),
    template: TEMPLATES.toProto(intOf(p, 'template', 10)),
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
      const type = PRIZE_KINDS.fromWord(TEXT(x.type));
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
