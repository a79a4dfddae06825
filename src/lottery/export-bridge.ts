/**
 * The operators' CSV export of an activity's winners: `GET /lottery/admin/winners.csv`, with
 * the caller's own Bearer token (scope `lottery.admin`), streamed from ExportWinners page by
 * page. docs/lottery.md lists the columns.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { lottery as pb } from '@huodong/clients';
import type { BridgeClients } from '../platform/area.js';
import type { Config } from '../platform/config.js';
import { csvTime, sendCsv, type CsvValue } from '../bridge/csv.js';
import { badRequest, callOptions, flagParam, routeErrorHandler, uint32Param, type SendFailure } from '../bridge/http.js';

export const WINNERS_CSV_PATH = '/lottery/admin/winners.csv';

export const WINNERS_CSV_COLUMNS = [
  'winner_id',
  'openid',
  'nickname',
  'name',
  'tel',
  'address',
  'other_info',
  'prize_id',
  'prize_name',
  'prize_type',
  'money',
  'claimed',
  'session',
  'win_time',
  'claim_time',
  'info_time',
] as const;

const PRIZE_TYPE_WORDS: Partial<Record<pb.PrizeType, string>> = {
  [pb.PrizeType.PRIZE_TYPE_PHYSICAL]: 'physical',
  [pb.PrizeType.PRIZE_TYPE_RED]: 'red',
  [pb.PrizeType.PRIZE_TYPE_COUPON]: 'coupon',
};

function winnerRow(w: pb.ExportedWinner, timeZone: string): CsvValue[] {
  return [
    w.winnerId,
    w.openid,
    w.nickname,
    w.name,
    w.tel,
    w.address,
    w.otherInfo,
    w.prizeId,
    w.prizeName,
    PRIZE_TYPE_WORDS[w.prizeType] ?? '',
    w.money,
    w.claimed,
    w.session,
    csvTime(w.winTime, timeZone),
    csvTime(w.claimTime, timeZone),
    csvTime(w.infoTime, timeZone),
  ];
}

/**
 * Query: `activity` (required), `physical=1` (physical prizes only), `after=<winner_id>`
 * (resume after that winner), `bom=0` (no UTF-8 BOM). Refusals answer like the lottery's other
 * routes, `{status, msg, reason, data: null}` with the HTTP status of the gRPC code.
 */
export function lotteryExportRoutes(app: FastifyInstance, { caller }: BridgeClients, config: Config, fail: SendFailure): void {
  app.get(WINNERS_CSV_PATH, { errorHandler: routeErrorHandler(fail) }, async (request: FastifyRequest, reply) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const activityId = uint32Param(query, 'activity');
    if (activityId === 0) throw badRequest('activity', 'is required');
    const pages = caller.lottery.exportWinners(
      { activityId, physicalOnly: flagParam(query, 'physical', false), afterWinnerId: uint32Param(query, 'after') },
      callOptions(request),
    );
    return sendCsv(reply, {
      filename: `winners-${activityId}.csv`,
      header: WINNERS_CSV_COLUMNS,
      pages,
      rows: (page: pb.ExportWinnersResponse) => page.winners.map((w) => winnerRow(w, config.timeZone)),
      bom: flagParam(query, 'bom', true),
    });
  });
}
