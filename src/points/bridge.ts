/**
 * Seed 002's legacy routes: POST /points/<method> (JSON or urlencoded), answering
 * {result, msg, code} with code 0 on success. A failure answers the HTTP status of its gRPC
 * code and {result: null, msg, code: <gRPC code>, reason}. The caller is a trusted
 * mini-program back end: it sends its app Bearer token and names the user by openId.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { points as pb } from '@huodong/clients';
import type { BridgeClients } from '../platform/area.js';
import { badRequest, bodyOf, callOptions, routeErrorHandler, stringParam, type SendFailure } from '../bridge/http.js';
import type { Config } from '../platform/config.js';
import { pointsExportRoutes } from './export-bridge.js';

type Body = Record<string, unknown>;

/** How long timedTask waits for the daily job before answering `running` (the job goes on). */
const TIMED_TASK_ANSWER_MS = 3_000;

const SOURCE_WORDS: Record<string, pb.PointsSource> = {
  task: pb.PointsSource.POINTS_SOURCE_TASK,
  exchange: pb.PointsSource.POINTS_SOURCE_EXCHANGE,
  other: pb.PointsSource.POINTS_SOURCE_OTHER,
  sign: pb.PointsSource.POINTS_SOURCE_SIGN,
  invite: pb.PointsSource.POINTS_SOURCE_INVITE,
  inviting: pb.PointsSource.POINTS_SOURCE_INVITE,
  expiredTask: pb.PointsSource.POINTS_SOURCE_EXPIRED_TASK,
};
const PRIZE_WORDS: Record<string, pb.PrizeType> = {
  integral: pb.PrizeType.PRIZE_TYPE_INTEGRAL,
  goods: pb.PrizeType.PRIZE_TYPE_GOODS,
  virtualGoods: pb.PrizeType.PRIZE_TYPE_VIRTUAL_GOODS,
};
const LIMIT_WORDS: Record<string, pb.ExchangeLimit> = {
  day: pb.ExchangeLimit.EXCHANGE_LIMIT_DAY,
  week: pb.ExchangeLimit.EXCHANGE_LIMIT_WEEK,
  month: pb.ExchangeLimit.EXCHANGE_LIMIT_MONTH,
  once: pb.ExchangeLimit.EXCHANGE_LIMIT_ONCE,
};
const TASK_TYPE_WORDS: Record<string, pb.TaskType> = {
  permanentTask: pb.TaskType.TASK_TYPE_PERMANENT,
  cyclicTask: pb.TaskType.TASK_TYPE_CYCLIC,
};
// The seed names cycle types in Chinese; the English words are accepted as well.
const CYCLE_WORDS: Record<string, pb.CycleType> = {
  day: pb.CycleType.CYCLE_TYPE_DAY,
  每天: pb.CycleType.CYCLE_TYPE_DAY,
  week: pb.CycleType.CYCLE_TYPE_WEEK,
  每周: pb.CycleType.CYCLE_TYPE_WEEK,
  month: pb.CycleType.CYCLE_TYPE_MONTH,
  每月: pb.CycleType.CYCLE_TYPE_MONTH,
  weekday: pb.CycleType.CYCLE_TYPE_WEEKDAY,
  每周X: pb.CycleType.CYCLE_TYPE_WEEKDAY,
  monthDay: pb.CycleType.CYCLE_TYPE_MONTH_DAY,
  每月X: pb.CycleType.CYCLE_TYPE_MONTH_DAY,
};
/** Answers use the seed's words (每天, 每周, 每月, 每周X, 每月X), as legacy callers send them. */
const CYCLE_SEED_WORDS: Record<string, pb.CycleType> = {
  每天: pb.CycleType.CYCLE_TYPE_DAY,
  每周: pb.CycleType.CYCLE_TYPE_WEEK,
  每月: pb.CycleType.CYCLE_TYPE_MONTH,
  每周X: pb.CycleType.CYCLE_TYPE_WEEKDAY,
  每月X: pb.CycleType.CYCLE_TYPE_MONTH_DAY,
};
const BUTTON_WORDS: Record<string, pb.ButtonType> = {
  route: pb.ButtonType.BUTTON_TYPE_ROUTE,
  qrCode: pb.ButtonType.BUTTON_TYPE_QR_CODE,
  customize: pb.ButtonType.BUTTON_TYPE_CUSTOMIZE,
};
const MODEL_WORDS: Record<string, pb.TaskModel> = {
  standard: pb.TaskModel.TASK_MODEL_STANDARD,
  progress: pb.TaskModel.TASK_MODEL_PROGRESS,
};
// Seed table 6 is canonical: 0 to claim, 1 in progress, 2 done (its API text says 1/2/3).
const STATUS_WORDS: Record<string, pb.TaskStatus> = {
  '0': pb.TaskStatus.TASK_STATUS_TO_CLAIM,
  '1': pb.TaskStatus.TASK_STATUS_IN_PROGRESS,
  '2': pb.TaskStatus.TASK_STATUS_DONE,
};

