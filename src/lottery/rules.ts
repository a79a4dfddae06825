/**
 * The pure rules of the lottery: legacy row <-> configuration, validation, sessions in the
 * configured zone, the prize pools of seed 003, red packet amounts. No I/O here.
 */
import { createHash } from 'node:crypto';
import { formatLocal, parseLocalMinute } from '../platform/calendar.js';
import { ActivityConfigInvalidError, errors, PrizesLockedError } from './errors.js';
import { encodePhpJson, parseLenientJson } from './json.js';
import type { ActivityConfig, ActivityInput, PrizeConfig, PrizeKind, SessionWindow, Tips } from './model.js';

export const DEFAULT_TIPS: Tips = {
  haveAward: '今天已经获奖过咯~不要贪心哦！',
  noTimes: '可次数已用完了！',
  noAward: '居然没有中奖？不如休息一下赞个手气！',
  gameOver: '本场活动已结束，请等待下一场活动',
  default: '谢谢！',
};

/** The columns of `ims_scratch_activity`, as either store returns them. */
export interface ActivityRow {
  id: number;
  status: number | string | null;
  active_title: string | null;
  active_time: string | null;
  max_play: number | string | null;
  max_eplay: number | string | null;
  max_share: number | string | null;
  max_prize: number | string | null;
  active_type: number | string | null;
  virtual: number | string | null;
  template: number | string | null;
  header_img: string | null;
  rule_link: string | null;
  rule: string | null;
  need_address: number | string | null;
  tips: string | null;
  prize: string | null;
  isshare: number | string | null;
  share_title: string | null;
  share_desc: string | null;
  share_link: string | null;
  share_img: string | null;
  config: string | null;
  rid: number | string | null;
  uniacid: number | string | null;
  create_time: number | string | null;
  update_time: number | string | null;
}

export const MAX_RED_PACKET_CENTS = 200_00;
export const POOL_SIZE = 1000;

// ---- decimals -------------------------------------------------------------------------------

/** Parses a non-negative decimal (number or string) into an integer scaled by 10^places. */
export function parseDecimal(value: unknown, places: number): number | undefined {
  if (value === undefined || value === null || value === '') return 0;
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : typeof value === 'string' ? value.trim() : '';
  const match = /^(\d{1,12})(?:\.(\d+))?$/.exec(text);
  if (match === null) return undefined;
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > places) return undefined;
  return Number(match[1]) * 10 ** places + Number(fraction.padEnd(places, '0') || '0');
}

export function formatDecimal(scaled: number, places: number): string {
  const unit = 10 ** places;
  const whole = Math.floor(scaled / unit);
  return places === 0 ? String(whole) : `${whole}.${String(scaled % unit).padStart(places, '0')}`;
}

export const formatMoney = (cents: number): string => formatDecimal(cents, 2);
export const formatChance = (tenths: number): string => formatDecimal(tenths, 1).replace(/\.0$/, '');

/** A prize's odds, amounts and texts as both the legacy `prize` column and the API write them. */
export interface PrizeText {
  readonly chance: string;
  readonly money: string;
  readonly min: string;
  readonly max: string;
  readonly img: string;
  readonly link: string;
  readonly desc: string;
  readonly info: string;
}

export function prizeText(p: PrizeConfig): PrizeText {
  return {
    chance: formatChance(p.chance),
    money: formatMoney(p.money),
    min: formatMoney(p.min),
    max: formatMoney(p.max),
    img: p.img,
    link: p.link,
    desc: p.desc,
    info: p.info,
  };
}

// ---- time -----------------------------------------------------------------------------------

/** "2017-06-21 00:00" in the zone <-> epoch ms: the legacy admin's session times. */
export { parseLocalMinute };

export function formatLocalMinute(epochMs: number, timeZone: string): string {
  return formatLocal(epochMs, timeZone, 'minute');
}

export type Phase = 'not_started' | 'ongoing' | 'between' | 'ended';

