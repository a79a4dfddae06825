/**
 * The lottery's domain types: an activity's settings, its prizes and sessions, as the rules
 * (rules.ts) parse them from the stored row and the service and RPC layer speak them.
 */

export type PrizeKind = 'physical' | 'red' | 'coupon';

export interface PrizeConfig {
  readonly id: number;
  readonly kind: PrizeKind;
  readonly name: string;
  readonly sum: number;
  /** Chance in tenths of a percent (10.5% -> 105); the pool key uses this number. */
  readonly chance: number;
  /** Cents. Fixed red packet: per packet; random red packet: the whole budget. */
  readonly money: number;
  readonly min: number;
  readonly max: number;
  readonly img: string;
  readonly link: string;
  readonly desc: string;
  readonly info: string;
}

/** A session in epoch ms: [start, end), where end is one minute after the legacy "end" minute. */
export interface SessionWindow {
  readonly start: number;
  readonly end: number;
}

export interface Tips {
  readonly haveAward: string;
  readonly noTimes: string;
  readonly noAward: string;
  readonly gameOver: string;
  readonly default: string;
}

export interface ShareCardConfig {
  readonly enabled: boolean;
  readonly title: string;
  readonly desc: string;
  readonly link: string;
  readonly img: string;
}

/** What SaveActivity writes; the editable part of an activity. */
export interface ActivityInput {
  readonly enabled: boolean;
  readonly title: string;
  readonly activeType: number;
  readonly template: number;
  readonly virtual: number;
  readonly headerImg: string;
  readonly ruleLink: string;
  readonly rule: string;
  readonly needAddress: boolean;
  readonly tips: Tips;
  readonly prizes: readonly PrizeConfig[];
  readonly sessions: readonly SessionWindow[];
  readonly maxPlay: number;
  readonly maxEplay: number;
  readonly maxShare: number;
  /** As stored; 0 means the default of one win per session. */
  readonly maxPrize: number;
  readonly share: ShareCardConfig;
  readonly config: string;
  readonly rid: number;
  readonly uniacid: number;
}

export interface ActivityConfig extends ActivityInput {
  readonly id: number;
  readonly createTime: number;
  readonly updateTime: number;
  /** Hash of the prize column's text: which prize table a draw used. */
  readonly prizeVersion: string;
}
