/** Proto <-> domain for LotteryService; no rules here. */
import {
  ActiveType,
  type Activity,
  type ActivityState,
  type EnterActivityResponse,
  type ExportedWinner,
  LotteryServiceDefinition,
  type Prize,
  type UserState,
  type WonPrize,
} from '../gen/huodong/lottery/v1/lottery.js';
import { approximateBytes, chunkBySize } from '../platform/export.js';
import { keyOwner } from '../platform/owner.js';
import { defineService, type ServiceRegistration } from '../platform/rpc.js';
import { errors } from './errors.js';
import {
  DEFAULT_TIPS,
  formatMoney,
  legacyStatus,
  maskName,
  parseDecimal,
  poolKey,
  prizeText,
} from './rules.js';
import type { ActivityConfig, ActivityInput, PrizeConfig } from './model.js';
import type { ActivityView, LotteryService, UserEntry, UserView, WinnerExportView, WonPrizeView } from './service.js';
import type { IssuedToken } from './tokens.js';
import { ACTIVE_TYPES, OUTCOMES, PHASES, PRIZE_KINDS, TEMPLATES } from './words.js';

const date = (unixSeconds: number): Date | undefined => (unixSeconds > 0 ? new Date(unixSeconds * 1000) : undefined);

function decimal(field: string, value: string, places: number): number {
  const parsed = parseDecimal(value, places);
  if (parsed === undefined) throw errors.invalid(field, `must be a non-negative number with at most ${places} decimal(s)`);
  return parsed;
}

function toPrizeConfig(p: Prize, id: number): PrizeConfig {
  const field = `activity.prizes[${id}]`;
  const kind = PRIZE_KINDS.toDomain(p.type);
  if (kind === undefined) throw errors.invalid(`${field}.type`, 'must be PHYSICAL, RED or COUPON');
  return {
    id,
    kind,
    name: p.name,
    sum: p.sum,
    chance: decimal(`${field}.chance`, p.chance, 1),
    money: decimal(`${field}.money`, p.money, 2),
    min: decimal(`${field}.min`, p.min, 2),
    max: decimal(`${field}.max`, p.max, 2),
    img: p.img,
    link: p.link,
    desc: p.desc,
    info: p.info,
  };
}

export function toActivityInput(a: Activity): ActivityInput {
  const tips = a.tips;
  const tip = (value: string | undefined, fallback: string): string => (value === undefined || value.trim() === '' ? fallback : value);
  return {
    enabled: a.enabled,
    title: a.title,
    activeType: a.activeType,
    template: a.template,
    virtual: a.virtualParticipants,
    headerImg: a.headerImg,
    ruleLink: a.ruleLink,
    rule: a.rule,
    needAddress: a.needAddress,
    tips: {
      haveAward: tip(tips?.haveAward, DEFAULT_TIPS.haveAward),
      noTimes: tip(tips?.noTimes, DEFAULT_TIPS.noTimes),
      noAward: tip(tips?.noAward, DEFAULT_TIPS.noAward),
      gameOver: tip(tips?.gameOver, DEFAULT_TIPS.gameOver),
      default: tip(tips?.default, DEFAULT_TIPS.default),
    },
    prizes: a.prizes.map(toPrizeConfig),
    sessions: a.sessions.map((s) => ({
      start: s.startTime?.getTime() ?? Number.NaN,
      // The API's end_time is the last minute, as in the legacy column; windows end a minute later.
      end: (s.endTime?.getTime() ?? Number.NaN) + 60_000,
    })),
    maxPlay: a.maxPlay,
    maxEplay: a.maxEplay,
    maxShare: a.maxShare,
    maxPrize: a.maxPrize,
    share: {
      enabled: a.share?.enabled ?? false,
      title: a.share?.title ?? '',
      desc: a.share?.desc ?? '',
      link: a.share?.link ?? '',
      img: a.share?.img ?? '',
    },
    config: a.config,
    rid: a.rid,
    uniacid: a.uniacid,
  };
}

