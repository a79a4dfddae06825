/**
 * The operators' CSV export of exchanges to ship: `GET /points/admin/exchanges.csv`, with the
 * caller's own Bearer token (scope `points.admin`), streamed from ExportExchangesToShip page by
 * page. docs/points.md lists the columns.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { points as pb } from '@huodong/clients';
import type { BridgeClients } from '../platform/area.js';
import type { Config } from '../platform/config.js';
import { csvTime, sendCsv, type CsvValue } from '../bridge/csv.js';
import { callOptions, flagParam, integerParam, routeErrorHandler, type SendFailure } from '../bridge/http.js';

export const EXCHANGES_CSV_PATH = '/points/admin/exchanges.csv';

export const EXCHANGES_CSV_COLUMNS = [
  'exchange_id',
  'open_id',
  'prize_id',
  'title',
  'face_value',
  'user_name',
  'tel',
  'address',
  'period_key',
  'create_time',
] as const;

function exchangeRow(e: pb.Exchange, timeZone: string): CsvValue[] {
  return [
    e.exchangeId,
    e.openId,
    e.prizeId,
    e.title,
    e.faceValue,
    e.shipping?.userName ?? '',
    e.shipping?.tel ?? '',
    e.shipping?.address ?? '',
    e.periodKey,
    csvTime(e.createTime, timeZone),
  ];
}

/**
 * Query: `after=<exchange_id>` (only exchanges after it: the last id of the previous export),
 * `bom=0` (no UTF-8 BOM). Refusals answer like the points centre's other routes,
 * `{result: null, msg, code, reason}` with the HTTP status of the gRPC code.
 */
export function pointsExportRoutes(app: FastifyInstance, { caller }: BridgeClients, config: Config, fail: SendFailure): void {
  app.get(EXCHANGES_CSV_PATH, { errorHandler: routeErrorHandler(fail) }, async (request: FastifyRequest, reply) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const pages = caller.points.exportExchangesToShip({ afterExchangeId: integerParam(query, 'after', true) ?? '0' }, callOptions(request));
    return sendCsv(reply, {
      filename: 'exchanges-to-ship.csv',
      header: EXCHANGES_CSV_COLUMNS,
      pages,
      rows: (page: pb.ExportExchangesToShipResponse) => page.exchanges.map((e) => exchangeRow(e, config.timeZone)),
      bom: flagParam(query, 'bom', true),
    });
  });
}
