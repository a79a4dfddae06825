/** The lottery's use cases; rules come from rules.ts, SQL from store.ts, time from the clock. */
import { TtlCache } from '../platform/cache.js';
import { requireIdentifier } from '../platform/identifier.js';
import { randomBytes, randomInt } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { keysetPages } from '../platform/export.js';
import type { Logger } from '../platform/logger.js';
import type { Locks } from '../platform/locks.js';
import {
  ActivityConfigInvalidError,
  ActivityNotFoundError,
  AwardAlreadyClaimedError,
  AwardChecksThrottledError,
  AwardNotFoundError,
  errors,
  InvalidUserTokenError,
  NotWhitelistedError,
  OpenidConflictError,
} from './errors.js';
import {
  checkPrizeChange,
  isRandomRedPacket,
  legacyPrizeType,
  parseActivityRow,
  payout,
  pickPrize,
  poolKey,
  POOL_SIZE,
  sessionState,
  toActivityColumns,
  totalChance,
  validateActivity,
  winsPerSession,
  type SessionState,
} from './rules.js';
import type { ActivityConfig, ActivityInput, PrizeConfig, PrizeKind } from './model.js';
import type { Counters, DrawResult, LotteryStore, MetaRow, PersonPrizeRow, StockRow, WinnerExportRow, WinnerRow } from './store.js';
import type { IssuedToken, UserIdentity, UserTokens } from './tokens.js';

export type Outcome =
  | 'win'
  | 'no_award'
  | 'stock_gone'
  | 'no_times'
  | 'have_award'
  | 'not_started'
  | 'game_over'
  | 'closed'
  | 'chances_over_100'
  | 'need_user_info';

/** One prize won with the winner's contact details (the operators' export). */
export interface WinnerExportView {
  readonly winnerId: number;
  readonly openid: string;
  readonly nickname: string;
  readonly name: string;
  readonly tel: string;
  readonly address: string;
  readonly otherInfo: string;
  readonly prizeId: number;
  readonly prizeName: string;
  readonly kind: PrizeKind;
  readonly legacyType: number;
  readonly money: string;
  readonly claimed: boolean;
  readonly session: number;
  /** Unix seconds; 0 when never. */
  readonly winTime: number;
  readonly claimTime: number;
  readonly infoTime: number;
}

export interface WinnerExportOptions {
  readonly physicalOnly: boolean;
  /** Start after this winner id (0: from the first). */
  readonly afterWinnerId: number;
  /** No page is read once it is aborted. */
  readonly signal?: AbortSignal;
}

export interface WonPrizeView {
  readonly prizeId: number;
  readonly name: string;
  readonly kind: PrizeKind;
  readonly legacyType: number;
  readonly money: string;
  readonly secret: string;
  readonly claimed: boolean;
  readonly info: string;
  readonly winTime: number;
  readonly claimTime: number;
}

/** What a draw answers; stored as JSON in the draw log so a replay returns it unchanged. */
export interface DrawAnswer {
  readonly outcome: Outcome;
  readonly code: number;
  readonly tip: string;
  readonly prize?: WonPrizeView;
}

export interface ActivityView {
  readonly activity: ActivityConfig;
  readonly code: string;
  readonly requireUserInfo: boolean;
  readonly state: SessionState;
  readonly participants: number;
}

export interface UserView {
  readonly openid: string;
  readonly counters: Counters;
  /** -1 when unlimited. */
  readonly playsLeft: number;
  readonly hasUserInfo: boolean;
}

/** A user let in, or back: their renewed token, the activity as they see it and their state. */
export interface UserEntry {
  readonly issued: IssuedToken;
  readonly view: ActivityView;
  readonly user: UserView;
}

export interface UserInfoForm {
  readonly name: string;
  readonly tel: string;
  readonly address: string;
  readonly otherInfo: string;
}