export function toPrize(p: PrizeConfig): Prize {
  return {
    prizeId: p.id,
    type: PRIZE_KINDS.toProto(p.kind),
    name: p.name,
    sum: p.sum,
    ...prizeText(p),
  };
}

/** The activity as users see it: known by its code only, so the row id is left out. */
function toUserActivity(view: ActivityView): Activity {
  return { ...toActivity(view.activity, view.code, view.requireUserInfo), activityId: 0 };
}

export function toActivity(a: ActivityConfig, code: string, requireUserInfo: boolean): Activity {
  return {
    activityId: a.id,
    code,
    enabled: a.enabled,
    title: a.title,
    activeType: ACTIVE_TYPES.toProto(a.activeType, ActiveType.ACTIVE_TYPE_NORMAL),
    template: TEMPLATES.toProto(a.template),
    virtualParticipants: a.virtual,
    headerImg: a.headerImg,
    ruleLink: a.ruleLink,
    rule: a.rule,
    needAddress: a.needAddress,
    requireUserInfo,
    tips: { ...a.tips },
    prizes: a.prizes.map(toPrize),
    sessions: a.sessions.map((s) => ({ startTime: new Date(s.start), endTime: new Date(s.end - 60_000) })),
    maxPlay: a.maxPlay,
    maxEplay: a.maxEplay,
    maxShare: a.maxShare,
    maxPrize: a.maxPrize,
    share: { ...a.share },
    config: a.config,
    rid: a.rid,
    uniacid: a.uniacid,
    createTime: date(a.createTime),
    updateTime: date(a.updateTime),
  };
}

function toState(v: ActivityView): ActivityState {
  const session = v.state.index >= 0 ? v.activity.sessions[v.state.index] : undefined;
  return {
    phase: PHASES.toProto(v.state.phase),
    legacyStatus: legacyStatus(v.state.phase),
    sessionIndex: v.state.index,
    session: session === undefined ? undefined : { startTime: new Date(session.start), endTime: new Date(session.end - 60_000) },
    participants: v.participants,
    displayedParticipants: v.participants + v.activity.virtual,
  };
}

function toUserState(u: UserView): UserState {
  return {
    openid: u.openid,
    sessionPlays: u.counters.sessionPlays,
    sessionShares: u.counters.sessionShares,
    sessionWins: u.counters.sessionWins,
    totalPlays: u.counters.totalPlays,
    playsLeft: u.playsLeft,
    hasUserInfo: u.hasUserInfo,
  };
}

/** The renewed user token every user RPC answers. */
function renewed(issued: IssuedToken): { token: string; tokenExpireTime: Date } {
  return { token: issued.token, tokenExpireTime: issued.expiresAt };
}

/** What EnterActivity and GetActivityInfo answer. */
function toEntry({ issued, view, user }: UserEntry): EnterActivityResponse {
  return { ...renewed(issued), activity: toUserActivity(view), state: toState(view), user: toUserState(user) };
}

export function toWonPrize(p: WonPrizeView): WonPrize {
  return {
    prizeId: p.prizeId,
    name: p.name,
    type: PRIZE_KINDS.toProto(p.kind),
    legacyType: p.legacyType,
    money: p.money,
    secret: p.secret,
    claimed: p.claimed,
    info: p.info,
    winTime: date(p.winTime),
    claimTime: date(p.claimTime),
  };
}

export function toExportedWinner(w: WinnerExportView): ExportedWinner {
  return {
    winnerId: w.winnerId,
    openid: w.openid,
    nickname: w.nickname,
    name: w.name,
    tel: w.tel,
    address: w.address,
    otherInfo: w.otherInfo,
    prizeId: w.prizeId,
    prizeName: w.prizeName,
    prizeType: PRIZE_KINDS.toProto(w.kind),
    legacyType: w.legacyType,
    money: w.money,
    claimed: w.claimed,
    session: w.session,
    winTime: date(w.winTime),
    claimTime: date(w.claimTime),
    infoTime: date(w.infoTime),
  };
}

