/**
 * Seed 000's legacy routes: POST /userdata/getActUsrdata and /userdata/setActUsrdata, JSON or
 * urlencoded, answering {code, actUsrData}. code 0 is success; a failure, a body the bridge
 * cannot read included, answers the HTTP status of its gRPC code and code = that gRPC code,
 * with reason and message.
 */
import type { Clients } from '@huodong/clients';
import { badRequest, integerParam, objectValue, stringParam, type SendFailure } from '../bridge/http.js';
import { bearer, routesFor, routeTable, type Params } from '../bridge/routes.js';

const fail: SendFailure = (reply, err, httpStatus) =>
  reply.code(httpStatus).send({ code: err.code, reason: err.reason, message: err.message });

/** `data` arrives as an object (JSON body) or as JSON text (form body). */
function dataParam(body: Params): Record<string, unknown> {
  if (body.data === undefined) throw badRequest('data', 'is required');
  // Legacy callers send back the object they read, cas included; cas is not part of the data.
  const { cas: _echoedCas, ...rest } = objectValue(body.data, 'data');
  return rest;
}

const userOf = (body: Params) => ({ actid: integerParam(body, 'actid', true) ?? '0', openid: stringParam(body, 'openid') ?? '' });

const { route } = routesFor<Clients['userdata'], unknown>();

export const userDataBridge = routeTable({
  api: (clients) => clients.userdata,
  credential: bearer,
  envelope: { ok: (body) => body, fail },
  routes: [
    route({ path: '/userdata/getActUsrdata', toRequest: userOf, call: (u, r, o) => u.getActUserData(r, o), toLegacy: (r) => ({ code: 0, actUsrData: { ...(r.data ?? {}), cas: Number(r.cas) } }) }),
    route({
      path: '/userdata/setActUsrdata',
      toRequest: (body) => ({ ...userOf(body), data: dataParam(body), cas: integerParam(body, 'cas') ?? '0' }),
      call: (u, r, o) => u.setActUserData(r, o),
      toLegacy: (r) => ({ code: 0, actUsrData: { cas: Number(r.cas) } }),
    }),
  ],
});
