/** Shared helpers for the legacy REST routes: credentials, request ids, error translation. */
import { parse as parseQuery } from 'node:querystring';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GrpcStatus, HuodongError, type CallOptions, type HuodongReason } from '@huodong/clients';
import type { Domain } from '@huodong/clients/reasons';

/** The most fields a urlencoded form may have; more is HTTP 400 before the form is parsed. */
export const MAX_FORM_FIELDS = 1000;

/** Parses a urlencoded form, refusing one of more than MAX_FORM_FIELDS fields first (a cheap count). */
export function parseForm(body: string): Record<string, unknown> {
  let fields = 1;
  for (let at = body.indexOf('&'); at !== -1; at = body.indexOf('&', at + 1)) {
    if (++fields > MAX_FORM_FIELDS) {
      throw Object.assign(new Error(`body has more than ${MAX_FORM_FIELDS} fields`), { statusCode: 400, code: 'HD_FORM_TOO_MANY_FIELDS' });
    }
  }
  return { ...parseQuery(body, '&', '=', { maxKeys: 0 }) };
}

/** connect-es's code -> HTTP table, used wherever a legacy envelope does not dictate otherwise. */
const HTTP_STATUS: ReadonlyMap<number, number> = new Map(
  Object.entries({
    400: [GrpcStatus.INVALID_ARGUMENT, GrpcStatus.FAILED_PRECONDITION, GrpcStatus.OUT_OF_RANGE],
    401: [GrpcStatus.UNAUTHENTICATED],
    403: [GrpcStatus.PERMISSION_DENIED],
    404: [GrpcStatus.NOT_FOUND],
    409: [GrpcStatus.ALREADY_EXISTS, GrpcStatus.ABORTED],
    429: [GrpcStatus.RESOURCE_EXHAUSTED],
    499: [GrpcStatus.CANCELLED],
    501: [GrpcStatus.UNIMPLEMENTED],
    503: [GrpcStatus.UNAVAILABLE],
    504: [GrpcStatus.DEADLINE_EXCEEDED],
  }).flatMap(([http, codes]) => codes.map((code): [number, number] => [code, Number(http)])),
);

export function httpStatusOf(err: HuodongError): number {
  return HTTP_STATUS.get(err.code) ?? 500;
}

/** Sends one route's legacy envelope for a failure, with the HTTP status given. */
export type SendFailure = (reply: FastifyReply, err: HuodongError, httpStatus: number) => FastifyReply;

/** What reaches a route's error handler: a thrown error, or fastify's own (with its HTTP status). */
type RouteError = Error & { readonly statusCode?: number; readonly code?: string };

/** What fastify's own refusals of a body mean, said the way the bridge names a bad field. */
const BODY_PROBLEMS: Partial<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'is empty but its content type is JSON',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'must be JSON or a urlencoded form',
  HD_FORM_TOO_MANY_FIELDS: `has more than ${MAX_FORM_FIELDS} fields`,
};

/**
 * A failure without huodong's ErrorInfo came from the channel, not the server (no connection,
 * deadline): its text names internal addresses, so the caller gets a plain one.
 */
const TRANSPORT_MESSAGES: Partial<Record<number, string>> = {
  [GrpcStatus.UNAVAILABLE]: 'the service is unavailable, retry later',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'the service did not answer in time',
  [GrpcStatus.CANCELLED]: 'the call was cancelled',
};

function forCaller(err: HuodongError): HuodongError {
  if (err.domain !== '') return err;
  return new HuodongError(err.code, TRANSPORT_MESSAGES[err.code] ?? 'internal error', err.reason, err.domain, undefined, {});
}

/**
 * A route's `errorHandler`, so that every failure reaches the caller in the route's own
 * envelope. A route may simply throw: a HuodongError keeps its code (HTTP status by connect's
 * table). fastify refuses some requests before any handler runs (a body that is not JSON, one
 * over the limit, an unknown content type); those become INVALID_ARGUMENT naming `body` with
 * fastify's 4xx status. Anything else is a fault of ours: logged, and answered like the gRPC
 * edge answers it, INTERNAL with a generic message.
 */
export function routeErrorHandler(send: SendFailure) {
  return (error: RouteError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (error instanceof HuodongError) return send(reply, forCaller(error), httpStatusOf(error));
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const problem =
        status === 413
          ? `is larger than ${request.routeOptions.bodyLimit} bytes`
          : (BODY_PROBLEMS[error.code ?? ''] ?? error.message);
      return send(reply, badRequest('body', problem), status);
    }
    request.log.error({ err: error }, 'bridge route failed');
    return send(reply, bridgeError({ code: GrpcStatus.INTERNAL, reason: 'INTERNAL', message: 'internal error' }), 500);
  };
}

/** The longest Bearer token the bridge passes on (as MAX_TOKEN_LENGTH in config.ts). */
const MAX_BEARER_LENGTH = 256;
/** `Bearer <token>`: printable ASCII, no spaces inside, at most MAX_BEARER_LENGTH characters. */
const BEARER = new RegExp(`^Bearer +([\\x21-\\x7e]{1,${MAX_BEARER_LENGTH}}) *$`, 'i');