function wordOf<E>(words: Record<string, E>, value: E, fallback = ''): string {
  return Object.entries(words).find(([, v]) => v === value)?.[0] ?? fallback;
}

/** An enum parameter given by its legacy word; absent gives the proto default (refused by the server where required). */
function enumParam<E>(body: Body, name: string, words: Record<string, E>, fallback: E): E {
  const raw = stringParam(body, name);
  if (raw === undefined) return fallback;
  const value = words[raw];
  if (value === undefined) throw badRequest(name, `must be one of ${Object.keys(words).join(', ')}`);
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

function objectParam(body: Body, name: string): Body {
  let v = body[name];
  if (v === undefined || v === null || v === '') return {};
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v) as unknown;
    } catch {
      throw badRequest(name, 'is not valid JSON');
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest(name, 'must be an object');
  return v as Body;
}

const fail: SendFailure = (reply, err, httpStatus) =>
  reply.code(httpStatus).send({ result: null, msg: err.message, code: err.code, reason: err.reason });

const ok = (result: unknown): { result: unknown; msg: string; code: number } => ({ result, msg: 'success', code: 0 });

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
    type: wordOf(PRIZE_WORDS, p.type),
    exchangeLimit: wordOf(LIMIT_WORDS, p.exchangeLimit),
    disabled: p.disabled,
    createdAt: p.createTime?.getTime() ?? null,
  };
}

function taskView(t: pb.Task | undefined): Body | null {
  if (t === undefined) return null;
  return {
    taskId: t.taskId,
    type: wordOf(TASK_TYPE_WORDS, t.type),
    cycle: t.cycle === undefined ? null : { title: t.cycle.title, type: wordOf(CYCLE_SEED_WORDS, t.cycle.type), day: t.cycle.day },
    title: t.title,
    desc: t.description,
    btnTitle: t.button?.title ?? '',
    btnType: wordOf(BUTTON_WORDS, t.button?.type),
    path: t.button?.path ?? '',
    imgUrl: t.button?.imageUrl ?? '',
    faceValue: n(t.faceValue),
    total: n(t.total),
    taskModel: wordOf(MODEL_WORDS, t.model),
    createdAt: t.createTime?.getTime() ?? null,
  };
}

