/**
 * Seed 004's legacy route: POST /activity/services/activity?g_nonce=... with the caller's own
 * Bearer app token and the seed's JSON body. Business outcomes answer HTTP 200 with
 * {resultCode, resultMessage} plus `detail` ("0000") or `activityDtoList` ("3002"), exactly as
 * the seed shows. A bad body and a replayed g_nonce are "1001" at HTTP 200 (the seed's "bad
 * parameters"); auth and store failures keep their HTTP status with the same envelope.
 */
import type { FastifyRequest } from 'fastify';
import { grant, GrpcStatus, type Clients } from '@huodong/clients';
import { formatLocal } from '../platform/calendar.js';
import { badRequest, objectValue, stringParam, type SendFailure } from '../bridge/http.js';
import { bearer, routesFor, routeTable, type Params } from '../bridge/routes.js';
import { ACTIVATE_TYPES } from './words.js';

/** The legacy system ran in China; its dates are "yyyy-MM-dd HH:mm:ss" there. */
const LEGACY_ZONE = 'Asia/Shanghai';
export function legacyDate(at: Date | undefined): string {
  return at === undefined ? '' : formatLocal(at, LEGACY_ZONE, 'second');
}

/** extParams arrives as an object (the seed's example) or as JSON text (its table). */
function extParamsOf(body: Params): Record<string, string> {
  const raw = body.extParams;
  if (raw === undefined || raw === null || raw === '') return {};
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(objectValue(raw, 'extParams'))) {
    if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
    else throw badRequest(`extParams.${key}`, 'must be a string, number or boolean');
  }
  return out;
}

function nonceOf(request: FastifyRequest): string {
  const query = request.query as Record<string, unknown> | undefined;
  const value = query?.g_nonce;
  return typeof value === 'string' ? value : '';
}

function legacyEnvelope(claim: grant.Claim): Record<string, unknown> {
  if (claim.status === grant.ClaimStatus.CLAIM_STATUS_PENDING) {
    return {
      resultCode: '0000',
      resultMessage: '受理成功,正在办理',
      detail: { claimId: claim.claimId, status: 'pending', products: [] },
    };
  }
  const envelope: Record<string, unknown> = { resultCode: claim.resultCode, resultMessage: claim.resultMessage };
  if (claim.resultCode === '0000') {
    envelope.detail = {
      claimId: claim.claimId,
      products: claim.products.map((p) => ({
        activityId: p.activityId,
        subActivityId: p.subActivityId,
        productUri: p.productUri,
        limitStartDate: legacyDate(p.limitStartTime),
        limitEndDate: legacyDate(p.limitEndTime),
        activateType: ACTIVATE_TYPES.legacyWord(p.activateType) ?? '0',
      })),
    };
  } else if (claim.resultCode === '3002') {
    envelope.activityDtoList = claim.activities.map((a) => ({
      engineSubActivityDtos: a.subActivities.map((u) => ({
        errorCode: u.errorCode,
        errorMessage: u.errorMessage,
        id: u.id,
        name: u.name,
        participateResult: u.participateResult,
      })),
      id: a.id,
      name: a.name,
      participateResult: a.participateResult,
      ...(a.errorCode === 0 ? {} : { errorCode: a.errorCode, errorMessage: a.errorMessage }),
    }));
  }
  return envelope;
}

/** A bad body (fastify's own refusals included) and a replayed g_nonce are the seed's "bad parameters". */
const fail: SendFailure = (reply, err, httpStatus) => {
  if (err.code === GrpcStatus.INVALID_ARGUMENT || err.reason === 'NONCE_REPLAYED') {
    return reply.code(200).send({ resultCode: '1001', resultMessage: `请求参数错误: ${err.message}`, reason: err.reason });
  }
  return reply.code(httpStatus).send({ resultCode: '1002', resultMessage: err.message, reason: err.reason });
};

/** Participate's or GetClaim's answer, in the seed's envelope. */
function answerOf(rpc: string): (response: { readonly claim?: grant.Claim | undefined }) => Record<string, unknown> {
  return (response) => {
    if (response.claim === undefined) throw new Error(`${rpc} answered no claim`);
    return legacyEnvelope(response.claim);
  };
}

const { route } = routesFor<Clients['grant'], Record<string, unknown>>();

export const grantBridge = routeTable({
  api: (clients) => clients.grant,
  credential: bearer,
  envelope: { ok: (body) => body, fail },
  routes: [
    route({
      path: '/activity/services/activity',
      toRequest: (body, { request }) => ({
        identity: stringParam(body, 'identity') ?? '',
        activityLabel: stringParam(body, 'activityLabel') ?? '',
        source: stringParam(body, 'source') ?? '',
        branch: stringParam(body, 'branch') ?? '',
        extParams: extParamsOf(body),
        nonce: nonceOf(request),
      }),
      call: (g, r, o) => g.participate(r, o),
      toLegacy: answerOf('Participate'),
    }),
    /**
     * Not in seed 004: the result of an async claim (`detail.claimId` of a "0000 受理成功,正在办理"
     * answer), in the same envelope; pending until the background has granted. Only the app that
     * made the claim can read it.
     */
    route({
      path: '/activity/services/activity/claim',
      method: 'GET',
      toRequest: (query) => {
        const claimId = stringParam(query, 'claimId');
        if (claimId === undefined) throw badRequest('claimId', 'is required');
        return { claimId };
      },
      call: (g, r, o) => g.getClaim(r, o),
      toLegacy: answerOf('GetClaim'),
    }),
  ],
});
