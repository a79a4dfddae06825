/**
 * Seed 001's legacy routes under /cm/inner/..., urlencoded or JSON, answering the envelope
 * {status, message, serverTime, data}. Every request is signed (canonicalRequest below): `sig`
 * is the hex HMAC-SHA256, keyed with the legacy app's secret, of the method, the route path and
 * every other parameter; `ts` (unix seconds) must be within 300 s. The bridge checks the
 * signature itself, then calls MemberService with its own `internal` token; admin routes are
 * open only to legacy apps created with admin rights.
 */
import { TtlCache } from '../platform/cache.js';
import { systemClock, type Clock } from '../platform/clock.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GrpcStatus, HuodongError, type CallOptions, type Clients, type member } from '@huodong/clients';
import type { Config } from '../platform/config.js';
import { badRequest, bridgeError, noteLegacyApp, stringParam, type SendFailure } from '../bridge/http.js';
import { perBridge, routesFor, routeTable, type Credential, type Envelope, type Params } from '../bridge/routes.js';
import { ORDER_STATUSES, SORT_FIELDS, SORT_ORDERS } from './words.js';

export const SIGNATURE_WINDOW_S = 300;
const MAX_SORT_LIMIT = 100;

/** RFC 3986 percent-encoding of UTF-8: everything but A-Z a-z 0-9 - . _ ~ is %XX. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function scalar(name: string, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  throw badRequest(name, 'must be a string or a number');
}

/**
 * The text a legacy caller signs: the upper-case method, a newline, the route path, a newline,
 * then every parameter but sig sorted by name, as `name=value` joined by `&`, names and values
 * percent-encoded (RFC 3986). Binding method and path keeps a signature from being replayed
 * on another route; encoding keeps `&` and `=` inside a value from forming another parameter
 * set with the same text.
 */