/** How long an activity's settings are cached unless HUODONG_LOTTERY_CACHE_TTL_MS says otherwise. */
export const DEFAULT_CACHE_MS = 1_000;
/** Draw transactions in flight per process; kept under the connection pool so bursts queue here. */
const DRAW_CONCURRENCY = 24;

/** A counting semaphore without timeout: callers are bounded by their own gRPC deadline. */
class Gate {
  private readonly waiting: Array<() => void> = [];
  constructor(private free: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.free += 1;
    }
  }
}
const NEED_INFO_TIP = '请先填写您的信息';
/** Failed award checks one caller may make in one activity per window before being refused. */
export const AWARD_CHECK_FAILURES = 10;
export const AWARD_CHECK_WINDOW_MS = 10 * 60_000;

/** API field names of the legacy columns huodong writes. */
const COLUMN_FIELDS: Readonly<Record<string, string>> = {
  active_title: 'activity.title',
  rule: 'activity.rule',
  rule_link: 'activity.rule_link',
  header_img: 'activity.header_img',
  prize: 'activity.prizes',
  tips: 'activity.tips',
  share_title: 'activity.share.title',
  share_desc: 'activity.share.desc',
  share_link: 'activity.share.link',
  share_img: 'activity.share.img',
  config: 'activity.config',
  nickname: 'nickname',
  headimgurl: 'avatar',
  name: 'name',
  tel: 'tel',
  address: 'address',
  other_info: 'other_info',
};

/**
 * Turns MySQL's "Incorrect string value … for column `db`.`t`.`col`" (errno 1366) into
 * INVALID_ARGUMENT naming the field: a legacy table in utf8 (utf8mb3) cannot store a character
 * outside the BMP, such as an emoji. Anything else is rethrown as is.
 */
