/**
 * Business counters read from the answers of successful RPCs, so no service carries metrics
 * code: value moved (c-points, points), draws by outcome, exchanges, grants. Keyed by the RPC's
 * full path; an RPC without an entry costs one failed map lookup.
 *
 * An idempotent replay answers the first result again and is counted again: these are
 * monitoring rates, the journals are the exact record.
 */
import type { ParticipateResponse } from '../gen/huodong/grant/v1/grant.js';
import { outcomeToJSON, type DrawResponse } from '../gen/huodong/lottery/v1/lottery.js';
import type {
  AdminAddCpointRequest,
  AdminReduceCpointRequest,
  ConsumeCpointRequest,
  RevokeConsumeRequest,
  SubmitTaskResponse,
} from '../gen/huodong/member/v1/member.js';
import {
  ChangeDirection,
  type ChangePointsResponse,
  type ExchangePrizeResponse,
  type ReceiveTaskAwardResponse,
  type SendPrizeRequest,
} from '../gen/huodong/points/v1/points.js';
import type { Metrics } from './metrics.js';

/** Records what one successful call moved. */
export type BusinessObserver = (request: unknown, response: unknown, metrics: Metrics) => void;

const MEMBER = '/huodong.member.v1.MemberService/';
const POINTS = '/huodong.points.v1.PointsCenterService/';

/** Decimal text ("12.50") as a number, for a counter only. */
const amount = (text: string | undefined): number => (text === undefined || text === '' ? 0 : Number(text));

export const businessObservers: ReadonlyMap<string, BusinessObserver> = new Map<string, BusinessObserver>([
  [`${MEMBER}ConsumeCpoint`, (req, _res, m) => m.cpointsMoved('ConsumeCpoint', amount((req as ConsumeCpointRequest).cpoint))],
  [`${MEMBER}AdminAddCpoint`, (req, _res, m) => m.cpointsMoved('AdminAddCpoint', amount((req as AdminAddCpointRequest).cpoint))],
  [
    `${MEMBER}AdminReduceCpoint`,
    (req, _res, m) => m.cpointsMoved('AdminReduceCpoint', amount((req as AdminReduceCpointRequest).cpoint)),
  ],
  [`${MEMBER}RevokeConsume`, (req, _res, m) => m.cpointsMoved('RevokeConsume', amount((req as RevokeConsumeRequest).cpoint))],
  [`${MEMBER}SubmitTask`, (_req, res, m) => m.cpointsMoved('SubmitTask', amount((res as SubmitTaskResponse).cpoint))],
  [
    `${POINTS}ChangePoints`,
    (_req, res, m) => {
      const record = (res as ChangePointsResponse).record;
      if (record === undefined) return;
      const direction = record.direction === ChangeDirection.CHANGE_DIRECTION_DEBIT ? 'debit' : 'credit';
      m.pointsMoved(direction, 'ChangePoints', amount(record.faceValue));
    },
  ],
  [
    `${POINTS}ReceiveTaskAward`,
    (_req, res, m) => m.pointsMoved('credit', 'ReceiveTaskAward', amount((res as ReceiveTaskAwardResponse).record?.faceValue)),
  ],
  [
    `${POINTS}ExchangePrize`,
    (_req, res, m) => {
      m.exchange();
      m.pointsMoved('debit', 'ExchangePrize', amount((res as ExchangePrizeResponse).exchange?.faceValue));
    },
  ],
  [`${POINTS}SendPrize`, (req, _res, m) => m.pointsMoved('debit', 'SendPrize', amount((req as SendPrizeRequest).faceValue))],
  [
    '/huodong.lottery.v1.LotteryService/Draw',
    (_req, res, m) => m.draw(outcomeToJSON((res as DrawResponse).outcome).replace(/^OUTCOME_/, '')),
  ],
  [
    '/huodong.grant.v1.ActivityGrantService/Participate',
    (_req, res, m) => {
      const claim = (res as ParticipateResponse).claim;
      if (claim === undefined) return;
      m.grant(claim.resultCode === '' ? 'PENDING' : claim.resultCode, claim.products.length);
    },
  ],
]);
