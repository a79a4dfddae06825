/** Proto <-> domain for MemberService; no rules here. */
import {
  MemberServiceDefinition,
  SortOrder,
  type GradeConfig,
  type Order,
  type TaskConfig,
  type UserInfo,
} from '../gen/huodong/member/v1/member.js';
import { keyOwner } from '../platform/owner.js';
import { defineService, type CallContext, type ServiceRegistration } from '../platform/rpc.js';
import { errors } from './errors.js';
import { formatHundredths } from './money.js';
import type { ApiSwitch, CpointOrder, Grade, Task, User } from './model.js';
import { formatSteps } from './rules.js';
import type { Caller, MemberService, TaskResult } from './service.js';
import { ORDER_STATUSES, SORT_FIELDS, SORT_ORDERS } from './words.js';

export const MEMBER_METHODS: ReadonlySet<string> = new Set(Object.values(MemberServiceDefinition.methods).map((m) => m.name));

const fromUnix = (seconds: number): Date => new Date(seconds * 1000);

function toOrder(o: CpointOrder): Order {
  return {
    orderId: o.orderId,
    uid: o.uid,
    cpoint: formatHundredths(o.cpoint),
    status: ORDER_STATUSES.toProto(o.status),
    revokedCpoint: formatHundredths(o.revokedCpoint),
    createTime: fromUnix(o.createdAt),
    updateTime: fromUnix(o.updatedAt),
  };
}

const cap = (v: number): string => (v < 0 ? '-1' : formatHundredths(v));

export function toTaskConfig(t: Task): TaskConfig {
  return {
    id: t.id,
    op: t.op,
    name: t.name,
    desc: t.desc,
    score: formatHundredths(t.score),
    cpoint: formatHundredths(t.cpoint),
    stepScore: formatSteps(t.stepScore),
    stepCpoint: formatSteps(t.stepCpoint),
    status: t.status,
    sTime: t.sTime > 0 ? fromUnix(t.sTime) : undefined,
    eTime: t.eTime > 0 ? fromUnix(t.eTime) : undefined,
    sGrade: t.sGrade,
    eGrade: t.eGrade,
    batch: t.batch,
    repeat: t.repeat,
    rFlag: t.rFlag,
    rRatio: t.rRatio,
    rCount: t.rCount,
    rCpoint: cap(t.rCpoint),
    rScore: cap(t.rScore),
    rFilter: t.rFilter,
    rStep: t.rStep,
    uTime: fromUnix(t.uTime),
  };
}

const toGrade = (g: Grade): GradeConfig => ({ grade: g.grade, score: formatHundredths(g.score) });

const toUserInfo = (u: User): UserInfo => ({
  uid: u.uid,
  cpoint: formatHundredths(u.cpoint),
  score: formatHundredths(u.score),
  grade: u.grade,
});

const toSwitch = (s: ApiSwitch): { method: string; closed: boolean; updatedBy: string; updateTime: Date } => ({
  method: s.method,
  closed: s.closed,
  updatedBy: s.updatedBy,
  updateTime: fromUnix(s.updatedAt),
});

function toTaskResponse(r: TaskResult): {
  code: number;
  cpoint: string;
  score: string;
  newCpoint: string;
  newScore: string;
  grades: GradeConfig[];
  rule: string;
  grade: number;
} {
  return {
    code: r.code,
    cpoint: formatHundredths(r.cpoint),
    score: formatHundredths(r.score),
    newCpoint: formatHundredths(r.user.cpoint),
    newScore: formatHundredths(r.user.score),
    grades: r.grades.map(toGrade),
    rule: r.code === 0 ? '' : r.rule,
    grade: r.user.grade,
  };
}

/**
 * The owner of the call's keys (the app, or the legacy app the bridge relays) and the journal's
 * source, which names that legacy app rather than the bridge.
 */
function callerOf(ctx: CallContext): Caller {
  const owner = keyOwner(ctx, 'member.admin');
  return { owner, source: ctx.onBehalfOf === undefined ? ctx.app.name : owner.id };
}