async function legacyColumnWrite<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (typeof err === 'object' && err !== null && 'errno' in err && err.errno === 1366) {
      const message = 'sqlMessage' in err && typeof err.sqlMessage === 'string' ? err.sqlMessage : '';
      const column = /for column [`'"]?(?:[^`'"\s]+[`'"]?\.[`'"]?)*([\w]+)[`'"]? at row/.exec(message)?.[1] ?? '';
      throw errors.invalid(COLUMN_FIELDS[column] ?? (column || 'text'), 'holds a character the legacy column cannot store (an emoji in a utf8mb3 column)');
    }
    throw err;
  }
}

function text(field: string, value: string | undefined, max: number, required = false): string {
  const v = (value ?? '').trim();
  if (required && v === '') throw errors.invalid(field, 'is required');
  if ([...v].length > max) throw errors.invalid(field, `must be at most ${max} characters`);
  return v;
}

export function validateOpenid(openid: string | undefined, field = 'openid'): string {
  return requireIdentifier(openid, field, { errors });
}

export function validateRequestId(id: string | undefined): string {
  if (id === undefined || !/^[\w.:-]{1,64}$/.test(id)) throw errors.invalid('request_id', 'must be 1..64 of letters, digits, "_", ".", ":" or "-"');
  return id;
}

function validateCode(code: string | undefined): string {
  if (code === undefined || !/^[\w-]{1,32}$/.test(code)) throw errors.invalid('code', 'is required (the activity code)');
  return code;
}

export function validateUserInfo(form: Partial<UserInfoForm>, needAddress: boolean): UserInfoForm {
  const name = text('name', form.name, 64, true);
  const tel = text('tel', form.tel, 20, true);
  if (!/^\+?\d[\d -]{3,18}\d$/.test(tel)) throw errors.invalid('tel', 'must be a phone number');
  const address = text('address', form.address, 255, needAddress);
  const otherInfo = text('other_info', form.otherInfo, 1000);
  return { name, tel, address, otherInfo };
}

/** 16 random digits: what the merchant types or scans. */
function newSecret(): string {
  return `${randomInt(1e8, 1e9)}${String(randomInt(0, 1e8)).padStart(8, '0')}`.slice(1);
}

function newCode(): string {
  return randomBytes(12).toString('base64url');
}

export function wonPrizeView(row: PersonPrizeRow, info: string): WonPrizeView {
  const kind: PrizeKind = Number(row.prize_type) === 2 ? 'physical' : Number(row.money) > 0 ? 'red' : 'coupon';
  return {
    prizeId: Number(row.prize_id),
    name: row.prize_name,
    kind,
    legacyType: Number(row.prize_type),
    money: row.money,
    secret: row.secret,
    claimed: Number(row.status) === 1,
    info,
    winTime: Number(row.create_time),
    claimTime: Number(row.claim_time),
  };
}

function winnerExportView(row: WinnerExportRow): WinnerExportView {
  return {
    winnerId: Number(row.id),
    openid: row.openid,
    nickname: row.nickname ?? '',
    name: row.name ?? '',
    tel: row.tel ?? '',
    address: row.address ?? '',
    otherInfo: row.other_info ?? '',
    prizeId: Number(row.prize_id),
    prizeName: row.prize_name,
    // As wonPrizeView tells them apart.
    kind: Number(row.prize_type) === 2 ? 'physical' : Number(row.money) > 0 ? 'red' : 'coupon',
    legacyType: Number(row.prize_type),
    money: row.money,
    claimed: Number(row.status) === 1,
    session: Number(row.session),
    winTime: Number(row.create_time),
    claimTime: Number(row.claim_time),
    infoTime: Number(row.info_time ?? 0),
  };
}

export interface LotteryServiceDeps {
  readonly store: LotteryStore;
  readonly clock: Clock;
  readonly locks: Locks;
  readonly tokens: UserTokens;
  readonly timeZone: string;
  readonly logger: Logger;
  /** How long an activity's settings are cached (HUODONG_LOTTERY_CACHE_TTL_MS); 0 reads them on every call. */
  readonly cacheMs?: number;
}

export class LotteryService {
  /** Activities by id: the parsed settings, the reason they do not parse, or none (deleted). */
  private readonly cache: TtlCache<number, { readonly value: ActivityConfig | ActivityConfigInvalidError | undefined }>;
  private readonly gate = new Gate(DRAW_CONCURRENCY);
  /** A code never changes hands, so a found one is remembered for good (within the entry cap). */
  private readonly codes: TtlCache<string, number>;
  private readonly metaCache: TtlCache<number, MetaRow>;
  private readonly stockEnsured = new Set<string>();
  private readonly exhausted = new Set<string>();
  /** Failed award checks per activity and caller (verifyAward), in this process. */
  private readonly failedChecks: TtlCache<string, { readonly since: number; failures: number }>;
  /** Counter rows known to exist (they are never deleted), so a draw need not insert them. */
  private readonly countersEnsured = new Set<string>();

  constructor(private readonly deps: LotteryServiceDeps) {
    const ttlMs = deps.cacheMs ?? DEFAULT_CACHE_MS;
    this.cache = new TtlCache(deps.clock, { max: 10_000, ttlMs });
    this.metaCache = new TtlCache(deps.clock, { max: 10_000, ttlMs });
    this.codes = new TtlCache(deps.clock, { max: 100_000, ttlMs: Number.MAX_SAFE_INTEGER / 2 });
    this.failedChecks = new TtlCache(deps.clock, { max: 100_000, ttlMs: AWARD_CHECK_WINDOW_MS });
  }

  private nowSeconds(): number {
    return Math.floor(this.deps.clock.now().getTime() / 1000);
  }

  /** Reads an activity (briefly cached: the legacy admin's edits show within HUODONG_LOTTERY_CACHE_TTL_MS). */
  private async config(aid: number, fresh = false): Promise<ActivityConfig> {
    let entry = fresh ? undefined : this.cache.get(aid);
    if (entry === undefined) {
      const row = await this.deps.store.activityRow(aid);
      let value: ActivityConfig | ActivityConfigInvalidError | undefined;
      try {
        value = row === undefined ? undefined : parseActivityRow(row, this.deps.timeZone);
      } catch (err) {
        if (!(err instanceof ActivityConfigInvalidError)) throw err;
        value = err;
      }
      entry = { value };
      this.cache.set(aid, entry);
    }
    if (entry.value === undefined) throw new ActivityNotFoundError();
    if (entry.value instanceof ActivityConfigInvalidError) throw entry.value;
    return entry.value;
  }

  private async meta(aid: number, cached = false): Promise<MetaRow> {
    const hit = cached ? this.metaCache.get(aid) : undefined;
    if (hit !== undefined) return hit;
    const meta = (await this.deps.store.metaByAid(aid)) ?? (await this.deps.store.ensureMeta(aid, newCode(), this.nowSeconds()));
    this.metaCache.set(aid, meta);
    return meta;
  }

  private async aidOfCode(code: string | undefined): Promise<number> {
    const valid = validateCode(code);
    const known = this.codes.get(valid);
    if (known !== undefined) return known;
    const meta = await this.deps.store.metaByCode(valid);
    let aid = meta === undefined ? undefined : Number(meta.aid);
    // Old links name a legacy activity by its row id (…/index/code/42); they keep working.
    if (aid === undefined && /^[1-9]\d{0,9}$/.test(valid) && Number(valid) <= 0xffffffff && (await this.deps.store.activityRow(Number(valid))) !== undefined) {
      aid = Number(valid);
    }
    if (aid === undefined) throw new ActivityNotFoundError();
    this.codes.set(valid, aid);
    return aid;
  }

  private async view(aid: number): Promise<ActivityView> {
    const activity = await this.config(aid);
    const meta = await this.meta(aid);
    return {
      activity,
      code: meta.code,
      requireUserInfo: Boolean(meta.require_user_info),
      state: sessionState(activity.sessions, this.deps.clock.now().getTime()),
      participants: Number(meta.participants),
    };
  }

  private async userView(activity: ActivityConfig, state: SessionState, user: UserIdentity, hasUserInfo: boolean): Promise<UserView> {
    const counters = await this.deps.store.counters(activity.id, user.openid, state.phase === 'ongoing' ? state.index : -2);
    const limits: number[] = [];
    if (activity.maxEplay > 0) limits.push(activity.maxEplay + counters.sessionShares - counters.sessionPlays);
    if (activity.maxPlay > 0) limits.push(activity.maxPlay - counters.totalPlays);
    if (counters.sessionWins >= winsPerSession(activity) || state.phase !== 'ongoing') limits.push(0);
    return { openid: user.openid, counters, playsLeft: limits.length === 0 ? -1 : Math.max(0, Math.min(...limits)), hasUserInfo };
  }

  // ---- admin --------------------------------------------------------------------------------

  async saveActivity(aidRaw: number, input: ActivityInput, requireUserInfo: boolean): Promise<ActivityView> {
    validateActivity(input);
    const now = this.nowSeconds();
    let aid = aidRaw;
    if (aid === 0) {
      aid = await legacyColumnWrite(() => this.deps.store.insertActivity(toActivityColumns(input, this.deps.timeZone, now, now)));
    } else {
      const row = await this.deps.store.activityRow(aid);
      if (row === undefined) throw new ActivityNotFoundError();
      let before: ActivityConfig | undefined;
      try {
        before = parseActivityRow(row, this.deps.timeZone);
      } catch (err) {
        // A broken legacy row is what an admin fixes by saving a good one over it.
        if (!(err instanceof ActivityConfigInvalidError)) throw err;
      }
      // Started means started for good: the stored first session may since have been moved
      // into the future, so a play already taken (by huodong or the legacy game) locks too.
      const startedByTime = (before?.sessions[0]?.start ?? Infinity) <= this.deps.clock.now().getTime();
      if (before !== undefined && (startedByTime || (await this.deps.store.hasPlays(aid)))) {
        checkPrizeChange(before.prizes, input.prizes);
      }
      const { create_time: _keep, ...columns } = toActivityColumns(input, this.deps.timeZone, Number(row.create_time ?? now), now);
      await legacyColumnWrite(() => this.deps.store.updateActivity(aid, columns));
    }
    await this.meta(aid);
    await this.deps.store.setRequireUserInfo(aid, requireUserInfo);
    this.cache.delete(aid);
    this.metaCache.delete(aid);
    await this.config(aid, true);
    return this.view(aid);
  }

  async getActivity(aid: number, code: string): Promise<ActivityView> {
    return this.view(aid > 0 ? aid : await this.aidOfCode(code));
  }

  async listPrizes(aid: number): Promise<{ activity: ActivityConfig; stock: Map<number, StockRow> }> {
    if (aid <= 0) throw errors.invalid('activity_id', 'is required');
    const activity = await this.config(aid, true);
    const rows = await this.deps.store.stock(aid);
    return { activity, stock: new Map(rows.map((r) => [Number(r.prize_id), r])) };
  }

  async addWhitelist(aid: number, openids: readonly string[]): Promise<number> {
    if (aid <= 0) throw errors.invalid('activity_id', 'is required');
    if (openids.length === 0 || openids.length > 1000) throw errors.invalid('openids', 'must hold 1..1000 users');
    const clean = [...new Set(openids.map((o, i) => validateOpenid(o, `openids[${i}]`)))];
    if ((await this.deps.store.activityRow(aid)) === undefined) throw new ActivityNotFoundError();
    return this.deps.store.addWhitelist(aid, clean, this.nowSeconds());
  }

  /**
   * The merchant's check of a winner's secret, by the app `caller`. `validateOnly` shows the
   * prize without claiming it; otherwise the first check of an unclaimed prize claims it.
   * Failed checks (no such secret, already claimed) count against the caller in this activity:
   * after AWARD_CHECK_FAILURES within AWARD_CHECK_WINDOW_MS every check is refused until the
   * window has passed, so secrets cannot be guessed by trying.
   */
  async verifyAward(code: string, secretRaw: string, caller: string, validateOnly = false): Promise<WonPrizeView> {
    const aid = await this.aidOfCode(code);
    const throttleKey = `${aid}\u0000${caller}`;
    this.checkThrottle(throttleKey);
    const secret = (secretRaw ?? '').trim();
    if (!/^\d{1,32}$/.test(secret)) throw errors.invalid('secret', 'must be the digits of a verification secret');
    const now = this.nowSeconds();
    const claimed = validateOnly ? false : await this.deps.store.claim(aid, secret, now);
    const row = await this.deps.store.prizeBySecret(aid, secret);
    if (row === undefined) {
      this.countFailedCheck(throttleKey);
      throw new AwardNotFoundError();
    }
    if (validateOnly ? Number(row.status) === 1 : !claimed) {
      this.countFailedCheck(throttleKey);
      throw new AwardAlreadyClaimedError();
    }
    return wonPrizeView(row, await this.prizeInfo(aid, Number(row.prize_id)));
  }

  private checkThrottle(key: string): void {
    const entry = this.failedChecks.get(key);
    if (entry === undefined) return;
    const now = this.deps.clock.now().getTime();
    if (entry.failures >= AWARD_CHECK_FAILURES) throw new AwardChecksThrottledError(Math.ceil((entry.since + AWARD_CHECK_WINDOW_MS - now) / 1000));
  }

  private countFailedCheck(key: string): void {
    const entry = this.failedChecks.get(key);
    if (entry === undefined) {
      // The window starts at the first failure; the entry lives until it ends.
      this.failedChecks.set(key, { since: this.deps.clock.now().getTime(), failures: 1 });
    } else {
      entry.failures += 1;
    }
  }

  private async prizeInfo(aid: number, prizeId: number): Promise<string> {
    try {
      return (await this.config(aid)).prizes[prizeId]?.info ?? '';
    } catch {
      return '';
    }
  }

  // ---- users --------------------------------------------------------------------------------

  /**
   * Lets a user in and issues their token. `owner` (the entering app, platform/owner.ts) goes
   * into the token: it owns the draw request ids of every call presenting it (see tokens.ts).
   */
  async enter(code: string, openidRaw: string, nickname: string, avatar: string, owner: string): Promise<UserEntry> {
    const openid = validateOpenid(openidRaw);
    const nick = text('nickname', nickname, 64);
    const avatarUrl = text('avatar', avatar, 255);
    const aid = await this.aidOfCode(code);
    const activity = await this.config(aid);
    if (activity.activeType === 2 && !(await this.deps.store.isWhitelisted(aid, openid))) throw new NotWhitelistedError();
    const person = await legacyColumnWrite(() => this.deps.store.upsertPerson(aid, openid, nick, avatarUrl, this.nowSeconds()));
    if (person === undefined) throw new OpenidConflictError();
    const identity = { aid, pid: Number(person.id), openid, owner };
    const view = await this.view(aid);
    if (view.state.index >= 0) await this.ensureCounters(aid, openid, view.state.index);
    const user = await this.userView(view.activity, view.state, identity, Number(person.info_time) > 0);
    return { issued: this.deps.tokens.issue(identity), view, user };
  }

  async info(token: string): Promise<UserEntry> {
    const identity = this.deps.tokens.verify(token);
    const view = await this.view(identity.aid);
    const person = await this.deps.store.person(identity.aid, identity.openid);
    const user = await this.userView(view.activity, view.state, identity, Number(person?.info_time ?? 0) > 0);
    return { issued: this.deps.tokens.issue(identity), view, user };
  }

  async submitUserInfo(token: string, form: Partial<UserInfoForm>): Promise<IssuedToken> {
    const identity = this.deps.tokens.verify(token);
    const activity = await this.config(identity.aid);
    const clean = validateUserInfo(form, activity.needAddress);
    if (!(await legacyColumnWrite(() => this.deps.store.submitInfo(identity.aid, identity.openid, clean, this.nowSeconds())))) {
      throw new InvalidUserTokenError('enter the activity again');
    }
    return this.deps.tokens.issue(identity);
  }

  async share(token: string): Promise<{ issued: IssuedToken; counted: boolean; user: UserView }> {
    const identity = this.deps.tokens.verify(token);
    const activity = await this.config(identity.aid);
    const state = sessionState(activity.sessions, this.deps.clock.now().getTime());
    const counted =
      activity.enabled &&
      activity.share.enabled &&
      state.phase === 'ongoing' &&
      activity.maxShare > 0 &&
      (await this.deps.store.share(identity.aid, identity.openid, state.index, activity.maxShare));
    const person = await this.deps.store.person(identity.aid, identity.openid);
    const user = await this.userView(activity, state, identity, Number(person?.info_time ?? 0) > 0);
    return { issued: this.deps.tokens.issue(identity), counted, user };
  }

  async myPrizes(token: string): Promise<{ issued: IssuedToken; prizes: WonPrizeView[] }> {
    const identity = this.deps.tokens.verify(token);
    const rows = await this.deps.store.myPrizes(identity.aid, identity.openid);
    let prizes: readonly PrizeConfig[] = [];
    try {
      prizes = (await this.config(identity.aid)).prizes;
    } catch (err) {
      if (!(err instanceof ActivityConfigInvalidError)) throw err;
    }
    return {
      issued: this.deps.tokens.issue(identity),
      prizes: rows.map((r) => wonPrizeView(r, prizes[Number(r.prize_id)]?.info ?? '')),
    };
  }

  async winners(code: string): Promise<WinnerRow[]> {
    return this.deps.store.winners(await this.aidOfCode(code), 10);
  }

  /**
   * Every winner of the activity with their contact details, oldest first, one keyset page
   * (EXPORT_PAGE_ROWS) at a time: the next page is read only when the consumer asks for it, so
   * the export holds one page in memory whatever its size. Works on an activity whose
   * configuration no longer parses: its winners still need their prizes.
   */
  async *exportWinners(aid: number, options: WinnerExportOptions): AsyncGenerator<WinnerExportView[], void, undefined> {
    if (aid <= 0) throw errors.invalid('activity_id', 'is required');
    if ((await this.deps.store.activityRow(aid)) === undefined) throw new ActivityNotFoundError();
    const pages = keysetPages(
      (after: number, limit) => this.deps.store.winnersExportPage(aid, after, limit, options.physicalOnly),
      (row) => Number(row.id),
      { after: options.afterWinnerId, ...(options.signal === undefined ? {} : { signal: options.signal }) },
    );
    for await (const rows of pages) yield rows.map(winnerExportView);
  }

  // ---- draw ---------------------------------------------------------------------------------

  /**
   * One draw, once per (owner, activity, openid, request id): the owner is the token's (the app
   * that entered the user), or `caller`'s for a token issued before tokens named one, and the
   * re-issued token names it from then on. The same request id of another owner is another draw.
   */
  async draw(token: string, requestIdRaw: string, code: string, caller: string): Promise<{ issued: IssuedToken; answer: DrawAnswer; drawId: string }> {
    const verified = this.deps.tokens.verify(token);
    const identity = { ...verified, owner: verified.owner ?? caller };
    if (code !== '' && (await this.aidOfCode(code)) !== identity.aid) throw new InvalidUserTokenError('the user token is for another activity');
    const requestId = validateRequestId(requestIdRaw);
    const activity = await this.config(identity.aid);
    const work = (): Promise<{ answer: DrawAnswer; drawId: string }> => this.gate.run(() => this.drawLocked(identity, requestId, activity));
    // The lock only spares the database some contention; with the lock service down the draw
    // still runs, and the database still decides every limit.
    const { answer, drawId } = await this.deps.locks.withLock(`lottery:draw:${identity.aid}:${identity.openid}`, work, {
      busy: errors.lockBusy,
      ifUnavailable: 'proceed',
    });
    return { issued: this.deps.tokens.issue(identity), answer, drawId };
  }

  private async drawLocked(user: UserIdentity & { owner: string }, requestId: string, activity: ActivityConfig): Promise<{ answer: DrawAnswer; drawId: string }> {
    const { store, clock } = this.deps;
    const now = clock.now().getTime();
    const state = sessionState(activity.sessions, now);
    const tips = activity.tips;
    const early = async (outcome: Outcome, tip: string, code = 200): Promise<{ answer: DrawAnswer; drawId: string }> => {
      const logged = await store.logOnly(
        {
          owner: user.owner,
          aid: activity.id,
          openid: user.openid,
          requestId,
          session: state.index,
          slot: -1,
          prizeVersion: activity.prizeVersion,
          poolKey: null,
          prizeId: null,
          outcome,
          paidCents: 0,
          now: Math.floor(now / 1000),
        },
        JSON.stringify({ outcome, code, tip } satisfies DrawAnswer),
      );
      return { answer: JSON.parse(logged.response) as DrawAnswer, drawId: logged.id };
    };
    if (!activity.enabled) return early('closed', tips.default);
    if (state.phase === 'not_started') return early('not_started', tips.default);
    if (state.phase !== 'ongoing') return early('game_over', tips.gameOver);
    if (totalChance(activity.prizes) > POOL_SIZE) return early('chances_over_100', tips.default);
    const meta = await this.meta(activity.id, true);
    if (Boolean(meta.require_user_info)) {
      const person = await store.person(activity.id, user.openid);
      if (Number(person?.info_time ?? 0) === 0) return early('need_user_info', NEED_INFO_TIP, 201);
    }

    const versionKey = `${activity.id}:${activity.prizeVersion}`;
    if (!this.stockEnsured.has(versionKey)) {
      await store.ensureStock(activity.id, activity.prizes.map((p) => p.id));
      this.stockEnsured.add(versionKey);
    }
    await this.ensureCounters(activity.id, user.openid, state.index);
    const slot = randomInt(POOL_SIZE);
    const prize = pickPrize(activity.prizes, slot);
    const exhaustedKey = prize === undefined ? '' : `${versionKey}:${prize.id}`;
    const cents = prize === undefined ? 0 : payout(prize, randomInt);
    const secret = newSecret();
    const nowSeconds = Math.floor(now / 1000);
    const logged = await store.draw(
      {
        owner: user.owner,
        aid: activity.id,
        pid: user.pid,
        openid: user.openid,
        session: state.index,
        requestId,
        now: nowSeconds,
        maxSessionPlays: activity.maxEplay > 0 ? activity.maxEplay : undefined,
        maxTotalPlays: activity.maxPlay > 0 ? activity.maxPlay : undefined,
        maxWins: winsPerSession(activity),
        slot,
        prizeVersion: activity.prizeVersion,
        ...(prize === undefined
          ? {}
          : {
              win: {
                prizeId: prize.id,
                prizeName: prize.name,
                poolKey: poolKey(activity.id, prize),
                legacyType: legacyPrizeType(prize.kind),
                claimedWhenWon: prize.kind !== 'physical',
                claim: isRandomRedPacket(prize)
                  ? { kind: 'budget', money: prize.money, cents, min: prize.min }
                  : { kind: 'count', sum: prize.sum, cents },
                secret,
                knownExhausted: this.exhausted.has(exhaustedKey),
              },
            }),
      },
      (result) => JSON.stringify(this.answerOf(result, activity, prize, nowSeconds)),
    );
    if (logged.result?.kind === 'stock_gone') {
      if (this.exhausted.size > 100_000) this.exhausted.clear();
      this.exhausted.add(exhaustedKey);
    }
    return { answer: JSON.parse(logged.response) as DrawAnswer, drawId: logged.id };
  }

  /** Creates the user's counter rows once per process (Enter does it ahead of the first draw). */
  private async ensureCounters(aid: number, openid: string, session: number): Promise<void> {
    const key = `${aid}:${openid}:${session}`;
    if (this.countersEnsured.has(key)) return;
    await this.deps.store.ensureCounters(aid, openid, session);
    if (this.countersEnsured.size > 200_000) this.countersEnsured.clear();
    this.countersEnsured.add(key);
  }

  private answerOf(result: DrawResult, activity: ActivityConfig, prize: PrizeConfig | undefined, now: number): DrawAnswer {
    const tips = activity.tips;
    switch (result.kind) {
      case 'no_times':
        return { outcome: 'no_times', code: 200, tip: tips.noTimes };
      case 'have_award':
        return { outcome: 'have_award', code: 200, tip: tips.haveAward };
      case 'no_award':
        return { outcome: 'no_award', code: 200, tip: tips.noAward };
      case 'stock_gone':
        return { outcome: 'stock_gone', code: 200, tip: tips.noAward };
      case 'win': {
        const p = prize as PrizeConfig;
        const claimed = p.kind !== 'physical';
        return {
          outcome: 'win',
          code: 200,
          tip: p.name,
          prize: {
            prizeId: p.id,
            name: p.name,
            kind: p.kind,
            legacyType: legacyPrizeType(p.kind),
            money: `${Math.floor(result.cents / 100)}.${String(result.cents % 100).padStart(2, '0')}`,
            secret: result.secret,
            claimed,
            info: p.info,
            winTime: now,
            claimTime: claimed ? now : 0,
          },
        };
      }
    }
  }
}
