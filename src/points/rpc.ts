/** Proto <-> domain for PointsCenterService; no rules here. */
import {
  PointsCenterServiceDefinition,
  PrizeType,
  type ChangeRecord,
  type Exchange,
  type PointsRule,
  type Prize,
  type Task,
  type UserTask,
} from '../gen/huodong/points/v1/points.js';
import { approximateBytes, chunkBySize } from '../platform/export.js';
import { keyOwner } from '../platform/owner.js';
import { defineService, type CallContext, type ServiceRegistration } from '../platform/rpc.js';
import { ANSWER_MARGIN_MS, type DailyJob } from './job.js';
import type { PointsExchange, PointsPrize, PointsTask } from './model.js';
import type { PointsService, RecordView, RuleView, UserTaskView } from './service.js';
import { BUTTONS, CYCLES, DIRECTIONS, LIMITS, MODELS, PRIZE_STATUSES, PRIZE_TYPES, RECORD_TYPES, SOURCES, TASK_STATUSES, TASK_TYPES } from './words.js';

const str = (v: unknown): string => String(v);
const date = (ms: unknown): Date => new Date(Number(ms));

function exchangeOf(e: PointsExchange): Exchange {
  return {
    exchangeId: e.id,
    openId: e.openId,
    prizeId: e.prizeId,
    title: e.title,
    icon: e.icon,
    faceValue: str(e.faceValue),
    type: PRIZE_TYPES.toProto(e.type),
    shipping: { address: e.address, userName: e.userName, tel: e.tel },
    periodKey: e.periodKey,
    createTime: date(e.createdAt),
  };
}

function recordOf({ record: r, remaining }: RecordView, exchange?: PointsExchange): ChangeRecord {
  return {
    recordId: r.id,
    direction: DIRECTIONS.toProto(r.direction),
    source: SOURCES.toProto(r.source),
    faceValue: str(r.faceValue),
    balanceAfter: str(r.balanceAfter),
    description: r.description,
    changeId: r.changeId,
    prizeType: PRIZE_TYPES.toProto(r.prizeType),
    createTime: date(r.createdAt),
    expireTime: r.expiresAt === undefined ? undefined : date(r.expiresAt),
    exchange: exchange === undefined ? undefined : exchangeOf(exchange),
    taskTitle: r.taskTitle,
    remainingPoints: remaining?.toString(),
  };
}

function prizeOf(p: PointsPrize): Prize {
  return {
    prizeId: p.prizeId,
    faceValue: str(p.faceValue),
    title: p.title,
    description: p.description,
    icon: p.icon,
    total: str(p.total),
    stock: str(p.stock),
    type: PRIZE_TYPES.toProto(p.type),
    exchangeLimit: LIMITS.toProto(p.exchangeLimit),
    disabled: p.disabled,
    createTime: date(p.createdAt),
    updateTime: date(p.updatedAt),
  };
}

function taskOf(t: PointsTask): Task {
  return {
    taskId: t.taskId,
    type: TASK_TYPES.toProto(t.type),
    cycle: t.cycle === undefined ? undefined : { title: t.cycleTitle, type: CYCLES.toProto(t.cycle.kind), day: t.cycle.day },
    title: t.title,
    description: t.description,
    button: { title: t.button.title, type: BUTTONS.toProto(t.button.type), path: t.button.path, imageUrl: t.button.imageUrl },
    faceValue: str(t.faceValue),
    total: str(t.total),
    model: MODELS.toProto(t.model),
    createTime: date(t.createdAt),
  };
}

function userTaskOf(v: UserTaskView): UserTask {
  return { task: taskOf(v.task), currentTotal: v.currentTotal.toString(), status: TASK_STATUSES.toProto(v.status) };
}

function ruleOf(r: RuleView): PointsRule {
  return {
    ruleDetail: r.detail,
    sourceExpiries: r.expiries.map((e) => ({ source: SOURCES.toProto(e.source), validityDays: e.days })),
    updateTime: r.updatedAt === undefined ? undefined : date(r.updatedAt),
  };
}

/**
 * The owner of the call's request ids: the calling app, or the legacy principal a `points.admin`
 * caller names in `huodong-on-behalf-of` (platform/owner.ts).
 */
const ownerOf = (ctx: CallContext): string => keyOwner(ctx, 'points.admin').id;

