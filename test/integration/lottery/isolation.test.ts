/**
 * Draw request ids belong to an app (issue 13.2), as member orders do (platform/owner.ts): the
 * same request id used by two apps is two draws, and one app never gets the other's stored draw
 * (with its prize secret). The owner is the app that entered the user, named in the user token
 * (lottery/tokens.ts), so an app relaying a user's token acts for that app: the bridge relays
 * every browser's draws with its own per-instance app. Draws from before request ids had owners
 * (owner '') are never replayed.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { pino } from 'pino';
import { GrpcStatus, lottery as pb, type Clients } from '@huodong/clients';
import { signRequest } from '../../../src/member/bridge.js';
import { ENTRY_PATH, entrySignedParams } from '../../../src/lottery/bridge.js';
import { UserTokens } from '../../../src/lottery/tokens.js';
import { expectError } from '../../support/errors.js';
import { describeLottery, newOpenid, prize, save, type LotteryCtx } from './support.js';

const O = pb.Outcome;

interface LogRow {
  id: number | string;
  owner: string;
  request_id: string;
  response: string;
}

async function logOf(ctx: LotteryCtx, aid: number, requestId: string): Promise<LogRow[]> {
  return ctx.t.app.db.knex('lottery_draw_log').where({ aid, request_id: requestId }).orderBy('id').select('id', 'owner', 'request_id', 'response');
}

describeLottery('lottery draw request ids per app', (ctx) => {
  let appA: Clients['lottery'];
  let appB: Clients['lottery'];
  let admin: Clients['lottery'];

  before(async () => {
    appA = (await ctx().t.clientsWithScopes(['lottery'])).clients.lottery;
    appB = (await ctx().t.clientsWithScopes(['lottery'])).clients.lottery;
    admin = (await ctx().t.clientsWithScopes(['lottery', 'lottery.admin'])).clients.lottery;
  });

  const enterAs = async (app: Clients['lottery'], code: string, openid: string): Promise<string> =>
    (await app.enterActivity({ code, openid, nickname: 'n', avatar: '' })).token;

  it("another app's draw with the same request id is its own draw, never the first app's stored draw or prize secret", async () => {
    const a = await save(ctx(), { maxPrize: 2, prizes: [prize({ sum: 10, chance: '100' })] });
    const openid = newOpenid();
    const requestId = `same-${randomUUID()}`;
    const first = await appA.draw({ token: await enterAs(appA, a.code, openid), requestId });
    expect(first.outcome).to.equal(O.OUTCOME_WIN);
    const secret = first.prize?.secret ?? '';
    expect(secret).to.not.equal('');

    const tokenB = await enterAs(appB, a.code, openid);
    const other = await appB.draw({ token: tokenB, requestId });
    expect(other.drawId).to.not.equal(first.drawId);
    expect(other.outcome).to.equal(O.OUTCOME_WIN);
    expect(other.prize?.secret).to.not.equal(secret);
    expect(JSON.stringify(other)).to.not.contain(secret);
    // Each app's retry answers its own draw.
    expect(await appB.draw({ token: tokenB, requestId })).to.deep.include({ drawId: other.drawId, prize: other.prize });
    expect(await appA.draw({ token: await enterAs(appA, a.code, openid), requestId })).to.deep.include({ drawId: first.drawId, prize: first.prize });

    const rows = await logOf(ctx(), a.activityId, requestId);
    expect(rows).to.have.length(2);
    expect(new Set(rows.map((r) => r.owner)).size).to.equal(2);
    expect(rows.map((r) => r.owner)).to.not.include('');
  });

  it('the app that entered the user owns the draws of its token, whichever app relays it', async () => {
    const a = await save(ctx(), { maxPrize: 2, prizes: [prize({ sum: 10, chance: '100' })] });
    const tokenA = await enterAs(appA, a.code, newOpenid());
    const requestId = `relay-${randomUUID()}`;
    const first = await appA.draw({ token: tokenA, requestId });
    // A relay (the bridge relays every browser's token) retrying the user's draw gets that draw.
    const relayed = await appB.draw({ token: tokenA, requestId });
    expect(relayed).to.deep.include({ drawId: first.drawId, prize: first.prize });
    // Its re-issued token still names app A: a later draw relayed by B is A's too.
    const later = await appB.draw({ token: relayed.token, requestId: `relay-2-${randomUUID()}` });
    expect(later.outcome).to.equal(O.OUTCOME_WIN);
    const owners = (await ctx().t.app.db.knex('lottery_draw_log').where({ aid: a.activityId }).distinct('owner')) as Array<{ owner: string }>;
    expect(owners).to.have.length(1);
    expect(owners[0]?.owner).to.not.equal('');
  });

  it("draws from before request ids had owners (owner '') are never replayed, not even to a lottery.admin app", async () => {
    const a = await save(ctx(), { maxPrize: 3, prizes: [prize({ sum: 10, chance: '100' })] });
    const openid = newOpenid();
    const requestId = `old-${randomUUID()}`;
    const oldSecret = 'OLDSECRET0000001';
    const { knex } = ctx().t.app.db;
    // As the migration leaves a draw of the previous release.
    await knex('lottery_draw_log').insert({
      aid: a.activityId,
      openid,
      owner: '',
      request_id: requestId,
      session: 0,
      slot: 1,
      prize_version: 'v0',
      pool_key: null,
      prize_id: 0,
      outcome: 'win',
      paid_cents: 0,
      response: JSON.stringify({ outcome: 'win', code: 200, tip: 'old', prize: { secret: oldSecret } }),
      create_time: 1,
    });
    const [legacy] = await logOf(ctx(), a.activityId, requestId);
    for (const app of [appA, admin]) {
      const d = await app.draw({ token: await enterAs(app, a.code, openid), requestId });
      expect(d.drawId).to.not.equal(String(legacy?.id));
      expect(d.outcome).to.equal(O.OUTCOME_WIN);
      expect(JSON.stringify(d)).to.not.contain(oldSecret);
    }
    const rows = await logOf(ctx(), a.activityId, requestId);
    expect(rows.map((r) => r.owner === '')).to.deep.equal([true, false, false]);
  });

  it('a token issued before tokens named an owner: the calling app owns its draws, and the token it gets back names it', async () => {
    const a = await save(ctx(), { maxPrize: 3, prizes: [prize({ sum: 10, chance: '100' })] });
    const openid = newOpenid();
    await enterAs(appA, a.code, openid);
    const person = (await ctx().t.app.db.knex('ims_scratch_person').where({ aid: a.activityId, openid }).first('id')) as { id: number };
    const tokens = new UserTokens({ secret: ctx().t.app.config.jwtSecret, clock: ctx().clock, logger: pino({ level: 'silent' }) });
    const old = tokens.issue({ aid: a.activityId, pid: Number(person.id), openid, owner: undefined }).token;
    const requestId = `unowned-${randomUUID()}`;
    const byA = await appA.draw({ token: old, requestId });
    const byB = await appB.draw({ token: old, requestId });
    expect(byB.drawId).to.not.equal(byA.drawId);
    expect(byB.prize?.secret).to.not.equal(byA.prize?.secret);
    // A's re-issued token names A: relayed by B, the retry is A's draw.
    expect(await appB.draw({ token: byA.token, requestId })).to.deep.include({ drawId: byA.drawId, prize: byA.prize });
    expect(new Set((await logOf(ctx(), a.activityId, requestId)).map((r) => r.owner)).size).to.equal(2);
  });

  it('entering a user for a legacy app needs lottery.admin; its draws are owned by legacy:<name>', async () => {
    const a = await save(ctx(), { prizes: [prize({ sum: 10, chance: '100' })] });
    const entry = { code: a.code, openid: newOpenid(), nickname: '', avatar: '' };
    await expectError(appA.enterActivity(entry, { onBehalfOf: 'shop-x' }), GrpcStatus.PERMISSION_DENIED, 'SCOPE_MISSING');
    await expectError(admin.enterActivity(entry, { onBehalfOf: 'bad name' }), GrpcStatus.INVALID_ARGUMENT, 'INVALID_ARGUMENT');
    const { token } = await admin.enterActivity(entry, { onBehalfOf: 'shop-x' });
    await expectError(appA.draw({ token, requestId: 'x' }, { onBehalfOf: 'shop-x' }), GrpcStatus.PERMISSION_DENIED, 'SCOPE_MISSING');
    const d = await appA.draw({ token, requestId: `legacy-${randomUUID()}` });
    const row = (await ctx().t.app.db.knex('lottery_draw_log').where({ id: d.drawId }).first('owner')) as { owner: string };
    expect(row.owner).to.equal('legacy:shop-x');
  });

  describe('through the legacy REST bridge', () => {
    let shopA: { appName: string; secret: string };
    let shopB: { appName: string; secret: string };
    before(async () => {
      shopA = await ctx().t.clients.member.createLegacyApp({ appName: `lshopA-${process.pid}`, admin: false });
      shopB = await ctx().t.clients.member.createLegacyApp({ appName: `lshopB-${process.pid}`, admin: false });
    });

    /** Enters through the signed entry link of a legacy OAuth front; answers the cookie's JWT. */
    const enterVia = async (shop: { appName: string; secret: string }, code: string, openid: string): Promise<string> => {
      const ts = String(Math.floor(Date.now() / 1000));
      const auth = `${shop.appName}:${ts}:${signRequest('GET', ENTRY_PATH, entrySignedParams(code, openid, shop.appName, ts), shop.secret)}`;
      const res = await fetch(`${ctx().t.bridgeUrl}${ENTRY_PATH}?code=${code}&openid=${encodeURIComponent(openid)}&auth=${encodeURIComponent(auth)}`);
      expect(res.status).to.equal(200);
      const jwt = /(?:^|;\s*)jwt=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
      if (jwt === undefined) throw new Error('no jwt cookie');
      return jwt;
    };
    const award = async (jwt: string, requestId: string): Promise<{ status: number; data: { secret?: string; draw_id?: string } }> => {
      const res = await fetch(`${ctx().t.bridgeUrl}/lottery/Activity/award`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `jwt=${jwt}` },
        body: new URLSearchParams({ request_id: requestId }).toString(),
      });
      return (await res.json()) as { status: number; data: { secret?: string; draw_id?: string } };
    };

    it("the same request_id under two legacy apps' entries is two draws, each owned by its legacy app", async () => {
      const a = await save(ctx(), { maxPrize: 2, prizes: [prize({ sum: 10, chance: '100' })] });
      const openid = newOpenid();
      const requestId = `browser-${randomUUID()}`;
      const jwtA = await enterVia(shopA, a.code, openid);
      const first = await award(jwtA, requestId);
      expect(first.status).to.equal(200);
      const second = await award(await enterVia(shopB, a.code, openid), requestId);
      expect(second.status).to.equal(200);
      expect(second.data.draw_id).to.not.equal(first.data.draw_id);
      expect(second.data.secret).to.not.equal(first.data.secret);
      // shopA's browser retrying gets its own draw back.
      expect((await award(jwtA, requestId)).data).to.deep.include({ draw_id: first.data.draw_id, secret: first.data.secret });
      expect((await logOf(ctx(), a.activityId, requestId)).map((r) => r.owner)).to.deep.equal([`legacy:${shopA.appName}`, `legacy:${shopB.appName}`]);
    });
  });
});
