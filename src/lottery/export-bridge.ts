/**
 * The operators' CSV export of an activity's winners: `GET /lottery/admin/winners.csv`, with
 * the caller's own Bearer token (scope `lottery.admin`), streamed from ExportWinners page by
 * page. docs/lottery.md lists the columns.
 */
import type { Clients, lottery as pb } from '@huodong/clients';
import { csvTime, type CsvValue } from '../bridge/csv.js';
import { badRequest, flagParam, uint32Param } from '../bridge/http.js';
import { bearer, type CsvRouteSpec } from '../bridge/routes.js';
import { PRIZE_KINDS } from './words.js';

export const WINNERS_CSV_PATH = '/lottery/admin/winners.csv';

export const WINNERS_CSV_COLUMNS = [
  'winner_id', 'openid', 'nickname', 'name', 'tel', 'address', 'other_info', 'prize_id', 'prize_name', 'prize_type',
  'money', 'claimed', 'session', 'win_time', 'claim_time', 'info_time',
] as const;

function winnerRow(w: pb.ExportedWinner, timeZone: string): CsvValue[] {
  const prizeType = PRIZE_KINDS.toDomain(w.prizeType) ?? '';
  return [
    w.winnerId, w.openid, w.nickname, w.name, w.tel, w.address, w.otherInfo, w.prizeId, w.prizeName, prizeType,
    w.money, w.claimed, w.session, csvTime(w.winTime, timeZone), csvTime(w.claimTime, timeZone), csvTime(w.infoTime, timeZone),
  ];
}

/**
 * Query: `activity` (required), `physical=1` (physical prizes only), `after=<winner_id>`
 * (resume after that winner), `bom=0` (no UTF-8 BOM). Refusals answer like the lottery's other
 * routes, `{status, msg, reason, data: null}` with the HTTP status of the gRPC code.
 */
export const winnersCsv: CsvRouteSpec<Clients['lottery'], pb.ExportWinnersRequest, pb.ExportWinnersResponse> = {
  path: WINNERS_CSV_PATH,
  credential: bearer,
  toRequest(query) {
    const activityId = uint32Param(query, 'activity');
    if (activityId === 0) throw badRequest('activity', 'is required');
    return { activityId, physicalOnly: flagParam(query, 'physical', false), afterWinnerId: uint32Param(query, 'after') };
  },
  call: (lottery, request, options) => lottery.exportWinners(request, options),
  toCsv: (request, { params, config }) => ({
    filename: `winners-${request.activityId}.csv`,
    header: WINNERS_CSV_COLUMNS,
    rows: (page) => page.winners.map((w) => winnerRow(w, config.timeZone)),
    bom: flagParam(params, 'bom', true),
  }),
};