export function canonicalRequest(method: string, path: string, params: Params): string {
  const pairs = Object.keys(params)
    .filter((k) => k !== 'sig')
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(scalar(k, params[k]))}`)
    .join('&');
  return `${method.toUpperCase()}\n${path}\n${pairs}`;
}

/** The hex HMAC-SHA256 signature of a request. */
export function signRequest(method: string, path: string, params: Params, secret: string): string {
  return createHmac('sha256', secret).update(canonicalRequest(method, path, params), 'utf8').digest('hex');
}

function unauthenticated(message: string): HuodongError {
  return bridgeError({ code: GrpcStatus.UNAUTHENTICATED, reason: 'BAD_SIGNATURE', message });
}

function forbidden(message: string): HuodongError {
  return bridgeError({ code: GrpcStatus.PERMISSION_DENIED, reason: 'ADMIN_REQUIRED', message });
}

const serverTime = (): number => Math.floor(Date.now() / 1000);

const fail: SendFailure = (reply, err, httpStatus) => {
  const legacy = err.legacyCode === undefined ? undefined : Number(err.legacyCode);
  // A seed-defined code is a normal legacy answer; anything else keeps its HTTP meaning too.
  const status = legacy ?? httpStatus;
  return reply
    .code(legacy === undefined ? status : 200)
    .send({ status, message: err.message, reason: err.reason, serverTime: serverTime(), data: {} });
};

const num = (decimal: string): number => Number(decimal);
/** Legacy tables and routes speak unix seconds; 0 for an unset time. */
const unix = (at: Date | undefined): number => (at === undefined ? 0 : Math.floor(at.getTime() / 1000));

function required(body: Params, name: string): string {
  const value = stringParam(body, name);
  if (value === undefined) throw badRequest(name, 'is required');
  return value;
}

function intParam(body: Params, name: string, fallback: number): number {
  const raw = stringParam(body, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d{1,12}$/.test(raw.trim())) throw badRequest(name, 'must be an integer');
  return Number(raw);
}

function optionalInt(body: Params, name: string): number | undefined {
  return stringParam(body, name) === undefined ? undefined : intParam(body, name, 0);
}

/** {1: 10, 20: 40.5} from "1:10.00,20:40.50". */
function stepsObject(steps: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of steps.split(',').filter((p) => p !== '')) {
    const [from, value] = part.split(':');
    if (from !== undefined && value !== undefined) out[from] = num(value);
  }
  return out;
}

function gradesObject(grades: readonly member.GradeConfig[]): Record<string, number> {
  return Object.fromEntries(grades.map((g) => [String(g.grade), num(g.score)]));
}

function legacyTask(t: member.TaskConfig): Record<string, unknown> {
  return {
    id: t.id,
    op: t.op,
    name: t.name,
    desc: t.desc,
    score: num(t.score),
    cpoint: num(t.cpoint),
    step_score: stepsObject(t.stepScore),
    step_cpoint: stepsObject(t.stepCpoint),
    status: t.status,
    s_time: unix(t.sTime),
    e_time: unix(t.eTime),
    s_grade: t.sGrade,
    e_grade: t.eGrade,
    batch: t.batch,
    repeat: t.repeat,
    r_flag: t.rFlag,
    r_ratio: t.rRatio,
    r_count: t.rCount,
    r_cpoint: num(t.rCpoint),
    r_score: num(t.rScore),
    r_filter: t.rFilter,
    r_step: t.rStep,
    u_time: unix(t.uTime),
  };
}

const legacyUsers = (users: readonly member.UserInfo[]): Array<Record<string, unknown>> =>
  users.map((u) => ({ [u.uid]: { cpoints: num(u.cpoint), scores: num(u.score), grade: u.grade } }));

/**
 * The caller's own key for a route that moves value without an order id. Until 2026-12-02 a
 * missing one was derived from the signature, so two identical signed credits in one second
 * both answered success and credited once; a caller could not tell a replay from a new credit.
 */
function callerKey(body: Params): string {
  const key = stringParam(body, 'requestId');
  if (key === undefined) throw badRequest('requestId', 'is required: a key of your own, unique per credit or task submission');
  return key;
}

/** A legacy app that signed a request: its name and whether it may call admin routes. */
export interface LegacySigner {
  readonly appName: string;
  readonly admin: boolean;
}

/** Checks legacy signatures against the apps of MemberService (GetLegacyApp), cached briefly. */
export interface LegacySignatures {
  /**
   * Verifies `sig` over `canonicalRequest(method, path, params)` (params without `sig`) for
   * the app `appName`, and that `ts` is within SIGNATURE_WINDOW_S of now; throws
   * UNAUTHENTICATED BAD_SIGNATURE otherwise.
   */
  verify(input: { method: string; path: string; params: Params; appName: string | undefined; ts: string | undefined; sig: string | undefined; requestId: string }): Promise<LegacySigner>;
}

/** How long a legacy app's secret is cached, and how long an unknown name is (HUODONG_LEGACY_APP_*CACHE_TTL_MS). */
export interface LegacyAppCacheTtls {
  readonly hitMs: number;
  readonly missMs: number;
}

/** The cache times the config names. */
export function legacyAppCacheTtls(config: Config): LegacyAppCacheTtls {
  return { hitMs: config.legacyAppCacheTtlMs, missMs: config.legacyAppMissCacheTtlMs };
}

export function legacySignatures(
  internal: Clients,
  ttls: LegacyAppCacheTtls = { hitMs: 30_000, missMs: 5_000 },
  clock: Clock = systemClock,
): LegacySignatures {
  // Unknown names are cached too (for missMs), so a flood of made-up names costs one lookup each.
  const secrets = new TtlCache<string, { readonly app: member.GetLegacyAppResponse | undefined }>(clock, { max: 10_000, ttlMs: ttls.hitMs });

  const lookup = async (appName: string, requestId: string): Promise<member.GetLegacyAppResponse | undefined> => {
    const cached = secrets.get(appName);
    if (cached !== undefined) return cached.app;
    let found: member.GetLegacyAppResponse | undefined;
    try {
      found = await internal.member.getLegacyApp({ appName }, { requestId });
    } catch (err) {
      if (!(err instanceof HuodongError) || err.code !== GrpcStatus.NOT_FOUND) throw err;
    }
    secrets.set(appName, { app: found }, found === undefined ? ttls.missMs : ttls.hitMs);
    return found;
  };

  return {
    async verify({ method, path, params, appName, ts, sig, requestId }) {
      if (appName === undefined) throw unauthenticated('appName is required');
      if (sig === undefined || !/^[0-9a-fA-F]{64}$/.test(sig)) throw unauthenticated('sig must be 64 hex characters');
      if (ts === undefined || !/^\d{1,12}$/.test(ts)) throw unauthenticated('ts (unix seconds) is required');
      if (Math.abs(serverTime() - Number(ts)) > SIGNATURE_WINDOW_S) {
        throw unauthenticated(`ts is more than ${SIGNATURE_WINDOW_S} s away from the server time`);
      }
      const legacyApp = await lookup(appName, requestId);
      // An unknown app is checked against a throw-away key so both paths cost the same.
      const expected = Buffer.from(signRequest(method, path, params, legacyApp?.secret ?? 'unknown-app'), 'hex');
      const given = Buffer.from(sig.toLowerCase(), 'hex');
      const matches = timingSafeEqual(expected, given);
      if (legacyApp === undefined || !matches) throw unauthenticated('bad signature');
      return { appName, admin: legacyApp.admin };
    },
  };
}


/** One checker (and cache of legacy apps) per bridge. */
const signaturesOf = perBridge(({ clients, config }) => legacySignatures(clients.internal, legacyAppCacheTtls(config)));

/**
 * Seed 001's signed request; an admin route also needs a legacy app with admin rights. Each call
 * is made for the legacy app whose signature was checked: its orders and request ids belong to
 * that app (owner `legacy:<appName>`, see platform/owner.ts), not to the bridge's credential, so
 * two legacy apps never share an order and a bridge restart or another bridge instance answers
 * the same.
 */
const signed: Credential = async (ctx) => {
  const { request, params } = ctx;
  const signer = await signaturesOf(ctx).verify({
    method: request.method,
    path: ctx.path,
    params,
    appName: stringParam(params, 'appName'),
    ts: stringParam(params, 'ts'),
    sig: stringParam(params, 'sig'),
    requestId: request.id,
  });
  noteLegacyApp(request, signer.appName);
  if (ctx.admin && !signer.admin) throw forbidden('this app may not call admin routes');
  return { clients: ctx.clients.internal, options: { requestId: request.id, onBehalfOf: signer.appName } };
};

const envelope: Envelope<unknown> = { ok: (data) => ({ status: 200, message: '', serverTime: serverTime(), data }), fail };

type MemberApi = Clients['member'];

/** An operator's credit or debit. */
const adminChange = (p: Params) => ({
  requestId: callerKey(p),
  uid: required(p, 'uid'),
  cpoint: required(p, 'cpoint'),
  adminId: required(p, 'adminId'),
  note: stringParam(p, 'note') ?? '',
});
const changed = (r: { readonly cpoint: string }) => ({ cpoint: num(r.cpoint), result: 1 });

const orderOf = (p: Params) => ({ orderId: required(p, 'orderId'), uid: required(p, 'uid'), cpoint: required(p, 'cpoint') });

function legacyOrders(r: member.ListOrdersResponse): Record<string, unknown> {
  return {
    orders: r.orders.map((o) => ({
      id: o.orderId,
      uid: o.uid,
      cpoint: num(o.cpoint),
      status: ORDER_STATUSES.legacyWord(o.status) ?? 'unknown',
      revokedCpoint: num(o.revokedCpoint),
      ctime: Math.floor((o.createTime?.getTime() ?? 0) / 1000),
      utime: Math.floor((o.updateTime?.getTime() ?? 0) / 1000),
    })),
    nextPageToken: r.nextPageToken,
  };
}

/** A task as taskCnfUpdate sends it; op, name and desc may be left out (see updateTaskConfig). */
type TaskUpdate = Omit<member.TaskConfig, 'op' | 'name' | 'desc'> & { readonly op?: string; readonly name?: string; readonly desc?: string };

function taskUpdateOf(body: Params): TaskUpdate {
  const id = intParam(body, 'id', 0);
  if (stringParam(body, 'id') === undefined) throw badRequest('id', 'is required');
  // An empty s_time / e_time means no bound, as in seed 001.
  const time = (name: string): Date | undefined => {
    const seconds = intParam(body, name, 0);
    if (seconds < 0) throw badRequest(name, 'must be unix seconds');
    return seconds === 0 ? undefined : new Date(seconds * 1000);
  };
  const task: TaskUpdate = {
    id,
    op: stringParam(body, 'op'),
    name: stringParam(body, 'name'),
    desc: stringParam(body, 'desc'),
    score: required(body, 'score'),
    cpoint: required(body, 'cpoint'),
    stepScore: stringParam(body, 'step_score') ?? '',
    stepCpoint: stringParam(body, 'step_cpoint') ?? '',
    status: intParam(body, 'status', Number.NaN),
    sTime: time('s_time'),
    eTime: time('e_time'),
    sGrade: optionalInt(body, 's_grade'),
    eGrade: optionalInt(body, 'e_grade'),
    batch: optionalInt(body, 'batch'),
    repeat: optionalInt(body, 'repeat'),
    rFlag: intParam(body, 'r_flag', 0),
    rRatio: intParam(body, 'r_ratio', 0),
    rCount: optionalInt(body, 'r_count'),
    rCpoint: stringParam(body, 'r_cpoint') ?? '-1',
    rScore: stringParam(body, 'r_score') ?? '-1',
    rFilter: intParam(body, 'r_filter', 0),
    rStep: intParam(body, 'r_step', 0),
    uTime: undefined,
  };
  if (stringParam(body, 'status') === undefined) throw badRequest('status', 'is required');
  return task;
}

/**
 * Legacy callers never sent op, and may leave out name and desc: an existing task keeps its own
 * (until 2026-12-02 a missing name or desc blanked them).
 */
async function updateTaskConfig(m: MemberApi, update: TaskUpdate, call: CallOptions): Promise<member.UpdateTaskConfigResponse> {
  let { op, name, desc } = update;
  if (op === undefined || name === undefined || desc === undefined) {
    const existing = (await m.listTaskConfigs({}, call)).tasks.find((t) => t.id === update.id);
    if (existing === undefined && op === undefined) throw badRequest('op', 'is required for a new task');
    op ??= existing?.op ?? '';
    name ??= existing?.name ?? '';
    desc ??= existing?.desc ?? '';
  }
  return m.updateTaskConfig({ task: { ...update, op, name, desc } }, call);
}

const uidsOf = (body: Params): string[] =>
  required(body, 'uids')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');

function sortedUsersOf(body: Params): member.ListUsersSortedRequest {
  // "score", "score=1" or "score=*" all name the field.
  const sortField = SORT_FIELDS.fromWord(required(body, 'condition').split('=')[0]?.trim() ?? '');
  if (sortField === undefined) throw badRequest('condition', 'must be score, cpoint or grade');
  const sort = intParam(body, 'sort', -1);
  const sortOrder = SORT_ORDERS.fromWord(String(sort));
  if (sortOrder === undefined) throw badRequest('sort', 'must be 1 or -1');
  // Seed 001: at most 100 per page; a larger limit is cut to 100, not refused.
  const limit = Math.min(intParam(body, 'limit', 20), MAX_SORT_LIMIT);
  return { sortField, sortOrder, page: intParam(body, 'page', 1), limit, pageToken: '' };
}

const submissionOf = (body: Params) => ({
  requestId: callerKey(body),
  uid: required(body, 'uid'),
  op: required(body, 'op'),
  target: stringParam(body, 'target') ?? '',
  times: intParam(body, 'times', 1),
});

function legacySubmission(r: member.SubmitTaskResponse): Record<string, unknown> {
  return { cpoint: num(r.cpoint), score: num(r.score), newScore: num(r.newScore), newCpoint: num(r.newCpoint), code: r.code, grades: gradesObject(r.grades) };
}

const { route } = routesFor<MemberApi, unknown>();

export const memberBridge = routeTable({
  api: (clients) => clients.member,
  credential: signed,
  envelope,
  routes: [
    route({ path: '/cm/inner/user/getCpoint', toRequest: (p) => ({ uid: required(p, 'uid') }), call: (m, r, o) => m.getCpoint(r, o), toLegacy: (r) => ({ cpoint: num(r.cpoint) }) }),
    route({ path: '/cm/inner/user/adminAddCpoint', admin: true, toRequest: adminChange, call: (m, r, o) => m.adminAddCpoint(r, o), toLegacy: changed }),
    route({ path: '/cm/inner/user/adminReduceCpoint', admin: true, toRequest: adminChange, call: (m, r, o) => m.adminReduceCpoint(r, o), toLegacy: changed }),
    route({ path: '/cm/inner/useCpoint/consume', toRequest: orderOf, call: (m, r, o) => m.consumeCpoint(r, o), toLegacy: (r) => ({ cpoint: num(r.cpoint), id: r.orderId }) }),
    route({
      path: '/cm/inner/order/checkConsumeIsSucc',
      toRequest: (p) => ({ orderId: required(p, 'orderId'), uid: required(p, 'uid') }),
      call: (m, r, o) => m.checkConsume(r, o),
      toLegacy: (r) => ({ result: r.consumed ? 1 : 0 }),
    }),
    route({ path: '/cm/inner/useCpoint/revoke', toRequest: orderOf, call: (m, r, o) => m.revokeConsume(r, o), toLegacy: (r) => ({ id: r.orderId }) }),
    route({
      path: '/cm/inner/order/list',
      toRequest: (p) => ({ uid: required(p, 'uid'), pageSize: intParam(p, 'limit', 0), pageToken: stringParam(p, 'pageToken') ?? '' }),
      call: (m, r, o) => m.listOrders(r, o),
      toLegacy: legacyOrders,
    }),
    route({ path: '/cm/inner/cnf/taskCnfList', toRequest: () => ({}), call: (m, r, o) => m.listTaskConfigs(r, o), toLegacy: (r) => r.tasks.map(legacyTask) }),
    route({ path: '/cm/inner/cnf/gradeCnfList', toRequest: () => ({}), call: (m, r, o) => m.listGradeConfigs(r, o), toLegacy: (r) => gradesObject(r.grades) }),
    route({ path: '/cm/inner/cnf/taskCnfUpdate', admin: true, toRequest: taskUpdateOf, call: updateTaskConfig, toLegacy: () => ({}) }),
    route({ path: '/cm/inner/user/listInfo', toRequest: (p) => ({ uids: uidsOf(p) }), call: (m, r, o) => m.batchGetUserInfo(r, o), toLegacy: (r) => legacyUsers(r.users) }),
    route({ path: '/cm/inner/user/listSortInfo', toRequest: sortedUsersOf, call: (m, r, o) => m.listUsersSorted(r, o), toLegacy: (r) => legacyUsers(r.users) }),
    route({ path: '/cm/inner/task/submit', toRequest: submissionOf, call: (m, r, o) => m.submitTask(r, o), toLegacy: legacySubmission }),
  ],
});
