/**
 * Seed 002's legacy routes: POST /points/<method> (JSON or urlencoded), answering
 * {result, msg, code} with code 0 on success. A failure answers the HTTP status of its gRPC
 * code and {result: null, msg, code: <gRPC code>, reason}. The caller is a trusted
 * mini-program back end: it sends its app Bearer token and names the user by openId.
 */
import { randomUUID } from 'node:crypto';
import { points as pb, type CallOptions, type Clients } from '@huodong/clients';
import { badRequest, objectValue, stringParam, type SendFailure } from '../bridge/http.js';
import { bearer, routesFor, routeTable, type Params } from '../bridge/routes.js';
import type { EnumWords } from '../platform/words.js';
import { exchangesCsv } from './export-bridge.js';
import { BUTTONS, CYCLES, DIRECTIONS, LIMITS, MODELS, PRIZE_STATUSES, PRIZE_TYPES, RECORD_TYPES, SOURCES, TASK_STATUSES, TASK_TYPES } from './words.js';

type Body = Params;

/** How long timedTask waits for the daily job before answering `running` (the job goes on). */
const TIMED_TASK_ANSWER_MS = 3_000;

/** An enum parameter given by its legacy word; absent gives `fallback` (UNSPECIFIED is refused by the server where required). */
function enumParam<E extends number, D extends string | number>(body: Body, name: string, words: EnumWords<E, D>, fallback: E): E {
  const raw = stringParam(body, name);
  if (raw === undefined) return fallback;
  const value = words.fromWord(raw);
  if (value === undefined) throw badRequest(name, `must be one of ${words.words.join(', ')}`);
  return value;
}

/** An integer parameter as a decimal string; fractions and words are refused naming it. */
function intParam(body: Body, name: string, fallback = '0'): string {
  const raw = stringParam(body, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d{1,19}$/.test(raw)) throw badRequest(name, 'must be an integer');
  return raw;
}

/** int64 strings become JSON numbers while exact, as the legacy front ends expect. */
function n(value: string): number | string {
  const v = Number(value);
  return Number.isSafeInteger(v) ? v : value;
}

/** An object parameter (JSON, or JSON text in a form); absent is {}. */
function objectParam(body: Body, name: string): Body {
  const value = body[name];
  return value === undefined || value === null || value === '' ? {} : objectValue(value, name, 'must be an object');
}

const fail: SendFailure = (reply, err, httpStatus) =>
  reply.code(httpStatus).send({ result: null, msg: err.message, code: err.code, reason: err.reason });

function prizeView(p: pb.Prize | undefined): Body | null {
  if (p === undefined) return null;
  return {
    prizeId: p.prizeId,
    title: p.title,
    desc: p.description,
    icon: p.icon,
    faceValue: n(p.faceValue),
    total: n(p.total),
    totalRemaining: n(p.stock),
    type: PRIZE_TYPES.toDomain(p.type) ?? '',
    exchangeLimit: LIMITS.toDomain(p.exchangeLimit) ?? '',
    disabled: p.disabled,
    createdAt: p.createTime?.getTime() ?? null,
  };
}

function taskView(t: pb.Task | undefined): Body | null {
  if (t === undefined) return null;
  return {
    taskId: t.taskId,
    type: TASK_TYPES.toDomain(t.type) ?? '',
    cycle: t.cycle === undefined ? null : { title: t.cycle.title, type: CYCLES.legacyWord(t.cycle.type) ?? '', day: t.cycle.day },
    title: t.title,
    desc: t.description,
    btnTitle: t.button?.title ?? '',
    btnType: BUTTONS.toDomain(t.button?.type) ?? '',
    path: t.button?.path ?? '',
    imgUrl: t.button?.imageUrl ?? '',
    faceValue: n(t.faceValue),
    total: n(t.total),
    taskModel: MODELS.toDomain(t.model) ?? '',
    createdAt: t.createTime?.getTime() ?? null,
  };
}