export function memberRpc(service: MemberService): ServiceRegistration {
  return defineService({
    definition: MemberServiceDefinition,
    scopes: {
      getCpoint: 'member',
      adminAddCpoint: 'member.admin',
      adminReduceCpoint: 'member.admin',
      consumeCpoint: 'member',
      checkConsume: 'member',
      revokeConsume: 'member',
      listOrders: 'member',
      listTaskConfigs: 'member',
      updateTaskConfig: 'member.admin',
      listGradeConfigs: 'member',
      updateGradeConfigs: 'member.admin',
      batchGetUserInfo: 'member',
      listUsersSorted: 'member',
      submitTask: 'member',
      setApiSwitch: 'member.admin',
      listApiSwitches: 'member.admin',
      createLegacyApp: 'member.admin',
      getLegacyApp: 'member.admin',
    },
    handlers: {
      async getCpoint(request) {
        return { cpoint: await service.getCpoint(request.uid) };
      },
      async adminAddCpoint(request, ctx) {
        return { cpoint: await service.adminAdjust('admin_add', request, callerOf(ctx)) };
      },
      async adminReduceCpoint(request, ctx) {
        return { cpoint: await service.adminAdjust('admin_reduce', request, callerOf(ctx)) };
      },
      async consumeCpoint(request, ctx) {
        return service.consume(request, callerOf(ctx));
      },
      async checkConsume(request, ctx) {
        return { consumed: await service.checkConsume(request.orderId, request.uid, callerOf(ctx)) };
      },
      async revokeConsume(request, ctx) {
        return service.revoke(request, callerOf(ctx));
      },
      async listOrders(request, ctx) {
        const page = await service.listOrders(request.uid, request.pageSize, request.pageToken, callerOf(ctx));
        return { orders: page.orders.map(toOrder), nextPageToken: page.nextPageToken };
      },
      async listTaskConfigs() {
        return { tasks: (await service.listTasks()).map(toTaskConfig) };
      },
      async updateTaskConfig(request) {
        if (request.task === undefined) throw errors.invalid('task', 'is required');
        return { task: toTaskConfig(await service.updateTask(request.task)) };
      },
      async listGradeConfigs() {
        return { grades: (await service.listGrades()).map(toGrade) };
      },
      async updateGradeConfigs(request) {
        return { grades: (await service.updateGrades(request.grades)).map(toGrade) };
      },
      async batchGetUserInfo(request) {
        return { users: (await service.batchGetUserInfo(request.uids)).map(toUserInfo) };
      },
      async listUsersSorted(request) {
        const field = SORT_FIELDS.toDomain(request.sortField);
        if (field === undefined) throw errors.invalid('sort_field', 'must be SCORE, CPOINT or GRADE');
        const direction = SORT_ORDERS.toDomain(request.sortOrder) ?? 'desc';
        if (request.sortOrder !== SortOrder.SORT_ORDER_UNSPECIFIED && request.sortOrder !== SortOrder.SORT_ORDER_ASC &&
          request.sortOrder !== SortOrder.SORT_ORDER_DESC) {
          throw errors.invalid('sort_order', 'must be ASC or DESC');
        }
        const page = await service.listUsersSorted(field, direction, request.page, request.limit, request.pageToken);
        return { users: page.users.map(toUserInfo), nextPageToken: page.nextPageToken };
      },
      async submitTask(request, ctx) {
        return toTaskResponse(await service.submitTask(request, callerOf(ctx)));
      },
      async setApiSwitch(request, ctx) {
        return { apiSwitch: toSwitch(await service.setSwitch(request.method, request.closed, ctx.app.name, MEMBER_METHODS)) };
      },
      async listApiSwitches() {
        return { apiSwitches: (await service.listSwitches()).map(toSwitch) };
      },
      async createLegacyApp(request) {
        return service.createLegacyApp(request.appName, request.admin);
      },
      async getLegacyApp(request) {
        return service.getLegacyApp(request.appName);
      },
    },
  });
}