/** A refusal of the bridge's own, in the domain huodong.bridge unless it answers for an area. */
export function bridgeError(init: {
  readonly code: GrpcStatus;
  readonly reason: HuodongReason;
  readonly message: string;
  readonly domain?: Domain;
  readonly metadata?: Readonly<Record<string, string>>;
}): HuodongError {
  return new HuodongError(init.code, init.message, init.reason, init.domain ?? 'huodong.bridge', undefined, init.metadata ?? {});
}

/** An UNAUTHENTICATED refusal of the bridge's own, without the credential in its text. */
export function unauthenticated(message: string): HuodongError {
  return bridgeError({ code: GrpcStatus.UNAUTHENTICATED, reason: 'UNAUTHENTICATED', message });
}

/**
 * The caller's Bearer token: undefined when there is no authorization header; a header that is
 * not `Bearer <printable ASCII token>` (a tab, non-ASCII, another scheme, too long) is refused
 * as UNAUTHENTICATED, so it is never passed on (grpc-js throws on such metadata, with the value
 * in its message).
 */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined || header === '') return undefined;
  const match = typeof header === 'string' ? BEARER.exec(header) : null;
  if (match?.[1] === undefined) throw unauthenticated('malformed authorization header: expected "Bearer <token>"');
  return match[1];
}

/**
 * An onRequest hook for routes that need the caller's Bearer token: a missing or malformed one
 * is refused before the body is read or parsed.
 */
export async function requireBearer(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  let token: string | undefined;
  try {
    token = bearerToken(request);
  } catch (err) {
    refuseEarly(reply);
    throw err;
  }
  if (token === undefined) {
    refuseEarly(reply);
    throw unauthenticated('authorization: Bearer <app token> is required');
  }
}

/**
 * The connection closes after this answer, so the unread body is never read off the socket
 * (Node would otherwise read and discard it all to keep the connection alive).
 */
function refuseEarly(reply: FastifyReply): void {
  reply.header('connection', 'close');
}

/** The legacy app whose signature the bridge verified, by request (see noteLegacyApp). */
const legacyApps = new WeakMap<FastifyRequest, string>();

/**
 * Records that the request was signed by this legacy app (its signature verified), for the
 * bridge's access line and span; routes of legacy schemes call it once they have checked it.
 */
export function noteLegacyApp(request: FastifyRequest, appName: string): void {
  legacyApps.set(request, appName);
}

/** Who called, as far as the bridge knows, for its access line and span. */
export interface BridgeCaller {
  /** The app of the caller's Bearer token, when the token is known to be an app's. */
  readonly app: string | undefined;
  /** The legacy app whose signature was verified (member routes, lottery entries). */
  readonly legacyApp: string | undefined;
}

/** The caller of a request; `appOf` names the app of a token, or undefined when it cannot. */
export function callerOf(request: FastifyRequest, appOf: ((token: string) => string | undefined) | undefined): BridgeCaller {
  let app: string | undefined;
  if (appOf !== undefined) {
    try {
      const token = bearerToken(request);
      if (token !== undefined) app = appOf(token);
    } catch {
      // a malformed authorization header names no app
    }
  }
  return { app, legacyApp: legacyApps.get(request) };
}

/** Forwards the caller's Bearer token and request id to the gRPC call. */
export function callOptions(request: FastifyRequest): CallOptions {
  const token = bearerToken(request);
  return { ...(token === undefined ? {} : { token }), requestId: request.id };
}

/** A bad bridge input, answered like a gRPC INVALID_ARGUMENT naming the field. */
export function badRequest(field: string, problem: string): HuodongError {
  return bridgeError({ code: GrpcStatus.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT', message: `${field}: ${problem}`, metadata: { field } });
}

/** The body as a flat record, whether it came as JSON or urlencoded. */
export function bodyOf(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('body', 'must be a JSON object or a form');
  return body as Record<string, unknown>;
}

/** A parameter that must be an object: one in a JSON body, or its JSON text in a form. */
export function objectValue(value: unknown, name: string, notObject = 'must be a JSON object'): Record<string, unknown> {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      throw badRequest(name, 'is not valid JSON');
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest(name, notObject);
  return parsed as Record<string, unknown>;
}

/** Reads an optional integer parameter as a decimal string; `unsigned` refuses a minus sign. */
export function integerParam(body: Record<string, unknown>, name: string, unsigned = false): string | undefined {
  const value = stringParam(body, name)?.trim();
  if (value === undefined) return undefined;
  if (!(unsigned ? /^\d{1,20}$/ : /^-?\d{1,20}$/).test(value)) {
    throw badRequest(name, unsigned ? 'must be a positive integer' : 'must be an integer');
  }
  return value;
}

/** Reads an optional scalar parameter as a string (numbers accepted). */
export function stringParam(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  throw badRequest(name, 'must be a string or a number');
}

const UINT32_MAX = 4_294_967_295;

/** An optional unsigned 32-bit query parameter (0 when absent). */
export function uint32Param(query: Record<string, unknown>, name: string): number {
  const value = integerParam(query, name, true);
  if (value === undefined) return 0;
  const n = Number(value);
  if (n > UINT32_MAX) throw badRequest(name, 'is too large');
  return n;
}

/** `1` / `true` is true; absent, `0` or `false` false; anything else a bad request. */
export function flagParam(query: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = stringParam(query, name);
  if (value === undefined) return fallback;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw badRequest(name, 'must be 1 or 0');
}
