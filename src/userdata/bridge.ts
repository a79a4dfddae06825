/**
 * Seed 000's legacy routes: POST /userdata/getActUsrdata and /userdata/setActUsrdata, JSON or
 * urlencoded, answering {code, actUsrData}. code 0 is success; a failure, a body the bridge
 * cannot read included, answers the HTTP status of its gRPC code and code = that gRPC code,
 * with reason and message.
 */
import type { FastifyInstance } from 'fastify';
import type { BridgeClients } from '../platform/area.js';
import { badRequest, bodyOf, callOptions, integerParam, routeErrorHandler, stringParam, type SendFailure } from '../bridge/http.js';

const fail: SendFailure = (reply, err, httpStatus) =>
  reply.code(httpStatus).send({ code: err.code, reason: err.reason, message: err.message });

/** `data` arrives as an object (JSON body) or as JSON text (form body). */
function dataParam(body: Record<string, unknown>): Record<string, unknown> {
  let data = body.data;
  if (data === undefined) throw badRequest('data', 'is required');
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data) as unknown;
    } catch {
      throw badRequest('data', 'is not valid JSON');
    }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw badRequest('data', 'must be a JSON object');
  // Legacy callers send back the object they read, cas included; cas is not part of the data.
  const { cas: _echoedCas, ...rest } = data as Record<string, unknown>;
  return rest;
}

export function userDataBridge(app: FastifyInstance, { caller: clients }: BridgeClients): void {
  const route = { errorHandler: routeErrorHandler(fail) };

  app.post('/userdata/getActUsrdata', route, async (request) => {
    const body = bodyOf(request);
    const result = await clients.userdata.getActUserData(
      { actid: integerParam(body, 'actid', true) ?? '0', openid: stringParam(body, 'openid') ?? '' },
      callOptions(request),
    );
    return { code: 0, actUsrData: { ...(result.data ?? {}), cas: Number(result.cas) } };
  });

  app.post('/userdata/setActUsrdata', route, async (request) => {
    const body = bodyOf(request);
    const result = await clients.userdata.setActUserData(
      {
        actid: integerParam(body, 'actid', true) ?? '0',
        openid: stringParam(body, 'openid') ?? '',
        data: dataParam(body),
        cas: integerParam(body, 'cas') ?? '0',
      },
      callOptions(request),
    );
    return { code: 0, actUsrData: { cas: Number(result.cas) } };
  });
}