export interface SessionState {
  readonly phase: Phase;
  /** The running session, or the next one; -1 when none is left. */
  readonly index: number;
}

export function sessionState(sessions: readonly SessionWindow[], nowMs: number): SessionState {
  for (const [index, s] of sessions.entries()) {
    if (nowMs < s.start) return { phase: index === 0 ? 'not_started' : 'between', index };
    if (nowMs < s.end) return { phase: 'ongoing', index };
  }
  return { phase: sessions.length === 0 ? 'not_started' : 'ended', index: -1 };
}

/** Legacy info status: -1 not started (or waiting for the next session), 0 ongoing, 1 ended. */
export function legacyStatus(phase: Phase): number {
  return phase === 'ongoing' ? 0 : phase === 'ended' ? 1 : -1;
}

// ---- legacy row -> configuration --------------------------------------------------------------

function int(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim() || '0') : 0;
  return Number.isFinite(n) ? Math.max(0, Math.trunc(n)) : 0;
}

function str(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return '';
}

function jsonColumn(column: string, text: string | null): unknown {
  if (text === null || text.trim() === '') return undefined;
  try {
    return parseLenientJson(text);
  } catch (err) {
    throw new ActivityConfigInvalidError(column, `is not valid JSON (${(err as Error).message})`);
  }
}

function prizeKind(type: unknown, money: number): PrizeKind {
  const t = str(type).trim().toLowerCase();
  if (t === 'physical' || t === 'red' || t === 'coupon') return t;
  // Older rows used free-form types; money makes it a red packet, anything else goes to the merchant.
  return money > 0 ? 'red' : 'physical';
}

function parsePrize(raw: unknown, id: number): PrizeConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ActivityConfigInvalidError('prize', `element ${id} is not an object`);
  }
  const p = raw as Record<string, unknown>;
  const decimal = (key: string, places: number, value: unknown = p[key]): number => {
    const parsed = parseDecimal(value, places);
    if (parsed === undefined) throw new ActivityConfigInvalidError('prize', `element ${id}: ${key} "${str(value)}" is not a number with at most ${places} decimals`);
    return parsed;
  };
  const money = decimal('money', 2);
  return {
    id,
    kind: prizeKind(p.type, money),
    name: str(p.name),
    sum: decimal('sum', 0),
    // Seed 003 calls the field "probability" in one place; legacy rows use "chance".
    chance: decimal('chance', 1, p.chance ?? p.probability),
    money,
    min: decimal('min', 2),
    max: decimal('max', 2),
    img: str(p.img),
    link: str(p.link),
    desc: str(p.desc),
    info: str(p.info),
  };
}

function parseSessions(text: string | null, timeZone: string): SessionWindow[] {
  const raw = jsonColumn('active_time', text);
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ActivityConfigInvalidError('active_time', 'is not a JSON array');
  return raw.map((item: unknown, i) => {
    const s = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const start = parseLocalMinute(s.start, timeZone);
    const end = parseLocalMinute(s.end, timeZone);
    if (start === undefined || end === undefined || end < start) {
      throw new ActivityConfigInvalidError('active_time', `session ${i} needs "start" <= "end" as "YYYY-MM-DD HH:mm"`);
    }
    return { start, end: end + 60_000 };
  });
}

function parseTips(text: string | null): Tips {
  const raw = jsonColumn('tips', text);
  if (raw === undefined) return DEFAULT_TIPS;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ActivityConfigInvalidError('tips', 'is not a JSON object');
  const t = raw as Record<string, unknown>;
  const pick = (key: string, fallback: string): string => (str(t[key]).trim() === '' ? fallback : str(t[key]));
  return {
    haveAward: pick('have_award', DEFAULT_TIPS.haveAward),
    noTimes: pick('no_times', DEFAULT_TIPS.noTimes),
    noAward: pick('no_award', DEFAULT_TIPS.noAward),
    gameOver: pick('game_over', DEFAULT_TIPS.gameOver),
    default: pick('default', DEFAULT_TIPS.default),
  };
}

