import { expect } from 'chai';
import { lottery as pb } from '@huodong/clients';
import { signRequest } from '../../../src/member/bridge.js';
import { ENTRY_PATH, entrySignedParams } from '../../../src/lottery/bridge.js';
import { startTestApp } from '../../support/app.js';
import { describeLottery, MINUTE, newOpenid, prize, save, START } from '../../integration/lottery/support.js';

interface Envelope {
  status: number;
  msg: string;
  reason?: string;
  data: unknown;
}

function jwtOf(res: Response): string {
  const cookie = res.headers.get('set-cookie') ?? '';
  const match = /(?:^|;\s*)jwt=([^;]+)/.exec(cookie);
  if (match?.[1] === undefined) throw new Error(`no jwt cookie in "${cookie}"`);
  expect(cookie).to.contain('HttpOnly').and.contain('Path=/lottery');
  return match[1];
}

/** The `exp` claim (unix seconds) of a cookie's JWT. */
function expOf(jwt: string): number {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
  if (typeof payload.exp !== 'number') throw new Error(`no exp in ${jwt}`);
  return payload.exp;
}

/** Seed 003's `auth` as the OAuth front makes it: `<appName>:<ts>:<sig>` over appName, code, openid, ts. */
export function entryAuth(app: { appName: string; secret: string }, code: string, openid: string, method = 'GET', ts = String(Math.floor(Date.now() / 1000))): string {
  return `${app.appName}:${ts}:${signRequest(method, ENTRY_PATH, entrySignedParams(code, openid, app.appName, ts), app.secret)}`;
}