function userTaskView(u: pb.UserTask): Body {
  return { ...taskView(u.task), currentTotal: n(u.currentTotal), status: TASK_STATUSES.toDomain(u.status) ?? 1 };
}

/**
 * A change record as seed 002 writes it: table 2's fields (openId, changeSource, isExpired,
 * remainingIntegral, expiredTime as a timestamp number) beside the changeRecord route's output
 * (desc, type, createdAt as a string, faceValue, changeStatus, userRemainingPoints). Times are
 * epoch milliseconds where the seed says number, as prizes' and tasks' createdAt are here;
 * createdAt stays the ISO 8601 string the route's output table asks for (docs/points.md).
 */
function recordView(r: pb.ChangeRecord, openId: string): Body {
  return {
    id: r.recordId,
    openId,
    desc: r.description,
    type: SOURCES.toDomain(r.source) ?? '',
    changeSource: SOURCES.legacyWord(r.source) ?? '',
    isExpired: r.expireTime !== undefined && r.expireTime.getTime() <= Date.now(),
    changeId: r.changeId,
    createdAt: r.createTime?.toISOString() ?? '',
    expiredTime: r.expireTime?.getTime() ?? null,
    // A credit's points not yet spent or expired; null for a debit.
    remainingIntegral: r.remainingPoints === undefined ? null : n(r.remainingPoints),
    faceValue: n(r.faceValue),
    changeStatus: Number(DIRECTIONS.legacyWord(r.direction) ?? 2),
    userRemainingPoints: n(r.balanceAfter),
    prizeType: PRIZE_TYPES.toDomain(r.prizeType) ?? '',
    prizeInfo:
      r.exchange === undefined
        ? null
        : {
            title: r.exchange.title,
            prizeImg: r.exchange.icon,
            address: r.exchange.shipping?.address ?? '',
            userName: r.exchange.shipping?.userName ?? '',
            telNumber: r.exchange.shipping?.tel ?? '',
          },
    taskInfo: r.taskTitle === '' ? null : { title: r.taskTitle },
  };
}

function exchangeView(e: pb.Exchange | undefined, balanceAfter: string): Body {
  return {
    exchangeId: e?.exchangeId ?? '',
    prizeId: e?.prizeId ?? '',
    title: e?.title ?? '',
    faceValue: n(e?.faceValue ?? '0'),
    userRemainingPoints: n(balanceAfter),
  };
}

/** Legacy callers send no idempotency key; one is made up for them so the call still works. */
const requestIdOf = (body: Body): string => stringParam(body, 'requestId') ?? randomUUID();
const openIdOf = (body: Body): string => stringParam(body, 'openId') ?? '';

function userPoints(r: pb.GetUserPointsResponse): Body {
  const expiry = (e: pb.Expiry): Body => ({ faceValue: n(e.points), expiredTime: e.expireTime?.toISOString() ?? '' });
  return {
    points: n(r.points),
    // Seed 002: an object; with nothing expiring, zero points and no time (it was null).
    expiredPointsInfo: r.nearestExpiry === undefined ? { faceValue: 0, expiredTime: '' } : expiry(r.nearestExpiry),
    upcomingExpiries: r.upcomingExpiries.map(expiry),
  };
}

function changeRecordsOf(body: Body): pb.ListChangeRecordsRequest {
  const type = RECORD_TYPES.fromWord(stringParam(body, 'type') ?? 'task');
  if (type === undefined) throw badRequest('type', 'must be task or exchange');
  return { openId: openIdOf(body), type, pageSize: Number(intParam(body, 'pageSize')), pageToken: stringParam(body, 'pageToken') ?? '' };
}

function legacyPrizes(r: pb.ListPrizesResponse): Body[] {
  return r.prizes.map((p) => ({
    ...prizeView(p.prize),
    // Seed: 0 exchangeable, 1 not (already exchanged in the period, or sold out).
    status: Number(PRIZE_STATUSES.legacyWord(p.status) ?? 1),
    soldOut: p.status === pb.PrizeStatus.PRIZE_STATUS_SOLD_OUT,
  }));
}