export function lotteryRpc(service: LotteryService): ServiceRegistration {
  return defineService({
    definition: LotteryServiceDefinition,
    scopes: {
      saveActivity: 'lottery.admin',
      getActivity: 'lottery.admin',
      listActivityPrizes: 'lottery.admin',
      addWhitelist: 'lottery.admin',
      verifyAward: 'lottery.admin',
      enterActivity: 'lottery',
      getActivityInfo: 'lottery',
      submitUserInfo: 'lottery',
      draw: 'lottery',
      share: 'lottery',
      listMyPrizes: 'lottery',
      listWinners: 'lottery',
      exportWinners: 'lottery.admin',
    },
    handlers: {
      async saveActivity({ activity }) {
        if (activity === undefined) throw errors.invalid('activity', 'is required');
        const v = await service.saveActivity(activity.activityId, toActivityInput(activity), activity.requireUserInfo);
        return { activity: toActivity(v.activity, v.code, v.requireUserInfo) };
      },
      async getActivity({ activityId, code }) {
        const v = await service.getActivity(activityId, code);
        return { activity: toActivity(v.activity, v.code, v.requireUserInfo), state: toState(v) };
      },
      async listActivityPrizes({ activityId }) {
        const { activity, stock } = await service.listPrizes(activityId);
        return {
          prizeVersion: activity.prizeVersion,
          prizes: activity.prizes.map((p) => {
            const s = stock.get(p.id);
            return { prize: toPrize(p), won: Number(s?.won ?? 0), paid: formatMoney(Number(s?.paid_cents ?? 0)), poolKey: poolKey(activity.id, p) };
          }),
        };
      },
      async addWhitelist({ activityId, openids }) {
        return { added: await service.addWhitelist(activityId, openids) };
      },
      async verifyAward({ code, secret, validateOnly }, ctx) {
        return { prize: toWonPrize(await service.verifyAward(code, secret, ctx.app.id, validateOnly)) };
      },
      async enterActivity({ code, openid, nickname, avatar }, ctx) {
        // The entering app (or the legacy app the bridge enters the user for) owns the draw
        // request ids of the token it gets: see tokens.ts.
        return toEntry(await service.enter(code, openid, nickname, avatar, keyOwner(ctx, 'lottery.admin').id));
      },
      async getActivityInfo({ token }) {
        return toEntry(await service.info(token));
      },
      async submitUserInfo({ token, name, tel, address, otherInfo }) {
        return renewed(await service.submitUserInfo(token, { name, tel, address, otherInfo }));
      },
      async draw({ token, requestId, code }, ctx) {
        // The calling app owns the request id only for a token issued before tokens named an owner.
        const { issued, answer, drawId } = await service.draw(token, requestId, code, keyOwner(ctx, 'lottery.admin').id);
        return {
          ...renewed(issued),
          outcome: OUTCOMES.toProto(answer.outcome),
          code: answer.code,
          tip: answer.tip,
          prize: answer.prize === undefined ? undefined : toWonPrize(answer.prize),
          drawId,
        };
      },
      async share({ token }) {
        const { issued, counted, user } = await service.share(token);
        return { ...renewed(issued), counted, user: toUserState(user) };
      },
      async listMyPrizes({ token }) {
        const { issued, prizes } = await service.myPrizes(token);
        return { ...renewed(issued), prizes: prizes.map(toWonPrize) };
      },
      async listWinners({ code }) {
        const rows = await service.winners(code);
        return {
          winners: rows.map((r) => ({
            nickname: maskNameOf(r.nickname),
            avatar: r.headimgurl ?? '',
            prizeName: r.prize_name,
            money: r.money,
            winTime: date(Number(r.create_time)),
          })),
        };
      },
      async *exportWinners({ activityId, physicalOnly, afterWinnerId }, ctx) {
        const pages = service.exportWinners(activityId, { physicalOnly, afterWinnerId, signal: ctx.signal });
        for await (const page of pages) {
          for (const winners of chunkBySize(page, approximateBytes)) yield { winners: winners.map(toExportedWinner) };
        }
      },
    },
  });
}


function maskNameOf(name: string | null): string {
  return maskName(name ?? '');
}