describeLottery('lottery REST bridge', (ctx) => {
  let oauth: { appName: string; secret: string } | undefined;
  before(async () => {
    oauth = await ctx().t.clients.member.createLegacyApp({ appName: 'oauth-front', admin: false });
  });
  const front = (): { appName: string; secret: string } => {
    if (oauth === undefined) throw new Error('no oauth app');
    return oauth;
  };
  /** The entry link the OAuth front sends the browser to. */
  const indexUrl = (code: string, openid: string, extra = ''): string =>
    `${ctx().t.bridgeUrl}${ENTRY_PATH}?code=${code}&openid=${encodeURIComponent(openid)}&auth=${encodeURIComponent(entryAuth(front(), code, openid))}${extra}`;
  const call = async (path: string, jwt: string | undefined, body: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<{ res: Response; json: Envelope }> => {
    const res = await fetch(`${ctx().t.bridgeUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(jwt === undefined ? {} : { cookie: `jwt=${jwt}` }), ...headers },
      body: new URLSearchParams(body).toString(),
    });
    return { res, json: (await res.json()) as Envelope };
  };

  it('plays a whole game through the legacy routes, renewing the cookie on every call', async () => {
    const a = await save(ctx(), {
      needAddress: true,
      requireUserInfo: true,
      maxEplay: 1,
      maxShare: 1,
      share: { enabled: true, title: 's', desc: '', link: '', img: '' },
      prizes: [prize({ name: '自行车', sum: 5, chance: '100', info: '到店领' })],
    });
    const index = await fetch(indexUrl(a.code, newOpenid(), `&nickname=${encodeURIComponent('王小明')}&headimgurl=http://a/b.png`));
    const entered = (await index.json()) as Envelope;
    expect(entered.status).to.equal(200);
    expect(entered.data).to.deep.include({ active_title: '刮刮卡', status: 1, phase: 'ongoing', phase_status: 0, participants: 1, need_info: 1 });
    expect((entered.data as { active_time: Array<{ start: string }> }).active_time[0]?.start).to.equal('2026-03-01 11:00');
    let jwt = jwtOf(index);

    const step = async (path: string, body: Record<string, string> = {}): Promise<Envelope> => {
      const { res, json } = await call(path, jwt, body);
      const next = jwtOf(res);
      expect(next).to.not.equal('');
      jwt = next;
      return json;
    };

    const info = await step('/lottery/Activity/info');
    expect(info.status).to.equal(200);
    const prizes = await step('/lottery/Activity/prize');
    expect(prizes.status).to.equal(1);
    expect(prizes.data).to.deep.equal([{ prize_id: 0, type: 'physical', sum: 5, name: '自行车', money: '0.00', max: '0.00', min: '0.00', img: '', info: '到店领', link: '', desc: '', chance: '100' }]);

    const needInfo = await step('/lottery/Activity/award', { code: a.code });
    expect(needInfo.status).to.equal(201);
    const badForm = await call('/lottery/Activity/user', jwt, { name: '王小明', tel: '13800000000' });
    expect(badForm.res.status).to.equal(400);
    expect(badForm.json).to.include({ status: 0, code: 400, reason: 'INVALID_ARGUMENT' });
    expect((await step('/lottery/Activity/user', { name: '王小明', tel: '13800000000', address: '杭州' })).status).to.equal(1);

    const win = await step('/lottery/Activity/award', { code: a.code });
    expect(win.status).to.equal(200);
    const data = win.data as { prize_id: number; prize_name: string; prize_type: number; money: string; secret: string };
    expect(data).to.include({ prize_id: 0, prize_name: '自行车', prize_type: 2, money: '0.00' });

    const noWin = await step('/lottery/Activity/award', { code: a.code });
    expect(noWin).to.deep.include({ status: 202, msg: '今天已经获奖过咯~不要贪心哦！' });
    const share = await step('/lottery/Activity/share');
    expect(share.data).to.include({ counted: 1 });

    const mine = await step('/lottery/Activity/prizeList');
    expect(mine.data).to.deep.equal([
      { prizeid: 0, name: '自行车', type: 2, money: '0.00', prizecode: data.secret, info: '到店领', status: 2, createtime: new Date(START).getTime() / 1000 },
    ]);

    // The winner's page shows the code (their cookie), which does not use it up.
    const shown = await step('/lottery/info/check', { code: a.code, awardcode: data.secret });
    expect(shown.data).to.include({ status: 2, prizecode: data.secret });
    // The merchant confirms with its own lottery.admin token.
    const { token: merchant } = await ctx().t.clientsWithScopes(['lottery.admin']);
    const check = await call('/lottery/info/check', undefined, { code: a.code, awardcode: data.secret, confirm: '1' }, { authorization: `Bearer ${merchant}` });
    expect(check.json.status).to.equal(200);
    expect(check.json.data).to.include({ status: 1, prizecode: data.secret });
    const again = await call('/lottery/info/check', undefined, { code: a.code, awardcode: data.secret, confirm: '1' }, { authorization: `Bearer ${merchant}` });
    expect(again.json).to.include({ status: 400, reason: 'AWARD_ALREADY_CLAIMED' });
    expect((await call('/lottery/info/check', jwt, { code: a.code, awardcode: data.secret })).json).to.include({ status: 400, reason: 'AWARD_ALREADY_CLAIMED' });

    const list = await fetch(`${ctx().t.bridgeUrl}/lottery/info/userlist?code=${a.code}`);
    expect(((await list.json()) as Envelope).data).to.deep.equal([
      { wxname: '王**明', headimgurl: 'http://a/b.png', money: '0.00', name: '自行车', createtime: new Date(START).getTime() / 1000 },
    ]);
  });

  it('every call renews the cookie with a token expiring 30 minutes after that call', async () => {
    const a = await save(ctx(), { maxShare: 1, share: { enabled: true, title: 's', desc: '', link: '', img: '' }, prizes: [prize({ sum: 5, chance: '0' })] });
    const index = await fetch(indexUrl(a.code, newOpenid()));
    const first = jwtOf(index);
    const startSeconds = new Date(START).getTime() / 1000;
    expect(expOf(first)).to.equal(startSeconds + 30 * 60);
    let jwt = first;
    const paths: Array<[string, Record<string, string>]> = [
      ['/lottery/Activity/info', {}],
      ['/lottery/Activity/prize', {}],
      ['/lottery/Activity/award', { code: a.code }],
      ['/lottery/Activity/share', {}],
      ['/lottery/Activity/prizeList', {}],
      ['/lottery/Activity/user', { name: '王小明', tel: '13800000000' }],
    ];
    for (const [i, [path, body]] of paths.entries()) {
      ctx().clock.advance(7 * MINUTE);
      const { res, json } = await call(path, jwt, body);
      expect(json.status, path).to.be.oneOf([1, 200, 202]);
      const renewed = jwtOf(res);
      expect(renewed, path).to.not.equal(jwt);
      expect(expOf(renewed), path).to.equal(startSeconds + (i + 1) * 7 * 60 + 30 * 60);
      jwt = renewed;
    }
    // 42 minutes in, the first cookie is dead and the last renewed one still works.
    expect((await call('/lottery/Activity/info', first)).json).to.include({ status: 401, reason: 'USER_TOKEN_INVALID' });
    expect((await call('/lottery/Activity/info', jwt)).json.status).to.equal(200);
  });

  it('answers 403 NOT_WHITELISTED to a user outside a reward activity\'s whitelist', async () => {
    const a = await save(ctx(), { activeType: pb.ActiveType.ACTIVE_TYPE_REWARD });
    const res = await fetch(indexUrl(a.code, newOpenid()));
    expect(res.status).to.equal(403);
    expect(await res.json()).to.include({ status: 403, reason: 'NOT_WHITELISTED' });
    expect(res.headers.get('set-cookie')).to.equal(null);
  });

  it('answers 401 without a cookie or with a forged one, and for another activity', async () => {
    const a = await save(ctx());
    const b = await save(ctx());
    expect((await call('/lottery/Activity/info', undefined)).json).to.include({ status: 401 });
    expect((await call('/lottery/Activity/award', 'forged.jwt.value', { code: a.code })).res.status).to.equal(401);
    const index = await fetch(indexUrl(a.code, newOpenid()));
    const jwt = jwtOf(index);
    expect((await call('/lottery/Activity/award', jwt, { code: b.code })).json).to.include({ status: 401, reason: 'USER_TOKEN_INVALID' });
    const missing = await fetch(`${ctx().t.bridgeUrl}/lottery/Activity/index`);
    expect(missing.status).to.equal(400);
    const unknown = await fetch(indexUrl('nope', 'x'));
    expect(((await unknown.json()) as Envelope).status).to.equal(404);
  });

  it('a broken legacy activity answers 400 ACTIVITY_CONFIG_INVALID', async () => {
    const a = await save(ctx(), { template: pb.Template.TEMPLATE_WHEEL });
    await ctx().t.app.db.knex('ims_scratch_activity').where({ id: a.activityId }).update({ active_time: '[{"start":' });
    ctx().clock.advance(1_100); // the activity cache lives a second, on the service clock
    const res = await fetch(indexUrl(a.code, newOpenid()));
    expect(await res.json()).to.include({ status: 400, reason: 'ACTIVITY_CONFIG_INVALID' });
  });

  // ---- issue 14 item 1: impersonation and prize theft ----------------------------------------

  /** Enters with a signed link and wins the activity's only prize; answers the cookie and the secret. */
  const win = async (code: string, openid = newOpenid()): Promise<{ jwt: string; secret: string }> => {
    const index = await fetch(indexUrl(code, openid));
    expect(index.status).to.equal(200);
    const won = await call('/lottery/Activity/award', jwtOf(index), { code });
    expect(won.json.status).to.equal(200);
    return { jwt: jwtOf(won.res), secret: (won.json.data as { secret: string }).secret };
  };

  it('entry needs the OAuth front\'s signature or a trusted front\'s token; a bare or re-pointed openid gets no cookie', async () => {
    const a = await save(ctx());
    const victim = newOpenid();
    const bare = await fetch(`${ctx().t.bridgeUrl}${ENTRY_PATH}?code=${a.code}&openid=${victim}`);
    expect(bare.status).to.equal(401);
    expect(await bare.json()).to.include({ status: 401, reason: 'ENTRY_UNAUTHENTICATED' });
    expect(bare.headers.get('set-cookie')).to.equal(null);
    // The attacker's own valid auth, with the victim's openid put in.
    const mine = entryAuth(front(), a.code, newOpenid());
    const repointed = await fetch(`${ctx().t.bridgeUrl}${ENTRY_PATH}?code=${a.code}&openid=${victim}&auth=${encodeURIComponent(mine)}`);
    expect(repointed.status).to.equal(401);
    expect(repointed.headers.get('set-cookie')).to.equal(null);
    const stale = entryAuth(front(), a.code, victim, 'GET', String(Math.floor(Date.now() / 1000) - 301));
    expect((await fetch(`${ctx().t.bridgeUrl}${ENTRY_PATH}?code=${a.code}&openid=${victim}&auth=${encodeURIComponent(stale)}`)).status).to.equal(401);
    const forged = entryAuth({ appName: front().appName, secret: 'f'.repeat(64) }, a.code, victim);
    expect((await fetch(`${ctx().t.bridgeUrl}${ENTRY_PATH}?code=${a.code}&openid=${victim}&auth=${encodeURIComponent(forged)}`)).status).to.equal(401);
    expect((await fetch(indexUrl(a.code, victim))).status).to.equal(200);
    // A trusted front with its own app token (scope lottery) may name the user.
    const { token: frontToken } = await ctx().t.clientsWithScopes(['lottery']);
    const trusted = await fetch(`${ctx().t.bridgeUrl}${ENTRY_PATH}?code=${a.code}&openid=${newOpenid()}`, { headers: { authorization: `Bearer ${frontToken}` } });
    expect(trusted.status).to.equal(200);
    jwtOf(trusted);
    const { token: other } = await ctx().t.clientsWithScopes(['points']);
    const wrongScope = await fetch(`${ctx().t.bridgeUrl}${ENTRY_PATH}?code=${a.code}&openid=${newOpenid()}`, { headers: { authorization: `Bearer ${other}` } });
    expect(wrongScope.status).to.equal(403);
    expect(wrongScope.headers.get('set-cookie')).to.equal(null);
  });

  it('the award check needs a merchant (lottery.admin) token, shows without claiming, and claims only on a POSTed confirm=1', async () => {
    const a = await save(ctx(), { prizes: [prize({ sum: 5, chance: '100' })] });
    const { secret } = await win(a.code);
    const unclaimed = async (): Promise<boolean> =>
      Number((await ctx().t.app.db.knex('ims_scratch_person_prize').where({ aid: a.activityId, secret }).first<{ status: number }>('status'))?.status) === 2;
    for (const confirm of ['', '1']) {
      const anonymous = await call('/lottery/info/check', undefined, { code: a.code, awardcode: secret, confirm });
      expect(anonymous.res.status, `confirm=${confirm}`).to.equal(401);
    }
    const { token: user } = await ctx().t.clientsWithScopes(['lottery']);
    expect((await call('/lottery/info/check', undefined, { code: a.code, awardcode: secret, confirm: '1' }, { authorization: `Bearer ${user}` })).res.status).to.equal(403);
    // Another user's cookie cannot look at this prize.
    const stranger = await fetch(indexUrl(a.code, newOpenid()));
    expect((await call('/lottery/info/check', jwtOf(stranger), { code: a.code, awardcode: secret })).json).to.include({ status: 404, reason: 'AWARD_NOT_FOUND' });
    expect(await unclaimed()).to.equal(true);

    const { token: merchant } = await ctx().t.clientsWithScopes(['lottery.admin']);
    const auth = { authorization: `Bearer ${merchant}` };
    for (let i = 0; i < 2; i += 1) {
      const shown = await call('/lottery/info/check', undefined, { code: a.code, awardcode: secret }, auth);
      expect(shown.json.data).to.include({ status: 2, prizecode: secret });
    }
    const viaGet = await fetch(`${ctx().t.bridgeUrl}/lottery/info/check?code=${a.code}&awardcode=${secret}&confirm=1`, { headers: auth });
    expect(viaGet.status).to.equal(405);
    expect(await unclaimed()).to.equal(true);
    const claimed = await call('/lottery/info/check', undefined, { code: a.code, awardcode: secret, confirm: '1' }, auth);
    expect(claimed.json.data).to.include({ status: 1, prizecode: secret });
    expect(await unclaimed()).to.equal(false);
  });

  it('throttles failed award checks per activity and caller', async () => {
    const a = await save(ctx(), { prizes: [prize({ sum: 5, chance: '100' })] });
    const b = await save(ctx(), { prizes: [prize({ sum: 5, chance: '100' })] });
    const { secret } = await win(a.code);
    const { secret: secretB } = await win(b.code);
    const { token: guesser } = await ctx().t.clientsWithScopes(['lottery.admin']);
    const { token: honest } = await ctx().t.clientsWithScopes(['lottery.admin']);
    const check = async (token: string, code: string, awardcode: string): Promise<Envelope> =>
      (await call('/lottery/info/check', undefined, { code, awardcode }, { authorization: `Bearer ${token}` })).json;
    for (let i = 0; i < 10; i += 1) {
      expect(await check(guesser, a.code, String(1000000000000000 + i))).to.include({ status: 404, reason: 'AWARD_NOT_FOUND' });
    }
    // Even the right secret is refused now, to this caller in this activity only.
    expect(await check(guesser, a.code, secret)).to.include({ status: 429, reason: 'AWARD_CHECKS_THROTTLED' });
    expect((await check(honest, a.code, secret)).status).to.equal(200);
    expect((await check(guesser, b.code, secretB)).status).to.equal(200);
    ctx().clock.advance(11 * MINUTE);
    expect((await check(guesser, a.code, secret)).status).to.equal(200);
  });

  it('state-changing routes refuse GET (a cross-site link carries the SameSite=Lax cookie)', async () => {
    const a = await save(ctx(), { maxShare: 1, share: { enabled: true, title: 's', desc: '', link: '', img: '' }, prizes: [prize({ sum: 5, chance: '100' })] });
    const index = await fetch(indexUrl(a.code, newOpenid()));
    const jwt = jwtOf(index);
    for (const path of ['/lottery/Activity/award', '/lottery/Activity/share', '/lottery/Activity/user']) {
      const res = await fetch(`${ctx().t.bridgeUrl}${path}?code=${a.code}&name=x&tel=13800000000`, { headers: { cookie: `jwt=${jwt}` } });
      expect(res.status, path).to.equal(405);
      // /Activity/user answers seed 003's status 0 for a failure, the others the HTTP status.
      expect(await res.json(), path).to.include({ status: path.endsWith('/user') ? 0 : 405, reason: 'METHOD_NOT_ALLOWED' });
    }
    const info = await call('/lottery/Activity/info', jwt);
    expect((info.json.data as { user: Record<string, unknown> }).user).to.include({ plays: 0, shares: 0, wins: 0, has_info: 0 });
  });

  it('an openid differing only in case or trailing spaces never reaches another participant\'s row or prizes', async () => {
    const a = await save(ctx(), { prizes: [prize({ sum: 5, chance: '100' })] });
    const victim = `case-victim-${newOpenid()}`;
    const { secret } = await win(a.code, victim);
    const spaced = await fetch(indexUrl(a.code, `${victim} `));
    expect(await spaced.json()).to.include({ status: 400, reason: 'INVALID_ARGUMENT' });
    expect(spaced.headers.get('set-cookie')).to.equal(null);
    const upper = await fetch(indexUrl(a.code, victim.toUpperCase()));
    if (ctx().t.store === 'mysql+redlock') {
      // The legacy table cannot hold both spellings: the second is refused, not let in.
      expect(await upper.json()).to.include({ status: 400, reason: 'OPENID_CONFLICT' });
      expect(upper.headers.get('set-cookie')).to.equal(null);
    } else {
      const mine = await call('/lottery/Activity/prizeList', jwtOf(upper));
      expect(mine.json.data).to.deep.equal([]);
    }
    const victimRow = await ctx().t.app.db.knex('ims_scratch_person').where({ aid: a.activityId }).select('openid', 'nickname');
    expect(victimRow.map((r: { openid: string }) => r.openid)).to.include(victim);
    expect(JSON.stringify(await ctx().t.app.db.knex('ims_scratch_person_prize').where({ aid: a.activityId }).select('openid', 'secret'))).to.contain(secret);
  });

  // ---- issue 14 item 4: drop-in ------------------------------------------------------------

  it('old links open a legacy activity by its numeric id as well as by its code', async () => {
    const a = await save(ctx(), { prizes: [prize({ sum: 5, chance: '100' })] });
    const byId = await fetch(indexUrl(String(a.activityId), newOpenid()));
    expect(byId.status).to.equal(200);
    expect(((await byId.json()) as Envelope).data).to.deep.include({ code: a.code });
    const won = await call('/lottery/Activity/award', jwtOf(byId), { code: String(a.activityId) });
    expect(won.json.status).to.equal(200);
    expect((await fetch(`${ctx().t.bridgeUrl}/lottery/info/userlist?code=${a.activityId}`)).status).to.equal(200);
    expect((await fetch(indexUrl('999999', newOpenid()))).status).to.equal(404);
  });

  it('status is seed 003\'s 1 usable / 0 closed, the phase a field of its own', async () => {
    const closed = await save(ctx(), { enabled: false });
    const later = await save(ctx(), { sessions: [{ startTime: new Date(new Date(START).getTime() + 24 * 60 * MINUTE), endTime: new Date(new Date(START).getTime() + 48 * 60 * MINUTE) }] });
    const c = (await (await fetch(indexUrl(closed.code, newOpenid()))).json()) as Envelope;
    expect(c.data).to.deep.include({ status: 0, phase: 'ongoing' });
    const l = (await (await fetch(indexUrl(later.code, newOpenid()))).json()) as Envelope;
    expect(l.data).to.deep.include({ status: 1, phase: 'not_started', phase_status: -1 });
  });

  it('/Activity/add saves a legacy activity with a lottery.admin token; a random red packet below min is refused', async () => {
    const { token: admin } = await ctx().t.clientsWithScopes(['lottery.admin']);
    const auth = { authorization: `Bearer ${admin}` };
    const legacy = {
      active_title: '大转盘',
      active_type: '1',
      template: '11',
      virtual: '5',
      active_time: JSON.stringify([{ start: '2026-03-01 11:00', end: '2026-03-02 23:59' }]),
      prize: '[{"type":"physical","sum":"3","name":"自行车","chance":"10",},{"type":"red","sum":"0","name":"红包","money":"10","min":"1","max":"5","chance":"20"}]',
      tips: JSON.stringify({ no_award: '再来' }),
      max_eplay: '3',
      status: '1',
    };
    expect((await call('/lottery/Activity/add', undefined, legacy)).res.status).to.equal(401);
    const get = await fetch(`${ctx().t.bridgeUrl}/lottery/Activity/add?${new URLSearchParams(legacy).toString()}`, { headers: auth });
    expect(get.status).to.equal(405);
    const saved = await call('/lottery/Activity/add', undefined, legacy, auth);
    expect(saved.json.status).to.equal(200);
    const { id, code } = saved.json.data as { id: number; code: string };
    const entered = (await (await fetch(indexUrl(code, newOpenid()))).json()) as Envelope;
    expect(entered.data).to.deep.include({ active_title: '大转盘', template: 11, status: 1, participants: 6 });
    expect((entered.data as { prize: unknown[] }).prize).to.have.lengthOf(2);
    const poor = await call('/lottery/Activity/add', undefined, { ...legacy, id: String(id), prize: '[{"type":"red","sum":"0","name":"红包","money":"0.50","min":"1","max":"5","chance":"20"}]' }, auth);
    expect(poor.json).to.include({ status: 400, reason: 'INVALID_ARGUMENT' });
    expect(poor.json.msg).to.match(/^activity\.prizes\[0\]\.money:/);
    const img = await fetch(`${ctx().t.bridgeUrl}/lottery/img/add`, { method: 'POST' });
    expect(img.status).to.equal(501);
    expect(await img.json()).to.include({ status: false });
  });

  it('an emoji for a utf8mb3 legacy column is 400 naming the field, not 500', async function () {
    if (ctx().t.store !== 'mysql+redlock') this.skip();
    const knex = ctx().t.app.db.knex;
    await knex.raw('ALTER TABLE ims_scratch_person MODIFY nickname VARCHAR(64) CHARACTER SET utf8mb3 NOT NULL DEFAULT \'\'');
    try {
      const a = await save(ctx());
      const res = await fetch(indexUrl(a.code, newOpenid(), `&nickname=${encodeURIComponent('小明😀')}`));
      expect(res.status).to.equal(400);
      const body = (await res.json()) as Envelope;
      expect(body).to.include({ status: 400, reason: 'INVALID_ARGUMENT' });
      expect(body.msg).to.match(/^nickname:/);
    } finally {
      await knex.raw('ALTER TABLE ims_scratch_person MODIFY nickname VARCHAR(64) CHARACTER SET utf8mb4 NOT NULL DEFAULT \'\'');
    }
  });
});

describe('lottery REST bridge with HUODONG_LOTTERY_TRUST_OPENID=1 and HUODONG_CORS_ORIGINS [sqlite+local]', function () {
  it('lets a bare openid in only when the deployment says so, and answers CORS for the configured origin', async () => {
    const t = await startTestApp('sqlite+local', { env: { HUODONG_LOTTERY_TRUST_OPENID: '1', HUODONG_CORS_ORIGINS: 'https://mp.example.com' } });
    const minute = Math.floor(Date.now() / MINUTE) * MINUTE;
    try {
      const saved = await t.clients.lottery.saveActivity({
        activity: {
          enabled: true,
          title: 't',
          activeType: pb.ActiveType.ACTIVE_TYPE_NORMAL,
          template: pb.Template.TEMPLATE_SCRATCH_CARD,
          prizes: [prize({})],
          sessions: [{ startTime: new Date(minute - 60 * MINUTE), endTime: new Date(minute + 60 * MINUTE) }],
          maxPrize: 1,
        } as pb.Activity,
      });
      const res = await fetch(`${t.bridgeUrl}${ENTRY_PATH}?code=${saved.activity?.code ?? ''}&openid=${newOpenid()}`);
      expect(res.status).to.equal(200);
      jwtOf(res);
      // CORS with credentials for the configured front end only (HUODONG_CORS_ORIGINS).
      const preflight = await fetch(`${t.bridgeUrl}/lottery/Activity/award`, {
        method: 'OPTIONS',
        headers: { origin: 'https://mp.example.com', 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).to.equal(204);
      expect(preflight.headers.get('access-control-allow-origin')).to.equal('https://mp.example.com');
      expect(preflight.headers.get('access-control-allow-credentials')).to.equal('true');
      const info = await fetch(`${t.bridgeUrl}/lottery/info/userlist?code=${saved.activity?.code ?? ''}`, { headers: { origin: 'https://mp.example.com' } });
      expect(info.headers.get('access-control-allow-origin')).to.equal('https://mp.example.com');
      const foreign = await fetch(`${t.bridgeUrl}/lottery/info/userlist?code=${saved.activity?.code ?? ''}`, { headers: { origin: 'https://evil.example' } });
      expect(foreign.headers.get('access-control-allow-origin')).to.equal(null);
    } finally {
      await t.stop();
    }
  });
});
