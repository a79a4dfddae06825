import * as grpc from '@grpc/grpc-js';
import { ActivityGrantServiceDefinition } from './gen/huodong/grant/v1/grant.js';
import { LotteryServiceDefinition } from './gen/huodong/lottery/v1/lottery.js';
import { MemberServiceDefinition } from './gen/huodong/member/v1/member.js';
import { PointsCenterServiceDefinition } from './gen/huodong/points/v1/points.js';
import { UserDataServiceDefinition } from './gen/huodong/userdata/v1/userdata.js';

/**
 * Retries of calls that failed UNAVAILABLE or DEADLINE_EXCEEDED, with exponential back-off
 * and full jitter. The very same request is sent again, so a value-moving call keeps its
 * idempotency key: the server answers a replay with the first result, and an attempt that
 * did commit before its answer was lost is never applied twice. A new key would be.
 */
export interface RetryOptions {
  /** Attempts in all, the first included; 3 unless set. */
  readonly attempts?: number;
  /** The back-off before the second attempt grows from this, doubling; 100 ms unless set. */
  readonly baseDelayMs?: number;
  /** No single back-off is longer; 2000 ms unless set. */
  readonly maxDelayMs?: number;
}

/** The codes retried: the server or the path to it was down, or the answer did not arrive. */
export const RETRIED_CODES: ReadonlySet<grpc.status> = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

interface Definition {
  readonly fullName: string;
  readonly methods: { readonly [method: string]: { readonly requestType: { fromPartial(object: never): unknown } } };
}
type RequestOf<M> = M extends { requestType: { fromPartial(object: never): infer Req } } ? Req : never;

/**
 * How retrying a call stays safe: `read` changes nothing; `{ key }` moves value and answers a
 * replay of its key with the first result; `never` is not retried: saves and switches without
 * a key, and the calls that refuse a replayed key instead of answering it (participate:
 * NONCE_REPLAYED, revokeConsume: ORDER_NOT_REVOCABLE), where a retry after a lost success
 * would turn it into a refusal.
 */
export type RetrySafety<Req> = 'read' | 'never' | { readonly key: keyof Req & string };
type SafetyTable<D extends Definition> = {
  readonly [K in keyof D['methods']]: RetrySafety<RequestOf<D['methods'][K]>>;
};

/** Every RPC classified; a new RPC does not compile until it is. */
const userdata: SafetyTable<typeof UserDataServiceDefinition> = {
  getActUserData: 'read',
  // a CAS write retried after it landed would answer CAS_CONFLICT
  setActUserData: 'never',
};
const member: SafetyTable<typeof MemberServiceDefinition> = {
  getCpoint: 'read',
  adminAddCpoint: { key: 'requestId' },
  adminReduceCpoint: { key: 'requestId' },
  consumeCpoint: { key: 'orderId' },
  checkConsume: 'read',
  revokeConsume: 'never',
  listOrders: 'read',
  listTaskConfigs: 'read',
  updateTaskConfig: 'never',
  listGradeConfigs: 'read',
  updateGradeConfigs: 'never',
  batchGetUserInfo: 'read',
  listUsersSorted: 'read',
  submitTask: { key: 'requestId' },
  setApiSwitch: 'never',
  listApiSwitches: 'read',
  createLegacyApp: 'never',
  getLegacyApp: 'read',
};
const points: SafetyTable<typeof PointsCenterServiceDefinition> = {
  getUserPoints: 'read',
  listChangeRecords: 'read',
  listPrizes: 'read',
  listTasks: 'read',
  getPointsRule: 'read',
  exchangePrize: { key: 'requestId' },
  receiveTaskAward: { key: 'requestId' },
  savePointsRule: 'never',
  saveTask: 'never',
  savePrize: 'never',
  setUserTaskStatus: 'never',
  changePoints: { key: 'requestId' },
  getPrize: 'read',
  getTask: 'read',
  runDailyJob: 'never',
  sendPrize: { key: 'requestId' },
  // A stream: never retried by the client (see StreamCallOptions); resumed by its cursor.
  exportExchangesToShip: 'read',
};
const lottery: SafetyTable<typeof LotteryServiceDefinition> = {
  saveActivity: 'never',
  getActivity: 'read',
  listActivityPrizes: 'read',
  addWhitelist: 'never',
  verifyAward: 'never',
  enterActivity: 'never',
  getActivityInfo: 'read',
  submitUserInfo: 'never',
  draw: { key: 'requestId' },
  share: 'never',
  listMyPrizes: 'read',
  listWinners: 'read',
  // A stream: never retried by the client (see StreamCallOptions); resumed by its cursor.
  exportWinners: 'read',
};
const grant: SafetyTable<typeof ActivityGrantServiceDefinition> = {
  participate: 'never',
  getClaim: 'read',
  saveActivity: 'never',
  saveSubActivity: 'never',
  listEntitlements: 'read',
};

const tables: Readonly<Record<string, Readonly<Record<string, RetrySafety<Record<string, unknown>>>>>> = {
  [UserDataServiceDefinition.fullName]: userdata,
  [MemberServiceDefinition.fullName]: member,
  [PointsCenterServiceDefinition.fullName]: points,
  [LotteryServiceDefinition.fullName]: lottery,
  [ActivityGrantServiceDefinition.fullName]: grant,
};

/** How retrying this RPC stays safe (`never`: it is not retried). */
export function retrySafety(serviceFullName: string, method: string): RetrySafety<Record<string, unknown>> {
  return tables[serviceFullName]?.[method] ?? 'never';
}

/** True when this request of this RPC may be sent again: a read, or a keyed call with its key. */
export function mayRetry(serviceFullName: string, method: string, request: Readonly<Record<string, unknown>>): boolean {
  const safety = retrySafety(serviceFullName, method);
  if (safety === 'read') return true;
  if (safety === 'never') return false;
  const key = request[safety.key];
  return typeof key === 'string' && key !== '';
}

/** The back-off before attempt `attempt + 1` (attempt counts from 1): full jitter. */
export function backoffMs(attempt: number, options: RetryOptions, random: () => number = Math.random): number {
  const base = options.baseDelayMs ?? 100;
  const cap = options.maxDelayMs ?? 2000;
  return Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1)));
}