function exchangeOf(body: Body): pb.ExchangePrizeRequest {
  return {
    requestId: requestIdOf(body),
    openId: openIdOf(body),
    prizeId: stringParam(body, 'prizeId') ?? '',
    shipping: {
      address: stringParam(body, 'address') ?? '',
      userName: stringParam(body, 'userName') ?? '',
      tel: stringParam(body, 'telNumber') ?? stringParam(body, 'tel') ?? '',
    },
  };
}

type PointsApi = Clients['points'];

/**
 * The legacy route carries only the text, and SavePointsRule replaces the whole rule: the
 * per-source validity set over gRPC is sent back as it is, or every sign, invite and other
 * credit after this save would never expire. (A gRPC save between the read and the write
 * loses to this one; an update_mask on SavePointsRule would close that window.)
 */
async function savePointsRule(points: PointsApi, ruleDetail: string, options: CallOptions): Promise<pb.SavePointsRuleResponse> {
  const current = await points.getPointsRule({}, options);
  return points.savePointsRule({ ruleDetail, sourceExpiries: current.rule?.sourceExpiries ?? [] }, options);
}

function taskOf(body: Body): pb.SaveTaskRequest {
  const cycle = objectParam(body, 'cycle');
  return {
    task: {
      taskId: stringParam(body, 'taskId') ?? '',
      type: enumParam(body, 'type', TASK_TYPES, pb.TaskType.TASK_TYPE_UNSPECIFIED),
      cycle: {
        title: stringParam(cycle, 'title') ?? '',
        type: enumParam(cycle, 'type', CYCLES, pb.CycleType.CYCLE_TYPE_UNSPECIFIED),
        day: Number(intParam(cycle, 'day')),
      },
      title: stringParam(body, 'title') ?? '',
      description: stringParam(body, 'desc') ?? '',
      button: {
        title: stringParam(body, 'btnTitle') ?? '',
        type: enumParam(body, 'btnType', BUTTONS, pb.ButtonType.BUTTON_TYPE_UNSPECIFIED),
        path: stringParam(body, 'path') ?? '',
        imageUrl: stringParam(body, 'imgUrl') ?? '',
      },
      faceValue: intParam(body, 'faceValue'),
      total: intParam(body, 'total'),
      // The seed's saveTask omits taskModel; standard unless told.
      model: enumParam(body, 'taskModel', MODELS, pb.TaskModel.TASK_MODEL_STANDARD),
      createTime: undefined,
    },
  };
}

function prizeOf(body: Body): pb.SavePrizeRequest {
  // Seed 002: total is required; a missing one used to save a prize with no stock.
  if (stringParam(body, 'total') === undefined) throw badRequest('total', 'is required');
  return {
    prize: {
      prizeId: stringParam(body, 'prizeId') ?? '',
      faceValue: intParam(body, 'faceValue'),
      title: stringParam(body, 'title') ?? '',
      description: stringParam(body, 'desc') ?? '',
      icon: stringParam(body, 'icon') ?? '',
      total: intParam(body, 'total'),
      type: enumParam(body, 'type', PRIZE_TYPES, pb.PrizeType.PRIZE_TYPE_UNSPECIFIED),
      exchangeLimit: enumParam(body, 'exchangeLimit', LIMITS, pb.ExchangeLimit.EXCHANGE_LIMIT_UNSPECIFIED),
      disabled: body.disabled === true || body.disabled === 'true' || body.disabled === '1',
      stock: '0',
      createTime: undefined,
      updateTime: undefined,
    },
  };
}

