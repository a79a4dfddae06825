/**
 * Legacy routes as tables. A route names its path and method, and gives three small functions:
 * `toRequest` (the legacy parameters -> the gRPC request), `call` (the RPC, on the area's client)
 * and `toLegacy` (the gRPC response -> the legacy body). `routeTable` registers an area's table on
 * fastify and does the rest once, the same way for every route:
 * - parameters: a POST route reads its body (JSON or a urlencoded form), a GET route its query,
 *   a route answering both the query and the form together; a state-changing one of those
 *   (`postOnly`) answers GET with 405 in its envelope, as a cross-site link or image carries a
 *   SameSite=Lax cookie on GET;
 * - the credential, before the parameters are mapped: `bearer` forwards the caller's Bearer token
 *   on the `caller` clients, `bridgeToken` calls with the bridge's own (`internal`) for legacy
 *   schemes the table checks itself, and a table may bring its own (the member area's signed
 *   requests); one that verifies a legacy app notes it for the access line (noteLegacyApp);
 * - the envelope: every failure (a bad parameter, a refused credential, a gRPC error with its
 *   status and legacy code, fastify's own refusals of a body) reaches the caller through
 *   routeErrorHandler in the route's envelope, and a success through the envelope's `ok`.
 * The server (server.ts) writes the access line and the span of every route, and applies the
 * area's body limit and Bearer requirement (Area.bridgeBodyLimit, Area.bridgeCredential).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GrpcStatus, HuodongError, type CallOptions, type Clients, type StreamCallOptions } from '@huodong/clients';
import type { BridgeClients } from '../platform/area.js';
import type { Config } from '../platform/config.js';
import { sendCsv, type CsvExport } from './csv.js';
import { bodyOf, bridgeError, callOptions, routeErrorHandler, type SendFailure } from './http.js';

export type Params = Record<string, unknown>;

/** What the bridge gives every area: its two sets of clients and the settings. */
export interface BridgeContext {
  readonly clients: BridgeClients;
  readonly config: Config;
}

/** One request to a route, as its credential and mapping functions see it. */
export interface RouteContext extends BridgeContext {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  /** The route's path as registered (what a legacy signature covers), not the URL. */
  readonly path: string;
  readonly params: Params;
  /** The route is marked `admin`; a table's own credential may ask more of such a caller. */
  readonly admin: boolean;
}

/** Whom a call is made as: which clients, with which options (token, request id, on behalf of). */
export interface Authenticated {
  readonly clients: Clients;
  readonly options: CallOptions;
}

export type Credential = (ctx: RouteContext) => Authenticated | Promise<Authenticated>;

/** The caller's own Bearer token, passed on (the gRPC server checks it and its scope). */
export const bearer: Credential = ({ clients, request }) => ({ clients: clients.caller, options: callOptions(request) });

/**
 * The bridge's own token, for a scheme the table has checked itself or that the gRPC server
 * checks in the request (the lottery's user token).
 */
export const bridgeToken: Credential = ({ clients, request }) => ({ clients: clients.internal, options: { requestId: request.id } });

/** A table's legacy answer: `ok` wraps a route's legacy body, `fail` answers any failure. */
export interface Envelope<L> {
  readonly ok: (legacy: L) => unknown;
  readonly fail: SendFailure;
}

/** `GET+POST`: legacy pages call the route either way (parameters from the query and the form). */
export type RouteMethod = 'POST' | 'GET' | 'GET+POST';

interface RouteOptions<L> {
  readonly path: string;
  /** The table's method unless said. */
  readonly method?: RouteMethod;
  /** The table's credential unless said. */
  readonly credential?: Credential;
  readonly admin?: boolean;
  /** On a GET+POST route: GET is refused (always, or when this says so of the parameters). */
  readonly postOnly?: boolean | ((params: Params) => boolean);
  /** The table's envelope unless said. */
  readonly envelope?: Envelope<L>;
}

export interface RouteSpec<Api, Req, Res, L> extends RouteOptions<L> {
  readonly toRequest: (params: Params, ctx: RouteContext) => Req;
  /** The RPC (or, where a legacy route is more than one, the RPCs) on the area's client. */
  readonly call: (api: Api, request: Req, options: CallOptions) => Promise<Res>;
  readonly toLegacy: (response: Res, request: Req, ctx: RouteContext) => L;
}

/** A CSV download (GET) streamed from a server-streaming RPC, page by page (see sendCsv). */
export interface CsvRouteSpec<Api, Req, Page> extends Omit<RouteOptions<never>, 'method' | 'envelope' | 'postOnly'> {
  readonly toRequest: (params: Params, ctx: RouteContext) => Req;
  readonly call: (api: Api, request: Req, options: StreamCallOptions) => AsyncIterable<Page>;
  /** The file: its name, header, the rows of a page, and whether it starts with a BOM. */
  readonly toCsv: (request: Req, ctx: RouteContext) => Omit<CsvExport<Page>, 'pages'>;
}