function userTaskView(u: pb.UserTask): Body {
  return { ...taskView(u.task), currentTotal: n(u.currentTotal), status: Number(wordOf(STATUS_WORDS, u.status, '1')) };
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
    type: wordOf(SOURCE_WORDS, r.source),
    changeSource: r.source === pb.PointsSource.POINTS_SOURCE_INVITE ? 'inviting' : wordOf(SOURCE_WORDS, r.source),
    isExpired: r.expireTime !== undefined && r.expireTime.getTime() <= Date.now(),
    changeId: r.changeId,
    createdAt: r.createTime?.toISOString() ?? '',
    expiredTime: r.expireTime?.getTime() ?? null,
    // A credit's points not yet spent or expired; null for a debit.
    remainingIntegral: r.remainingPoints === undefined ? null : n(r.remainingPoints),
    faceValue: n(r.faceValue),
    changeStatus: r.direction === pb.ChangeDirection.CHANGE_DIRECTION_CREDIT ? 1 : 2,
    userRemainingPoints: n(r.balanceAfter),
    prizeType: wordOf(PRIZE_WORDS, r.prizeType),
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

export function pointsBridge(app: FastifyInstance, { caller, internal }: BridgeClients, config: Config): void {
  pointsExportRoutes(app, { caller, internal }, config, fail);
  const route = (method: string, handle: (body: Body, request: FastifyRequest) => Promise<unknown>): void => {
    app.post(`/points/${method}`, { errorHandler: routeErrorHandler(fail) }, async (request) => ok(await handle(bodyOf(request), request)));
  };
  const points = caller.points;

  route('getUserPoints', async (body, request) => {
    const r = await points.getUserPoints({ openId: openIdOf(body) }, callOptions(request));
    const expiry = (e: pb.Expiry): Body => ({ faceValue: n(e.points), expiredTime: e.expireTime?.toISOString() ?? '' });
    return {
      points: n(r.points),
      // Seed 002: an object; with nothing expiring, zero points and no time (it was null).
      expiredPointsInfo: r.nearestExpiry === undefined ? { faceValue: 0, expiredTime: '' } : expiry(r.nearestExpiry),
      upcomingExpiries: r.upcomingExpiries.map(expiry),
    };
  });

  route('changeRecord', async (body, request) => {
    const type = stringParam(body, 'type') ?? 'task';
    if (type !== 'task' && type !== 'exchange') throw badRequest('type', 'must be task or exchange');
    const r = await points.listChangeRecords(
      {
        openId: openIdOf(body),
        type: type === 'task' ? pb.ChangeRecordType.CHANGE_RECORD_TYPE_TASK : pb.ChangeRecordType.CHANGE_RECORD_TYPE_EXCHANGE,
        pageSize: Number(intParam(body, 'pageSize')),
        pageToken: stringParam(body, 'pageToken') ?? '',
      },
      callOptions(request),
    );
    const openId = openIdOf(body);
    return { list: r.records.map((record) => recordView(record, openId)), nextPageToken: r.nextPageToken };
  });

  route('getPrizedsList', async (body, request) => {
    const r = await points.listPrizes({ openId: openIdOf(body) }, callOptions(request));
    return r.prizes.map((p) => ({
      ...prizeView(p.prize),
      // Seed: 0 exchangeable, 1 not (already exchanged in the period, or sold out).
      status: p.status === pb.PrizeStatus.PRIZE_STATUS_EXCHANGEABLE ? 0 : 1,
      soldOut: p.status === pb.PrizeStatus.PRIZE_STATUS_SOLD_OUT,
    }));
  });

  route('getTasksList', async (body, request) => {
    const r = await points.listTasks({ openId: openIdOf(body) }, callOptions(request));
    return { permanentTask: r.permanentTasks.map(userTaskView), cyclicTask: r.cyclicTasks.map(userTaskView) };
  });

  route('getPointsRule', async (_body, request) => {
    const r = await points.getPointsRule({}, callOptions(request));
    return { ruleDetail: r.rule?.ruleDetail ?? '' };
  });

  route('exchangePrize', async (body, request) => {
    const r = await points.exchangePrize(
      {
        requestId: requestIdOf(body),
        openId: openIdOf(body),
        prizeId: stringParam(body, 'prizeId') ?? '',
        shipping: {
          address: stringParam(body, 'address') ?? '',
          userName: stringParam(body, 'userName') ?? '',
          tel: stringParam(body, 'telNumber') ?? stringParam(body, 'tel') ?? '',
        },
      },
      callOptions(request),
    );
    return exchangeView(r.exchange, r.balanceAfter);
  });

  route('receiveTaskAward', async (body, request) => {
    await points.receiveTaskAward(
      { requestId: requestIdOf(body), openId: openIdOf(body), taskId: stringParam(body, 'taskId') ?? '' },
      callOptions(request),
    );
    return true;
  });

  route('savePointsRule', async (body, request) => {
    // The legacy route carries only the text, and SavePointsRule replaces the whole rule: the
    // per-source validity set over gRPC is sent back as it is, or every sign, invite and other
    // credit after this save would never expire. (A gRPC save between the read and the write
    // loses to this one; an update_mask on SavePointsRule would close that window.)
    const options = callOptions(request);
    const current = await points.getPointsRule({}, options);
    const r = await points.savePointsRule(
      { ruleDetail: stringParam(body, 'ruleDetail') ?? '', sourceExpiries: current.rule?.sourceExpiries ?? [] },
      options,
    );
    return { ruleDetail: r.rule?.ruleDetail ?? '' };
  });

  route('saveTask', async (body, request) => {
    const cycle = objectParam(body, 'cycle');
    const r = await points.saveTask(
      {
        task: {
          taskId: stringParam(body, 'taskId') ?? '',
          type: enumParam(body, 'type', TASK_TYPE_WORDS, pb.TaskType.TASK_TYPE_UNSPECIFIED),
          cycle: {
            title: stringParam(cycle, 'title') ?? '',
            type: enumParam(cycle, 'type', CYCLE_WORDS, pb.CycleType.CYCLE_TYPE_UNSPECIFIED),
            day: Number(intParam(cycle, 'day')),
          },
          title: stringParam(body, 'title') ?? '',
          description: stringParam(body, 'desc') ?? '',
          button: {
            title: stringParam(body, 'btnTitle') ?? '',
            type: enumParam(body, 'btnType', BUTTON_WORDS, pb.ButtonType.BUTTON_TYPE_UNSPECIFIED),
            path: stringParam(body, 'path') ?? '',
            imageUrl: stringParam(body, 'imgUrl') ?? '',
          },
          faceValue: intParam(body, 'faceValue'),
          total: intParam(body, 'total'),
          // The seed's saveTask omits taskModel; standard unless told.
          model: enumParam(body, 'taskModel', MODEL_WORDS, pb.TaskModel.TASK_MODEL_STANDARD),
          createTime: undefined,
        },
      },
      callOptions(request),
    );
    return taskView(r.task);
  });

  route('savePrize', async (body, request) => {
    // Seed 002: total is required; a missing one used to save a prize with no stock.
    if (stringParam(body, 'total') === undefined) throw badRequest('total', 'is required');
    const r = await points.savePrize(
      {
        prize: {
          prizeId: stringParam(body, 'prizeId') ?? '',
          faceValue: intParam(body, 'faceValue'),
          title: stringParam(body, 'title') ?? '',
          description: stringParam(body, 'desc') ?? '',
          icon: stringParam(body, 'icon') ?? '',
          total: intParam(body, 'total'),
          type: enumParam(body, 'type', PRIZE_WORDS, pb.PrizeType.PRIZE_TYPE_UNSPECIFIED),
          exchangeLimit: enumParam(body, 'exchangeLimit', LIMIT_WORDS, pb.ExchangeLimit.EXCHANGE_LIMIT_UNSPECIFIED),
          disabled: body.disabled === true || body.disabled === 'true' || body.disabled === '1',
          stock: '0',
          createTime: undefined,
          updateTime: undefined,
        },
      },
      callOptions(request),
    );
    return prizeView(r.prize);
  });

  route('setUserTaskStatus', async (body, request) => {
    const taskId = stringParam(body, 'taskId') ?? '';
    let completeNum = intParam(body, 'completeNum', '');
    if (completeNum === '') {
      // A missing completeNum keeps the user's stored progress (it was taken as 0).
      const tasks = await points.listTasks({ openId: openIdOf(body) }, callOptions(request));
      const mine = [...tasks.permanentTasks, ...tasks.cyclicTasks].find((u) => u.task?.taskId === taskId);
      completeNum = mine?.currentTotal ?? '0';
    }
    const r = await points.setUserTaskStatus(
      {
        openId: openIdOf(body),
        taskId,
        completeNum,
        status: enumParam(body, 'status', STATUS_WORDS, pb.TaskStatus.TASK_STATUS_UNSPECIFIED),
      },
      callOptions(request),
    );
    return r.userTask === undefined ? null : userTaskView(r.userTask);
  });

  route('changePoints', async (body, request) => {
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
    const r = await points.changePoints(
      {
        requestId,
        openId: openIdOf(body),
        direction: debit ? pb.ChangeDirection.CHANGE_DIRECTION_DEBIT : pb.ChangeDirection.CHANGE_DIRECTION_CREDIT,
        faceValue: negative ? raw.slice(1) : raw,
        source: enumParam(body, 'changeType', SOURCE_WORDS, pb.PointsSource.POINTS_SOURCE_OTHER),
        changeId: stringParam(body, 'id') ?? '',
        description: stringParam(body, 'desc') ?? '',
        prizeType: enumParam(body, 'prizeType', PRIZE_WORDS, pb.PrizeType.PRIZE_TYPE_INTEGRAL),
      },
      callOptions(request),
    );
    return r.record === undefined ? null : recordView(r.record, openIdOf(body));
  });

  route('getPrizeById', async (body, request) => {
    const r = await points.getPrize({ prizeId: stringParam(body, 'id') ?? '' }, callOptions(request));
    return prizeView(r.prize);
  });

  route('getTaskById', async (body, request) => {
    const r = await points.getTask({ taskId: stringParam(body, 'id') ?? '' }, callOptions(request));
    return taskView(r.task);
  });

  // The seed's cron calls this at 00:00 and waits for an answer. A day of many users takes longer
  // than a cron or proxy waits, so the call answers within TIMED_TASK_ANSWER_MS: the day's
  // result, or `running: true` with the counts so far while the job goes on (a later call
  // reports the day).
  route('timedTask', async (_body, request) => {
    const r = await points.runDailyJob({}, { ...callOptions(request), deadlineMs: TIMED_TASK_ANSWER_MS });
    return {
      runDate: r.runDate,
      finished: r.finished,
      alreadyFinished: r.alreadyFinished,
      running: r.running,
      expiredLots: n(r.expiredLots),
      expiredPoints: n(r.expiredPoints),
      resetTasks: n(r.resetTasks),
    };
  });

  route('send_prize', async (body, request) => {
    const r = await points.sendPrize(
      {
        requestId: requestIdOf(body),
        openId: openIdOf(body),
        prizeId: stringParam(body, 'prizeId') ?? '',
        faceValue: intParam(body, 'faceValue'),
      },
      callOptions(request),
    );
    return exchangeView(r.exchange, r.balanceAfter);
  });
}