export function prizeVersion(prizeText: string | null): string {
  return createHash('sha256')
    .update(prizeText ?? '')
    .digest('hex')
    .slice(0, 16);
}

/** Reads a row as the legacy admin wrote it; a column that cannot be read is named in the error. */
export function parseActivityRow(row: ActivityRow, timeZone: string): ActivityConfig {
  const prizeRaw = jsonColumn('prize', row.prize);
  if (prizeRaw !== undefined && !Array.isArray(prizeRaw)) throw new ActivityConfigInvalidError('prize', 'is not a JSON array');
  const prizes = ((prizeRaw as unknown[] | undefined) ?? []).map(parsePrize);
  return {
    id: Number(row.id),
    enabled: int(row.status) === 1,
    title: str(row.active_title),
    activeType: int(row.active_type) === 2 ? 2 : 1,
    template: int(row.template),
    virtual: int(row.virtual),
    headerImg: str(row.header_img),
    ruleLink: str(row.rule_link),
    rule: str(row.rule),
    needAddress: int(row.need_address) === 1,
    tips: parseTips(row.tips),
    prizes,
    sessions: parseSessions(row.active_time, timeZone),
    maxPlay: int(row.max_play),
    maxEplay: int(row.max_eplay),
    maxShare: int(row.max_share),
    maxPrize: int(row.max_prize),
    share: {
      enabled: int(row.isshare) === 1,
      title: str(row.share_title),
      desc: str(row.share_desc),
      link: str(row.share_link),
      img: str(row.share_img),
    },
    config: str(row.config),
    rid: int(row.rid),
    uniacid: int(row.uniacid),
    createTime: int(row.create_time),
    updateTime: int(row.update_time),
    prizeVersion: prizeVersion(row.prize),
  };
}

/** Wins allowed per session: max_prize, or 1 when unset (seed 003: one win per session). */
export const winsPerSession = (a: ActivityInput): number => (a.maxPrize > 0 ? a.maxPrize : 1);

// ---- configuration -> legacy row --------------------------------------------------------------

export type ActivityColumns = Omit<ActivityRow, 'id'>;

/** The row SaveActivity writes, in the legacy encodings (numbers as strings in JSON, \u escapes). */
export function toActivityColumns(a: ActivityInput, timeZone: string, createTime: number, updateTime: number): ActivityColumns {
  const prize = encodePhpJson(
    a.prizes.map((p) => ({
      type: p.kind,
      name: p.name,
      sum: String(p.sum),
      ...prizeText(p),
    })),
  );
  const activeTime = encodePhpJson(
    a.sessions.map((s) => ({ start: formatLocalMinute(s.start, timeZone), end: formatLocalMinute(s.end - 60_000, timeZone) })),
  );
  const tips = encodePhpJson({
    have_award: a.tips.haveAward,
    no_times: a.tips.noTimes,
    no_award: a.tips.noAward,
    game_over: a.tips.gameOver,
    default: a.tips.default,
  });
  if (prize.length > 65_535) throw errors.invalid('activity.prizes', 'is too large for the legacy prize column');
  if (activeTime.length > 2550) throw errors.invalid('activity.sessions', 'too many sessions for the legacy active_time column');
  if (tips.length > 2550) throw errors.invalid('activity.tips', 'too long for the legacy tips column once escaped');
  return {
    status: a.enabled ? 1 : 0,
    active_title: a.title,
    active_time: activeTime,
    max_play: a.maxPlay,
    max_eplay: a.maxEplay,
    max_share: a.maxShare,
    max_prize: a.maxPrize,
    active_type: a.activeType,
    virtual: a.virtual,
    template: a.template,
    header_img: a.headerImg,
    rule_link: a.ruleLink,
    rule: a.rule,
    need_address: a.needAddress ? 1 : 0,
    tips,
    prize,
    isshare: a.share.enabled ? 1 : 0,
    share_title: a.share.title,
    share_desc: a.share.desc,
    share_link: a.share.link,
    share_img: a.share.img,
    config: a.config,
    rid: a.rid,
    uniacid: a.uniacid,
    create_time: createTime,
    update_time: updateTime,
  };
}

