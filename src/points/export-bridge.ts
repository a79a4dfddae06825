/**
 * The operators' CSV export of exchanges to ship: `GET /points/admin/exchanges.csv`, with the
 * caller's own Bearer token (scope `points.admin`), streamed from ExportExchangesToShip page by
 * page. docs/points.md lists the columns.
 */
import type { Clients, points as pb } from '@huodong/clients';
import { csvTime, type CsvValue } from '../bridge/csv.js';
import { flagParam, integerParam } from '../bridge/http.js';
import type { CsvRouteSpec } from '../bridge/routes.js';

export const EXCHANGES_CSV_PATH = '/points/admin/exchanges.csv';

export const EXCHANGES_CSV_COLUMNS = [
  'exchange_id', 'open_id', 'prize_id', 'title', 'face_value', 'user_name', 'tel', 'address', 'period_key', 'create_time',
] as const;

function exchangeRow(e: pb.Exchange, timeZone: string): CsvValue[] {
  const { userName = '', tel = '', address = '' } = e.shipping ?? {};
  return [e.exchangeId, e.openId, e.prizeId, e.title, e.faceValue, userName, tel, address, e.periodKey, csvTime(e.createTime, timeZone)];
}

/**
 * Query: `after=<exchange_id>` (only exchanges after it: the last id of the previous export),
 * `bom=0` (no UTF-8 BOM). Refusals answer like the points centre's other routes,
 * `{result: null, msg, code, reason}` with the HTTP status of the gRPC code.
 */
export const exchangesCsv: CsvRouteSpec<Clients['points'], pb.ExportExchangesToShipRequest, pb.ExportExchangesToShipResponse> = {
  path: EXCHANGES_CSV_PATH,
  toRequest: (query) => ({ afterExchangeId: integerParam(query, 'after', true) ?? '0' }),
  call: (points, request, options) => points.exportExchangesToShip(request, options),
  toCsv: (_request, { params, config }) => ({
    filename: 'exchanges-to-ship.csv',
    header: EXCHANGES_CSV_COLUMNS,
    rows: (page) => page.exchanges.map((e) => exchangeRow(e, config.timeZone)),
    bom: flagParam(params, 'bom', true),
  }),
};
