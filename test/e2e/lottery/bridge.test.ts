import { expect } from 'chai';
import { lottery as pb } from '@huodong/clients';
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

describeLottery('lottery REST bridge', (ctx) => {
  const call = async (path: string, jwt: string | undefined, body: Record<string, string> = {}): Promise<{ res: Response; json: Envelope }> => {
    const res = await fetch(`${ctx().t.bridgeUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(jwt === undefined ? {} : { cookie: `jwt=${jwt}` }) },
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
    const index = await fetch(`${ctx().t.bridgeUrl}/lottery/Activity/index?code=${a.code}&openid=${newOpenid()}&nickname=${encodeURIComponent('王小明')}&headimgurl=http://a/b.png`);
    const entered = (await index.json()) as Envelope;
    expect(entered.status).to.equal(200);
    expect(entered.data).to.deep.include({ active_title: '刮刮卡', status: 0, participants: 1, need_info: 1 });
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
    expect(prizes.data).to.deep.equal([{ prize_id: 0, type: 'physical', sum: 5, name: '自行车', money: '0.00', max: '0.00', min: '0.00', img: '', info: '到店领', link: '', desc: '', chance: '100' }]);

    const needInfo = await step('/lottery/Activity/award', { code: a.code });
    expect(needInfo.status).to.equal(201);
    const badForm = await call('/lottery/Activity/user', jwt, { name: '王小明', tel: '13800000000' });
    expect(badForm.res.status).to.equal(400);
    expect(badForm.json).to.include({ status: 400, reason: 'INVALID_ARGUMENT' });
    expect((await step('/lottery/Activity/user', { name: '王小明', tel: '13800000000', address: '杭州' })).status).to.equal(200);

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

    const check = await call('/lottery/info/check', undefined, { code: a.code, awardcode: data.secret });
    expect(check.json.status).to.equal(200);
    expect(check.json.data).to.include({ status: 1, prizecode: data.secret });
    const again = await call('/lottery/info/check', undefined, { code: a.code, awardcode: data.secret });
    expect(again.json).to.include({ status: 400, reason: 'AWARD_ALREADY_CLAIMED' });

    const list = await fetch(`${ctx().t.bridgeUrl}/lottery/info/userlist?code=${a.code}`);
    expect(((await list.json()) as Envelope).data).to.deep.equal([
      { wxname: '王**明', headimgurl: 'http://a/b.png', money: '0.00', name: '自行车', createtime: new Date(START).getTime() / 1000 },
    ]);
  });

  it('every call renews the cookie with a token expiring 30 minutes after that call', async () => {
    const a = await save(ctx(), { maxShare: 1, share: { enabled: true, title: 's', desc: '', link: '', img: '' }, prizes: [prize({ sum: 5, chance: '0' })] });
    const index = await fetch(`${ctx().t.bridgeUrl}/lottery/Activity/index?code=${a.code}&openid=${newOpenid()}`);
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
      expect(json.status, path).to.be.oneOf([200, 202]);
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
    const res = await fetch(`${ctx().t.bridgeUrl}/lottery/Activity/index?code=${a.code}&openid=${newOpenid()}`);
    expect(res.status).to.equal(403);
    expect(await res.json()).to.include({ status: 403, reason: 'NOT_WHITELISTED' });
    expect(res.headers.get('set-cookie')).to.equal(null);
  });

  it('answers 401 without a cookie or with a forged one, and for another activity', async () => {
    const a = await save(ctx());
    const b = await save(ctx());
    expect((await call('/lottery/Activity/info', undefined)).json).to.include({ status: 401 });
    expect((await call('/lottery/Activity/award', 'forged.jwt.value', { code: a.code })).res.status).to.equal(401);
    const index = await fetch(`${ctx().t.bridgeUrl}/lottery/Activity/index?code=${a.code}&openid=${newOpenid()}`);
    const jwt = jwtOf(index);
    expect((await call('/lottery/Activity/award', jwt, { code: b.code })).json).to.include({ status: 401, reason: 'USER_TOKEN_INVALID' });
    const missing = await fetch(`${ctx().t.bridgeUrl}/lottery/Activity/index`);
    expect(missing.status).to.equal(400);
    const unknown = await fetch(`${ctx().t.bridgeUrl}/lottery/Activity/index?code=nope&openid=x`);
    expect(((await unknown.json()) as Envelope).status).to.equal(404);
  });

  it('a broken legacy activity answers 400 ACTIVITY_CONFIG_INVALID', async () => {
    const a = await save(ctx(), { template: pb.Template.TEMPLATE_WHEEL });
    await ctx().t.app.db.knex('ims_scratch_activity').where({ id: a.activityId }).update({ active_time: '[{"start":' });
    await new Promise((r) => setTimeout(r, 1100));
    const res = await fetch(`${ctx().t.bridgeUrl}/lottery/Activity/index?code=${a.code}&openid=${newOpenid()}`);
    expect(await res.json()).to.include({ status: 400, reason: 'ACTIVITY_CONFIG_INVALID' });
  });
});