// ---- validation -----------------------------------------------------------------------------

function checkText(field: string, value: string, max: number): void {
  if ([...value].length > max) throw errors.invalid(field, `must be at most ${max} characters`);
}

function checkCount(field: string, value: number, max = 1_000_000): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw errors.invalid(field, `must be an integer between 0 and ${max}`);
}

/** Validates what SaveActivity is asked to write (not legacy rows, which are read leniently). */
export function validateActivity(a: ActivityInput): void {
  if (a.title.trim() === '') throw errors.invalid('activity.title', 'is required');
  checkText('activity.title', a.title, 255);
  if (a.activeType !== 1 && a.activeType !== 2) throw errors.invalid('activity.active_type', 'must be NORMAL or REWARD');
  if (![10, 11, 12].includes(a.template)) throw errors.invalid('activity.template', 'must be SCRATCH_CARD, WHEEL or RED_PACKET');
  checkCount('activity.virtual_participants', a.virtual, 100_000_000);
  for (const [field, value] of [
    ['activity.header_img', a.headerImg],
    ['activity.rule_link', a.ruleLink],
    ['activity.share.title', a.share.title],
    ['activity.share.desc', a.share.desc],
    ['activity.share.link', a.share.link],
    ['activity.share.img', a.share.img],
    ['activity.config', a.config],
  ] as const) {
    checkText(field, value, 255);
  }
  if (Buffer.byteLength(a.rule, 'utf8') > 65_535) throw errors.invalid('activity.rule', 'must be at most 65535 bytes');
  if (a.config.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(a.config) as unknown;
    } catch {
      throw errors.invalid('activity.config', 'must be a JSON object');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw errors.invalid('activity.config', 'must be a JSON object');
  }
  for (const [key, value] of Object.entries(a.tips)) checkText(`activity.tips.${key}`, value, 255);
  checkCount('activity.max_play', a.maxPlay);
  checkCount('activity.max_eplay', a.maxEplay);
  checkCount('activity.max_share', a.maxShare);
  checkCount('activity.max_prize', a.maxPrize);
  checkCount('activity.rid', a.rid, 2_147_483_647);
  checkCount('activity.uniacid', a.uniacid, 2_147_483_647);

  if (a.sessions.length === 0) throw errors.invalid('activity.sessions', 'at least one session is required');
  let previousEnd = -Infinity;
  for (const [i, s] of a.sessions.entries()) {
    const field = `activity.sessions[${i}]`;
    if (!Number.isFinite(s.start) || !Number.isFinite(s.end)) throw errors.invalid(field, 'start_time and end_time are required');
    if (s.start % 60_000 !== 0 || s.end % 60_000 !== 0) throw errors.invalid(field, 'times must be whole minutes');
    if (s.end <= s.start) throw errors.invalid(field, 'end_time must not be before start_time');
    if (s.start < previousEnd) throw errors.invalid(field, 'sessions must be in order and must not overlap');
    previousEnd = s.end;
  }

  if (a.prizes.length > 100) throw errors.invalid('activity.prizes', 'at most 100 prizes');
  let total = 0;
  for (const p of a.prizes) {
    const field = `activity.prizes[${p.id}]`;
    if (p.name.trim() === '') throw errors.invalid(`${field}.name`, 'is required');
    checkText(`${field}.name`, p.name, 255);
    for (const key of ['img', 'link', 'desc', 'info'] as const) checkText(`${field}.${key}`, p[key], 1000);
    if (p.chance < 0 || p.chance > POOL_SIZE) throw errors.invalid(`${field}.chance`, 'must be between 0 and 100 with at most one decimal');
    checkCount(`${field}.sum`, p.sum, 10_000_000);
    total += p.chance;
    if (p.kind === 'red') {
      if (p.money <= 0) throw errors.invalid(`${field}.money`, 'a red packet needs money > 0');
      if (p.money > 100_000_000) throw errors.invalid(`${field}.money`, 'must be at most 1000000.00');
      if (p.sum > 0) {
        if (p.money > MAX_RED_PACKET_CENTS) throw errors.invalid(`${field}.money`, 'a fixed red packet is at most 200.00');
      } else {
        if (p.min <= 0) throw errors.invalid(`${field}.min`, 'a random red packet needs min > 0');
        if (p.max < p.min) throw errors.invalid(`${field}.max`, 'must be at least min');
        if (p.max > MAX_RED_PACKET_CENTS) throw errors.invalid(`${field}.max`, 'must be at most 200.00');
        // A budget below min could never pay one packet: every win would be STOCK_GONE.
        if (p.money < p.min) throw errors.invalid(`${field}.money`, 'a random red packet needs money of at least min');
      }
    } else if (p.sum === 0 && p.chance > 0) {
      throw errors.invalid(`${field}.sum`, 'a prize that can be won needs sum > 0');
    }
  }
  if (total > POOL_SIZE) throw errors.invalid('activity.prizes', 'chances must sum to at most 100');
}