export function pointsRpc(service: PointsService, job: DailyJob): ServiceRegistration {
  return defineService({
    definition: PointsCenterServiceDefinition,
    scopes: {
      getUserPoints: 'points',
      listChangeRecords: 'points',
      listPrizes: 'points',
      listTasks: 'points',
      getPointsRule: 'points',
      exchangePrize: 'points',
      receiveTaskAward: 'points',
      savePointsRule: 'points.admin',
      saveTask: 'points.admin',
      savePrize: 'points.admin',
      setUserTaskStatus: 'points.admin',
      changePoints: 'points.admin',
      getPrize: 'points.admin',
      getTask: 'points.admin',
      runDailyJob: 'points.admin',
      sendPrize: 'points.admin',
      exportExchangesToShip: 'points.admin',
    },
    handlers: {
      async getUserPoints(request) {
        const { points, expiries } = await service.getUserPoints(request.openId);
        const upcoming = expiries.map((e) => ({ points: e.points.toString(), expireTime: date(e.at) }));
        return { points: points.toString(), nearestExpiry: upcoming[0], upcomingExpiries: upcoming };
      },
      async listChangeRecords(request) {
        const type = RECORD_TYPES.toDomain(request.type);
        const page = await service.listChangeRecords(request.openId, type, request.pageSize, request.pageToken);
        return { records: page.records.map((r) => recordOf(r, r.exchange)), nextPageToken: page.nextPageToken };
      },
      async listPrizes(request) {
        const prizes = await service.listPrizes(request.openId);
        return { prizes: prizes.map((p) => ({ prize: prizeOf(p.prize), status: PRIZE_STATUSES.toProto(p.status) })) };
      },
      async listTasks(request) {
        const { permanent, cyclic } = await service.listTasks(request.openId);
        return { permanentTasks: permanent.map(userTaskOf), cyclicTasks: cyclic.map(userTaskOf) };
      },
      async getPointsRule() {
        return { rule: ruleOf(await service.getRule()) };
      },
      async exchangePrize(request, ctx) {
        const { exchange, record } = await service.exchangePrize(
          {
            requestId: request.requestId,
            openId: request.openId,
            prizeId: request.prizeId,
            address: request.shipping?.address ?? '',
            userName: request.shipping?.userName ?? '',
            tel: request.shipping?.tel ?? '',
          },
          ownerOf(ctx),
        );
        return { exchange: exchangeOf(exchange), balanceAfter: str(record.balanceAfter) };
      },
      async receiveTaskAward(request, ctx) {
        return { record: recordOf(await service.receiveTaskAward(request, ownerOf(ctx))) };
      },
      async savePointsRule(request) {
        const rule = await service.savePointsRule(
          request.ruleDetail,
          request.sourceExpiries.map((e) => ({ source: SOURCES.toDomain(e.source), days: e.validityDays })),
        );
        return { rule: ruleOf(rule) };
      },
      async saveTask(request) {
        const t = request.task;
        const saved = await service.saveTask({
          taskId: t?.taskId ?? '',
          type: t === undefined ? undefined : TASK_TYPES.toDomain(t.type),
          cycleTitle: t?.cycle?.title ?? '',
          cycleType: t?.cycle === undefined ? undefined : CYCLES.toDomain(t.cycle.type),
          cycleDay: t?.cycle?.day ?? 0,
          title: t?.title ?? '',
          description: t?.description ?? '',
          btnTitle: t?.button?.title ?? '',
          btnType: t?.button === undefined ? undefined : BUTTONS.toDomain(t.button.type),
          path: t?.button?.path ?? '',
          imgUrl: t?.button?.imageUrl ?? '',
          faceValue: t?.faceValue ?? '0',
          total: t?.total ?? '0',
          model: t === undefined ? undefined : MODELS.toDomain(t.model),
        });
        return { task: taskOf(saved) };
      },
      async savePrize(request) {
        const p = request.prize;
        const saved = await service.savePrize({
          prizeId: p?.prizeId ?? '',
          faceValue: p?.faceValue ?? '0',
          title: p?.title ?? '',
          description: p?.description ?? '',
          icon: p?.icon ?? '',
          total: p?.total ?? '0',
          type: p === undefined ? undefined : PRIZE_TYPES.toDomain(p.type),
          exchangeLimit: p === undefined ? undefined : LIMITS.toDomain(p.exchangeLimit),
          disabled: p?.disabled ?? false,
        });
        return { prize: prizeOf(saved) };
      },
      async setUserTaskStatus(request) {
        const view = await service.setUserTaskStatus({
          openId: request.openId,
          taskId: request.taskId,
          completeNum: request.completeNum,
          status: TASK_STATUSES.toDomain(request.status),
        });
        return { userTask: userTaskOf(view) };
      },
      async changePoints(request, ctx) {
        const record = await service.changePoints(
          {
            requestId: request.requestId,
            openId: request.openId,
            direction: DIRECTIONS.toDomain(request.direction),
            faceValue: request.faceValue,
            source: SOURCES.toDomain(request.source),
            changeId: request.changeId,
            description: request.description,
            prizeType: request.prizeType === PrizeType.PRIZE_TYPE_UNSPECIFIED ? undefined : PRIZE_TYPES.toDomain(request.prizeType),
          },
          ownerOf(ctx),
        );
        return { record: recordOf(record) };
      },
      async getPrize(request) {
        return { prize: prizeOf(await service.getPrize(request.prizeId)) };
      },
      async getTask(request) {
        return { task: taskOf(await service.getTask(request.taskId)) };
      },
      async runDailyJob(request, context) {
        const r = await job.runWithin(Math.max(0, request.batchLimit), context.deadline - ANSWER_MARGIN_MS);
        return {
          runDate: r.runDate,
          finished: r.finished,
          alreadyFinished: r.alreadyFinished,
          running: r.running,
          expiredLots: r.expiredLots.toString(),
          expiredPoints: r.expiredPoints.toString(),
          resetTasks: r.resetTasks.toString(),
        };
      },
      async sendPrize(request, ctx) {
        const { exchange, record } = await service.sendPrize(request, ownerOf(ctx));
        return { exchange: exchangeOf(exchange), balanceAfter: str(record.balanceAfter) };
      },
      async *exportExchangesToShip(request, ctx) {
        for await (const page of service.exportExchangesToShip(request.afterExchangeId, ctx.signal)) {
          for (const rows of chunkBySize(page, approximateBytes)) yield { exchanges: rows.map(exchangeOf) };
        }
      },
    },
  });
}
