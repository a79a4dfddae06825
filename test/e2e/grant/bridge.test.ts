import { expect } from 'chai';
import { grant } from '@huodong/clients';
import { describeEachStore } from '../../support/app.js';
import { createActivity, createUnit, label, nonce, openActivity, phone, settled } from '../../integration/grant/fixtures.js';

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

describeEachStore('legacy route POST /activity/services/activity', (ctx) => {
  const post = async (
    body: unknown,
    options: { nonce?: string | undefined; token?: string | undefined; raw?: boolean } = {},
  ): Promise<Answer> => {
    const n = 'nonce' in options ? options.nonce : nonce();
    const url = `${ctx().bridgeUrl}/activity/services/activity${n === undefined ? '' : `?g_nonce=${encodeURIComponent(n)}`}`;
    const token = 'token' in options ? options.token : ctx().token;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body: options.raw === true ? (body as string) : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const seedBody = (identity: string, activityLabel: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    identity,
    activityLabel,
    source: 'gtj.glodon.com',
    branch: 'liaoning',
    extParams: { mode: 'sync' },
    ...extra,
  });

  it('0000: answers the seed\'s detail.products with legacy dates and activateType', async () => {
    const { activity, unit } = await openActivity(ctx().clients);
    const res = await post(seedBody(phone(), activity.label));
    expect(res.status).to.equal(200);
    const detail = res.body.detail as { claimId: string; products: Array<Record<string, string>> };
    expect(detail.claimId).to.match(/^[0-9A-F]{32}$/);
    expect(res.body).to.deep.equal({
      resultCode: '0000',
      resultMessage: '办理成功!',
      detail: {
        claimId: detail.claimId,
        products: [
          {
            activityId: activity.id,
            subActivityId: unit.id,
            productUri: 'product://gtj/2026',
            limitStartDate: detail.products[0]?.limitStartDate,
            limitEndDate: detail.products[0]?.limitEndDate,
            activateType: '0',
          },
          {
            activityId: activity.id,
            subActivityId: unit.id,
            productUri: 'product://gcl/2026',
            limitStartDate: '2026-01-01 08:00:00',
            limitEndDate: '2027-01-01 08:00:00',
            activateType: '1',
          },
        ],
      },
    });
    expect(detail.products[0]?.limitStartDate).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('0000: extParams as JSON text (the seed\'s table) works too', async () => {
    const { activity } = await openActivity(ctx().clients);
    const res = await post(seedBody(phone(), activity.label, { extParams: '{"mode":"sync"}' }));
    expect(res.body.resultCode).to.equal('0000');
  });

  it('1001: bad parameters, a missing g_nonce and a malformed body, at HTTP 200', async () => {
    const { activity } = await openActivity(ctx().clients);
    const cases: Array<[Answer, string]> = [
      [await post(seedBody('', activity.label)), 'identity'],
      [await post(seedBody(phone(), activity.label, { source: undefined })), 'source'],
      [await post(seedBody(phone(), activity.label), { nonce: undefined }), 'nonce'],
      [await post(seedBody(phone(), activity.label, { extParams: '{not json' })), 'extParams'],
      [await post(seedBody(phone(), activity.label, { extParams: { mode: 'later' } })), 'ext_params.mode'],
      [await post(seedBody(phone(), activity.label, { identity: { nested: true } })), 'identity'],
      [await post('{"identity": ', { raw: true }), 'body'],
    ];
    for (const [res, field] of cases) {
      expect(res.status, field).to.equal(200);
      expect(res.body.resultCode, field).to.equal('1001');
      expect(res.body.resultMessage, field).to.be.a('string').and.contain(field);
      expect(res.body).to.not.have.property('detail');
    }
  });

  it('1001: a replayed g_nonce is refused (reason NONCE_REPLAYED) and grants nothing', async () => {
    const { activity } = await openActivity(ctx().clients, { perPersonLimit: 5 });
    const identity = phone();
    const n = nonce();
    expect((await post(seedBody(identity, activity.label), { nonce: n })).body.resultCode).to.equal('0000');
    const replay = await post(seedBody(identity, activity.label), { nonce: n });
    expect(replay.status).to.equal(200);
    expect(replay.body).to.include({ resultCode: '1001', reason: 'NONCE_REPLAYED' });
    const held = await ctx().clients.grant.listEntitlements({ identity });
    expect(held.products).to.have.lengthOf(2);
    const other = await ctx().clientsWithScopes(['grant']);
    expect((await post(seedBody(identity, activity.label), { nonce: n, token: other.token })).body.resultCode).to.equal('0000');
  });

  it('1002: a processing failure answers 1002 and grants nothing', async () => {
    const { activity } = await openActivity(ctx().clients);
    const identity = phone();
    const knex = ctx().app.db.knex;
    await knex.schema.renameTable('grant_entitlements', 'grant_entitlements_away');
    let res: Answer;
    try {
      res = await post(seedBody(identity, activity.label));
    } finally {
      await knex.schema.renameTable('grant_entitlements_away', 'grant_entitlements');
    }
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ resultCode: '1002', resultMessage: '处理异常,请稍后重试' });
    expect((await ctx().clients.grant.listEntitlements({ identity })).products).to.have.lengthOf(0);
  });

  it('1004: an illegal participant', async () => {
    const { activity } = await openActivity(ctx().clients);
    const res = await post(seedBody('??', activity.label));
    expect(res.status).to.equal(200);
    expect(res.body.resultCode).to.equal('1004');
    expect(res.body.resultMessage).to.contain('非法的参与者信息');
  });

  it('2001: dropped by a filter rule', async () => {
    const activity = await createActivity(ctx().clients);
    await createUnit(ctx().clients, activity.id, { filterRules: { allowedSources: ['only.glodon.com'], allowedBranches: [], identityKinds: [] } });
    const res = await post(seedBody(phone(), activity.label));
    expect(res.status).to.equal(200);
    expect(res.body.resultCode).to.equal('2001');
    expect(res.body.resultMessage).to.contain('被过滤规则丢弃').and.contain('source');
  });

  it('3001: no such activity', async () => {
    const res = await post(seedBody(phone(), label('missing')));
    expect(res).to.deep.equal({ status: 200, body: { resultCode: '3001', resultMessage: '您要办理的活动不存在!' } });
  });

  it('3002: answers the seed\'s activityDtoList with each unit\'s verdict', async () => {
    const { activity, unit } = await openActivity(ctx().clients);
    const identity = phone();
    expect((await post(seedBody(identity, activity.label))).body.resultCode).to.equal('0000');
    const res = await post(seedBody(identity, activity.label));
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({
      resultCode: '3002',
      resultMessage: '没有您可以办理的活动',
      activityDtoList: [
        {
          engineSubActivityDtos: [
            { errorCode: 14005, errorMessage: '个人领取次数超限', id: unit.id, name: unit.name, participateResult: false },
          ],
          id: activity.id,
          name: activity.name,
          participateResult: false,
        },
      ],
    });
  });

  it('async (no mode): accepted as 0000 with a claim id, completed in the background', async () => {
    const { activity } = await openActivity(ctx().clients);
    const res = await post(seedBody(phone(), activity.label, { extParams: undefined }));
    expect(res.status).to.equal(200);
    expect(res.body.resultCode).to.equal('0000');
    const detail = res.body.detail as { claimId: string; status: string };
    expect(detail.status).to.equal('pending');
    const done = await settled(ctx().clients, detail.claimId);
    expect(done.status).to.equal(grant.ClaimStatus.CLAIM_STATUS_GRANTED);
  });

  it('no token -> 401, a token without the grant scope -> 403, in the same envelope', async () => {
    const { activity } = await openActivity(ctx().clients);
    const anonymous = await post(seedBody(phone(), activity.label), { token: undefined });
    expect(anonymous.status).to.equal(401);
    expect(anonymous.body).to.include({ resultCode: '1002', reason: 'UNAUTHENTICATED' });
    const member = await ctx().clientsWithScopes(['member']);
    const denied = await post(seedBody(phone(), activity.label), { token: member.token });
    expect(denied.status).to.equal(403);
    expect(denied.body).to.include({ resultCode: '1002', reason: 'SCOPE_MISSING' });
  });

  // ---- issue 14 item 3: async claims answer at once what can be checked at once ------------

  const asyncBody = (identity: string, activityLabel: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
    seedBody(identity, activityLabel, { extParams: undefined, ...extra });

  it('async: an unknown label, an illegal or blocked identity, a filter and a reached per-person limit answer their code at once', async () => {
    expect((await post(asyncBody(phone(), label('missing')))).body.resultCode).to.equal('3001');
    const { activity, unit } = await openActivity(ctx().clients);
    expect((await post(asyncBody('??', activity.label))).body.resultCode).to.equal('1004');
    const blocked = phone();
    await ctx().clients.grant.saveActivity({ activity: { ...activity, blockedIdentities: [blocked] } });
    expect((await post(asyncBody(blocked, activity.label))).body.resultCode).to.equal('1004');
    const filtered = await createActivity(ctx().clients);
    await createUnit(ctx().clients, filtered.id, { filterRules: { allowedSources: ['only.glodon.com'], allowedBranches: [], identityKinds: [] } });
    expect((await post(asyncBody(phone(), filtered.label))).body.resultCode).to.equal('2001');
    const identity = phone();
    expect((await post(seedBody(identity, activity.label))).body.resultCode).to.equal('0000');
    const again = await post(asyncBody(identity, activity.label));
    expect(again.body).to.deep.include({ resultCode: '3002', resultMessage: '没有您可以办理的活动' });
    expect(again.body.activityDtoList).to.deep.equal([
      {
        engineSubActivityDtos: [{ errorCode: 14005, errorMessage: '个人领取次数超限', id: unit.id, name: unit.name, participateResult: false }],
        id: activity.id,
        name: activity.name,
        participateResult: false,
      },
    ]);
  });

  it('async: GET /activity/services/activity/claim reads a claim\'s result, for the app that made it only', async () => {
    const { activity } = await openActivity(ctx().clients);
    const res = await post(asyncBody(phone(), activity.label));
    const { claimId } = res.body.detail as { claimId: string };
    await settled(ctx().clients, claimId);
    const read = async (token: string | undefined, id = claimId): Promise<Answer> => {
      const r = await fetch(`${ctx().bridgeUrl}/activity/services/activity/claim?claimId=${id}`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const done = await read(ctx().token);
    expect(done.status).to.equal(200);
    expect(done.body).to.deep.include({ resultCode: '0000', resultMessage: '办理成功!' });
    expect((done.body.detail as { products: unknown[] }).products).to.have.lengthOf(2);
    const other = await ctx().clientsWithScopes(['grant']);
    expect((await read(other.token)).status).to.equal(404);
    expect((await read(undefined)).status).to.equal(401);
  });
});