/** setUserTaskStatus; completeNum '' when the caller left it out (see setUserTaskStatus). */
function taskStatusOf(body: Body): pb.SetUserTaskStatusRequest {
  return {
    openId: openIdOf(body),
    taskId: stringParam(body, 'taskId') ?? '',
    completeNum: intParam(body, 'completeNum', ''),
    status: enumParam(body, 'status', TASK_STATUSES, pb.TaskStatus.TASK_STATUS_UNSPECIFIED),
  };
}

/** A missing completeNum keeps the user's stored progress (it was taken as 0). */
async function setUserTaskStatus(points: PointsApi, request: pb.SetUserTaskStatusRequest, options: CallOptions): Promise<pb.SetUserTaskStatusResponse> {
  let completeNum = request.completeNum;
  if (completeNum === '') {
    const tasks = await points.listTasks({ openId: request.openId }, options);
    const mine = [...tasks.permanentTasks, ...tasks.cyclicTasks].find((u) => u.task?.taskId === request.taskId);
    completeNum = mine?.currentTotal ?? '0';
  }
  return points.setUserTaskStatus({ ...request, completeNum }, options);
}

function changeOf(body: Body): pb.ChangePointsRequest {
  const raw = intParam(body, 'faceValue');
  // Legacy callers debit with a negative faceValue, or say so with changeStatus 2 (seed
  // table 2: 1 add, 2 reduce), with or without the minus sign. A minus sign with changeStatus
  // 1 says both: which one was meant is unknowable, and guessing moves points the wrong way.
  const negative = raw.startsWith('-');
  const status = stringParam(body, 'changeStatus');
  if (status !== undefined && status !== '1' && status !== '2') throw badRequest('changeStatus', 'must be 1 (add) or 2 (reduce)');
  if (negative && status === '1') throw badRequest('faceValue', 'is negative (a debit) but changeStatus is 1 (add)');
  const debit = status === '2' || negative;
  // A retry without a key credited again (a fresh one was made up per call): the caller's
  // own requestId is required.
  const requestId = stringParam(body, 'requestId');
  if (requestId === undefined) throw badRequest('requestId', 'is required: a key of your own, unique per change, so a retry applies once');
  return {
    requestId,
    openId: openIdOf(body),
    direction: debit ? pb.ChangeDirection.CHANGE_DIRECTION_DEBIT : pb.ChangeDirection.CHANGE_DIRECTION_CREDIT,
    faceValue: negative ? raw.slice(1) : raw,
    source: enumParam(body, 'changeType', SOURCES, pb.PointsSource.POINTS_SOURCE_OTHER),
    changeId: stringParam(body, 'id') ?? '',
    description: stringParam(body, 'desc') ?? '',
    prizeType: enumParam(body, 'prizeType', PRIZE_TYPES, pb.PrizeType.PRIZE_TYPE_INTEGRAL),
  };
}

function dailyJob(r: pb.RunDailyJobResponse): Body {
  return {
    runDate: r.runDate,
    finished: r.finished,
    alreadyFinished: r.alreadyFinished,
    running: r.running,
    expiredLots: n(r.expiredLots),
    expiredPoints: n(r.expiredPoints),
    resetTasks: n(r.resetTasks),
  };
}

const { route, csvRoute } = routesFor<PointsApi, unknown>();