type Answer<L> = { readonly legacy: L } | { readonly sent: FastifyReply };

/** A route of a table, its request and response types hidden. */
export interface Route<Api, L> extends RouteOptions<L> {
  readonly answer: (api: Api, options: CallOptions, ctx: RouteContext, seen: (response: unknown) => void) => Promise<Answer<L>>;
}

export interface RouteBuilders<Api, L> {
  route<Req, Res>(spec: RouteSpec<Api, Req, Res, L>): Route<Api, L>;
  csvRoute<Req, Page>(spec: CsvRouteSpec<Api, Req, Page>): Route<Api, L>;
}

/** The route builders of a table whose routes call `Api` and answer `L` (the rest is inferred per route). */
export function routesFor<Api, L>(): RouteBuilders<Api, L> {
  return {
    route: ({ toRequest, call, toLegacy, ...options }) => ({
      ...options,
      async answer(api, callOptions, ctx, seen) {
        const request = toRequest(ctx.params, ctx);
        const response = await call(api, request, callOptions);
        seen(response);
        return { legacy: toLegacy(response, request, ctx) };
      },
    }),
    csvRoute: ({ toRequest, call, toCsv, ...options }) => ({
      ...options,
      method: 'GET',
      async answer(api, callOptions, ctx) {
        const request = toRequest(ctx.params, ctx);
        const csv = toCsv(request, ctx);
        return { sent: await sendCsv(ctx.reply, { ...csv, pages: call(api, request, callOptions) }) };
      },
    }),
  };
}

export interface RouteTable<Api, L> {
  /** The area's client among the generated ones. */
  readonly api: (clients: Clients) => Api;
  /** The method of the routes that name none (POST unless said). */
  readonly method?: RouteMethod;
  /** The credential of the routes that name none. */
  readonly credential: Credential;
  readonly envelope: Envelope<L>;
  readonly routes: ReadonlyArray<Route<Api, L>>;
  /** Sees every RPC response before its toLegacy (the lottery renews its user's cookie from it). */
  readonly onResponse?: (response: unknown, ctx: RouteContext) => void;
  /** What is no call: hooks and fixed answers (the lottery's CORS and image upload). */
  readonly extras?: (app: FastifyInstance, bridge: BridgeContext) => void;
}

/** An area's bridge (Area.bridge) registering the table. */
export function routeTable<Api, L>(table: RouteTable<Api, L>): (app: FastifyInstance, clients: BridgeClients, config: Config) => void {
  return (app, clients, config) => {
    const bridge: BridgeContext = { clients, config };
    for (const r of table.routes) register(app, bridge, table, r);
    table.extras?.(app, bridge);
  };
}

/** A value made once per bridge, on first use (a cache its routes share). */
export function perBridge<T>(make: (bridge: BridgeContext) => T): (bridge: BridgeContext) => T {
  const made = new WeakMap<BridgeClients, T>();
  return (bridge) => {
    let value = made.get(bridge.clients);
    if (value === undefined) {
      value = make(bridge);
      made.set(bridge.clients, value);
    }
    return value;
  };
}

function methodNotAllowed(path: string): HuodongError {
  return bridgeError({ code: GrpcStatus.INVALID_ARGUMENT, reason: 'METHOD_NOT_ALLOWED', message: `${path} changes state: send it as POST` });
}

function paramsOf(request: FastifyRequest, method: RouteMethod): Params {
  if (method === 'POST') return bodyOf(request);
  const query = (request.query ?? {}) as Params;
  if (method === 'GET') return query;
  const body = request.body;
  const form = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Params) : {};
  return { ...query, ...form };
}

function register<Api, L>(app: FastifyInstance, bridge: BridgeContext, table: RouteTable<Api, L>, r: Route<Api, L>): void {
  const envelope = r.envelope ?? table.envelope;
  const method = r.method ?? table.method ?? 'POST';
  const { postOnly = false } = r;
  app.route({
    method: method === 'GET+POST' ? ['GET', 'POST'] : method,
    url: r.path,
    errorHandler: routeErrorHandler(envelope.fail),
    handler: async (request, reply) => {
      const params = paramsOf(request, method);
      if (request.method !== 'POST' && (postOnly === true || (typeof postOnly === 'function' && postOnly(params)))) {
        return envelope.fail(reply, methodNotAllowed(r.path), 405);
      }
      const ctx: RouteContext = { ...bridge, request, reply, path: r.path, params, admin: r.admin === true };
      const { clients, options } = await (r.credential ?? table.credential)(ctx);
      const answer = await r.answer(table.api(clients), options, ctx, (response) => table.onResponse?.(response, ctx));
      return 'sent' in answer ? answer.sent : envelope.ok(answer.legacy);
    },
  });
}