/** Once the first session has started, prizes may only be appended or have chance / count raised. */
export function checkPrizeChange(before: readonly PrizeConfig[], after: readonly PrizeConfig[]): void {
  if (after.length < before.length) throw new PrizesLockedError('activity.prizes', 'prizes cannot be removed');
  for (const old of before) {
    const next = after[old.id] as PrizeConfig;
    const field = `activity.prizes[${old.id}]`;
    if (next.kind !== old.kind || next.name !== old.name) throw new PrizesLockedError(field, 'prizes cannot be replaced or reordered');
    if (next.money !== old.money || next.min !== old.min || next.max !== old.max) {
      throw new PrizesLockedError(`${field}.money`, 'amounts cannot change');
    }
    if (next.chance < old.chance) throw new PrizesLockedError(`${field}.chance`, 'chances can only be raised');
    if (next.sum < old.sum) throw new PrizesLockedError(`${field}.sum`, 'counts can only be raised');
  }
}

// ---- drawing --------------------------------------------------------------------------------

/** Seed 003's pool key: activity id, "prize", chance x 10. */
export const poolKey = (aid: number, p: PrizeConfig): string => `${aid}_prize_${p.chance}`;

export const totalChance = (prizes: readonly PrizeConfig[]): number => prizes.reduce((n, p) => n + p.chance, 0);

/**
 * Each prize owns `chance x 10` of the 1000 slots, laid end to end in prize order; a random slot
 * in [0, 1000) lands in one prize's pool or in none (no win). Callers refuse tables over 100%.
 */
export function pickPrize(prizes: readonly PrizeConfig[], slot: number): PrizeConfig | undefined {
  let end = 0;
  for (const p of prizes) {
    end += p.chance;
    if (slot < end) return p;
  }
  return undefined;
}

export function isRandomRedPacket(p: PrizeConfig): boolean {
  return p.kind === 'red' && p.sum === 0;
}

/** The cents a win of this prize pays, given a uniform integer generator [min, max). */
export function payout(p: PrizeConfig, randomInt: (min: number, max: number) => number): number {
  if (p.kind !== 'red') return 0;
  if (!isRandomRedPacket(p)) return p.money;
  return randomInt(p.min, p.max + 1);
}

/** Masks a nickname for the public winners list: first character, then stars. */
export function maskName(name: string): string {
  const chars = [...name.trim()];
  if (chars.length === 0) return '***';
  if (chars.length <= 2) return `${chars[0]}*`;
  return `${chars[0]}**${chars[chars.length - 1]}`;
}

/** Legacy prize_type: 1 virtual, 2 physical (3 points is not produced). Virtual = claimed when won. */
export function legacyPrizeType(kind: PrizeKind): number {
  return kind === 'physical' ? 2 : 1;
}