export const pointsBridge = routeTable({
  api: (clients) => clients.points,
  credential: bearer,
  envelope: { ok: (result) => ({ result, msg: 'success', code: 0 }), fail },
  routes: [
    csvRoute(exchangesCsv),
    route({ path: '/points/getUserPoints', toRequest: (p) => ({ openId: openIdOf(p) }), call: (pts, r, o) => pts.getUserPoints(r, o), toLegacy: userPoints }),
    route({
      path: '/points/changeRecord',
      toRequest: changeRecordsOf,
      call: (pts, r, o) => pts.listChangeRecords(r, o),
      toLegacy: (r, { openId }) => ({ list: r.records.map((record) => recordView(record, openId)), nextPageToken: r.nextPageToken }),
    }),
    route({ path: '/points/getPrizedsList', toRequest: (p) => ({ openId: openIdOf(p) }), call: (pts, r, o) => pts.listPrizes(r, o), toLegacy: legacyPrizes }),
    route({
      path: '/points/getTasksList',
      toRequest: (p) => ({ openId: openIdOf(p) }),
      call: (pts, r, o) => pts.listTasks(r, o),
      toLegacy: (r) => ({ permanentTask: r.permanentTasks.map(userTaskView), cyclicTask: r.cyclicTasks.map(userTaskView) }),
    }),
    route({ path: '/points/getPointsRule', toRequest: () => ({}), call: (pts, r, o) => pts.getPointsRule(r, o), toLegacy: (r) => ({ ruleDetail: r.rule?.ruleDetail ?? '' }) }),
    route({ path: '/points/exchangePrize', toRequest: exchangeOf, call: (pts, r, o) => pts.exchangePrize(r, o), toLegacy: (r) => exchangeView(r.exchange, r.balanceAfter) }),
    route({
      path: '/points/receiveTaskAward',
      toRequest: (p) => ({ requestId: requestIdOf(p), openId: openIdOf(p), taskId: stringParam(p, 'taskId') ?? '' }),
      call: (pts, r, o) => pts.receiveTaskAward(r, o),
      toLegacy: () => true,
    }),
    route({ path: '/points/savePointsRule', toRequest: (p) => stringParam(p, 'ruleDetail') ?? '', call: savePointsRule, toLegacy: (r) => ({ ruleDetail: r.rule?.ruleDetail ?? '' }) }),
    route({ path: '/points/saveTask', toRequest: taskOf, call: (pts, r, o) => pts.saveTask(r, o), toLegacy: (r) => taskView(r.task) }),
    route({ path: '/points/savePrize', toRequest: prizeOf, call: (pts, r, o) => pts.savePrize(r, o), toLegacy: (r) => prizeView(r.prize) }),
    route({
      path: '/points/setUserTaskStatus',
      toRequest: taskStatusOf,
      call: setUserTaskStatus,
      toLegacy: (r) => (r.userTask === undefined ? null : userTaskView(r.userTask)),
    }),
    route({
      path: '/points/changePoints',
      toRequest: changeOf,
      call: (pts, r, o) => pts.changePoints(r, o),
      toLegacy: (r, { openId }) => (r.record === undefined ? null : recordView(r.record, openId)),
    }),
    route({ path: '/points/getPrizeById', toRequest: (p) => ({ prizeId: stringParam(p, 'id') ?? '' }), call: (pts, r, o) => pts.getPrize(r, o), toLegacy: (r) => prizeView(r.prize) }),
    route({ path: '/points/getTaskById', toRequest: (p) => ({ taskId: stringParam(p, 'id') ?? '' }), call: (pts, r, o) => pts.getTask(r, o), toLegacy: (r) => taskView(r.task) }),
    /**
     * The seed's cron calls this at 00:00 and waits for an answer. A day of many users takes
     * longer than a cron or proxy waits, so the call answers within TIMED_TASK_ANSWER_MS: the
     * day's result, or `running: true` with the counts so far while the job goes on (a later
     * call reports the day).
     */
    route({
      path: '/points/timedTask',
      toRequest: () => ({}),
      call: (pts, r, o) => pts.runDailyJob(r, { ...o, deadlineMs: TIMED_TASK_ANSWER_MS }),
      toLegacy: dailyJob,
    }),
    route({
      path: '/points/send_prize',
      toRequest: (p) => ({ requestId: requestIdOf(p), openId: openIdOf(p), prizeId: stringParam(p, 'prizeId') ?? '', faceValue: intParam(p, 'faceValue') }),
      call: (pts, r, o) => pts.sendPrize(r, o),
      toLegacy: (r) => exchangeView(r.exchange, r.balanceAfter),
    }),
  ],
});
