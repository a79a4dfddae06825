import { expect } from 'chai';
import { grant, GrpcStatus } from '@huodong/clients';
import { describeEachStore, startSiblingApp } from '../../support/app.js';
import { expectError } from '../../support/errors.js';
import {
  areasWithGrant,
  createActivity,
  createUnit,
  FIXED_END,
  FIXED_START,
  label,
  nonce,
  openActivity,
  participateSync,
  phone,
  settled,
  SYNC,
} from './fixtures.js';

const { ClaimStatus, ActivateType, ActivityStatus, IdentityKind } = grant;
const DAY_MS = 86_400_000;

describeEachStore('ActivityGrantService Participate', (ctx) => {
  const count = async (table: string, where: Record<string, string>): Promise<number> => {
    const row = await ctx().app.db.knex(table).where(where).count({ n: '*' }).first();
    return Number((row as { n: number | string } | undefined)?.n ?? 0);
  };

  it('0000: grants every product of each qualifying unit, as ListEntitlements and GetClaim show', async () => {
    const { clients } = ctx();
    const activity = await createActivity(clients);
    const first = await createUnit(clients, activity.id, { name: 'unit A' });
    const second = await createUnit(clients, activity.id, {
      name: 'unit B',
      products: [{ productUri: 'product://b', validity: { $case: 'days', value: 30 }, activateType: ActivateType.ACTIVATE_TYPE_LATER }],
    });
    const identity = phone();
    const before = Math.floor(Date.now() / 1000) * 1000;
    const claim = await participateSync(clients, { identity, activityLabel: activity.label });
    expect(claim.resultCode).to.equal('0000');
    expect(claim.resultMessage).to.equal('办理成功!');
    expect(claim.status).to.equal(ClaimStatus.CLAIM_STATUS_GRANTED);
    expect(claim.claimId).to.match(/^[0-9A-F]{32}$/);
    expect(claim.products.map((p) => [p.subActivityId, p.productUri, p.activateType])).to.deep.equal([
      [first.id, 'product://gtj/2026', ActivateType.ACTIVATE_TYPE_ON_GRANT],
      [first.id, 'product://gcl/2026', ActivateType.ACTIVATE_TYPE_LATER],
      [second.id, 'product://b', ActivateType.ACTIVATE_TYPE_LATER],
    ]);
    for (const p of claim.products) expect(p.activityId).to.equal(activity.id);
    const [days365, fixed, days30] = claim.products;
    const start = days365?.limitStartTime?.getTime() ?? 0;
    expect(start).to.be.within(before, Date.now());
    expect(days365?.limitEndTime?.getTime()).to.equal(start + 365 * DAY_MS);
    expect(fixed?.limitStartTime).to.deep.equal(FIXED_START);
    expect(fixed?.limitEndTime).to.deep.equal(FIXED_END);
    expect(days30?.limitEndTime?.getTime()).to.equal((days30?.limitStartTime?.getTime() ?? 0) + 30 * DAY_MS);
    expect(claim.activities[0]?.subActivities.map((u) => [u.id, u.participateResult, u.errorCode])).to.deep.equal([
      [first.id, true, 0],
      [second.id, true, 0],
    ]);

    const held = await clients.grant.listEntitlements({ identity });
    expect(held.products.map((p) => p.productUri).sort()).to.deep.equal(['product://b', 'product://gcl/2026', 'product://gtj/2026']);
    expect(held.products.every((p) => p.claimId === claim.claimId)).to.equal(true);

    const again = await clients.grant.getClaim({ claimId: claim.claimId });
    expect(again.claim?.resultCode).to.equal('0000');
    expect(again.claim?.products).to.deep.equal(claim.products);
  });

  it('1001: a bad parameter is named, and nothing is written (the nonce stays usable)', async () => {
    const { clients } = ctx();
    const { activity } = await openActivity(clients);
    const n = nonce();
    const cases: Array<[Partial<grant.ParticipateRequest>, string]> = [
      [{ identity: '' }, 'identity'],
      [{ identity: 'x'.repeat(129) }, 'identity'],
      [{ activityLabel: '' }, 'activity_label'],
      [{ source: '' }, 'source'],
      [{ branch: 'b'.repeat(65) }, 'branch'],
      [{ extParams: { mode: 'later' } }, 'ext_params.mode'],
      [{ nonce: '' }, 'nonce'],
      [{ nonce: 'has space' }, 'nonce'],
      [{ nonce: 'n'.repeat(129) }, 'nonce'],
    ];
    const identity = phone();
    for (const [patch, field] of cases) {
      const res = await clients.grant.participate({
        identity,
        activityLabel: activity.label,
        source: 's',
        nonce: n,
        extParams: SYNC,
        ...patch,
      });
      expect(res.claim?.resultCode, field).to.equal('1001');
      expect(res.claim?.invalidField).to.equal(field);
      expect(res.claim?.resultMessage).to.contain(field);
      expect(res.claim?.claimId).to.equal('');
    }
    expect(await count('grant_entitlements', { identity })).to.equal(0);
    const ok = await participateSync(clients, { identity, activityLabel: activity.label, nonce: n });
    expect(ok.resultCode).to.equal('0000');
  });

  it('1002: a failure while granting rolls everything back and leaves the nonce usable', async () => {
    const { clients, app } = ctx();
    const { activity, unit } = await openActivity(clients);
    const identity = phone();
    const n = nonce();
    await app.db.knex.schema.renameTable('grant_entitlements', 'grant_entitlements_away');
    let claim: grant.Claim;
    try {
      claim = await participateSync(clients, { identity, activityLabel: activity.label, nonce: n });
    } finally {
      await app.db.knex.schema.renameTable('grant_entitlements_away', 'grant_entitlements');
    }
    expect(claim.resultCode).to.equal('1002');
    expect(claim.status).to.equal(ClaimStatus.CLAIM_STATUS_REFUSED);
    expect(claim.products).to.deep.equal([]);
    expect(await count('grant_person_counts', { sub_activity_id: unit.id })).to.equal(0);
    expect(await count('grant_sub_activities', { id: unit.id, granted: '0' })).to.equal(1);
    const retried = await participateSync(clients, { identity, activityLabel: activity.label, nonce: n });
    expect(retried.resultCode).to.equal('0000');
  });

  it('1002: the identity+activity lock held elsewhere past the wait answers 1002, nothing granted', async function () {
    this.timeout(30_000);
    // An instance whose Participate waits 300 ms for the lock instead of its default 8 s.
    const sibling = await startSiblingApp(ctx(), { areas: areasWithGrant({ lockWaitMs: 300 }) });
    try {
      const { clients, app } = sibling;
      const { activity } = await openActivity(clients);
      const identity = phone();
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked: () => void = () => undefined;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = app.locks.withLock(`grant:${activity.label}:${identity}`, async () => {
        locked();
        await held;
      }, { ttlMs: 20_000 });
      await isLocked;
      try {
        const claim = await participateSync(clients, { identity, activityLabel: activity.label });
        expect(claim.resultCode).to.equal('1002');
      } finally {
        release();
        await holder;
      }
      expect(await count('grant_entitlements', { identity })).to.equal(0);
    } finally {
      await sibling.stop();
    }
  });

  it('1004: an identity of no known kind, or one the activity blocks', async () => {
    const { clients } = ctx();
    const blocked = phone();
    const activity = await createActivity(clients, { blockedIdentities: [blocked] });
    await createUnit(clients, activity.id);
    for (const identity of ['12345', '!!bad!!', 'a@b', '0-0']) {
      const claim = await participateSync(clients, { identity, activityLabel: activity.label });
      expect(claim.resultCode, identity).to.equal('1004');
      expect(claim.resultMessage).to.contain('非法的参与者信息');
    }
    const claim = await participateSync(clients, { identity: blocked, activityLabel: activity.label });
    expect(claim.resultCode).to.equal('1004');
    expect(await count('grant_entitlements', { identity: blocked })).to.equal(0);
    for (const identity of ['someone@glodon.com', 'GLODON_corp', '2041123456']) {
      expect((await participateSync(clients, { identity, activityLabel: activity.label })).resultCode, identity).to.equal('0000');
    }
  });

  it('2001: every unit dropped by a filter names the first unit\'s rule', async () => {
    const { clients } = ctx();
    const activity = await createActivity(clients);
    await createUnit(clients, activity.id, { filterRules: { allowedSources: ['gtj.glodon.com'], allowedBranches: [], identityKinds: [] } });
    await createUnit(clients, activity.id, { filterRules: { allowedSources: [], allowedBranches: ['beijing'], identityKinds: [] } });
    const identity = phone();
    const claim = await participateSync(clients, { identity, activityLabel: activity.label, source: 'other', branch: 'liaoning' });
    expect(claim.resultCode).to.equal('2001');
    expect(claim.filterRule).to.equal('source');
    expect(claim.activities[0]?.subActivities.map((u) => u.errorCode)).to.deep.equal([14006, 14007]);

    const kindOnly = await createActivity(clients);
    await createUnit(clients, kindOnly.id, {
      filterRules: { allowedSources: [], allowedBranches: [], identityKinds: [IdentityKind.IDENTITY_KIND_EMAIL] },
    });
    const byKind = await participateSync(clients, { identity, activityLabel: kindOnly.label });
    expect([byKind.resultCode, byKind.filterRule]).to.deep.equal(['2001', 'identity_kind']);
    const email = await participateSync(clients, { identity: `${identity}@glodon.com`, activityLabel: kindOnly.label });
    expect(email.resultCode).to.equal('0000');

    const passes = await participateSync(clients, { identity, activityLabel: activity.label, source: 'gtj.glodon.com', branch: 'x' });
    expect(passes.resultCode).to.equal('0000');
    expect(passes.activities[0]?.subActivities.map((u) => u.errorCode)).to.deep.equal([0, 14007]);
  });

  it('3001: no activity has the label', async () => {
    const claim = await participateSync(ctx().clients, { identity: phone(), activityLabel: label('missing') });
    expect(claim.resultCode).to.equal('3001');
    expect(claim.resultMessage).to.equal('您要办理的活动不存在!');
    expect(claim.status).to.equal(ClaimStatus.CLAIM_STATUS_REFUSED);
  });

  it('3002: per-person limit (14005), quota (14004), unit window and status (14001/14002/14003)', async () => {
    const { clients } = ctx();
    const now = Date.now();
    const activity = await createActivity(clients);
    const limited = await createUnit(clients, activity.id, { name: 'limit 2', perPersonLimit: 2 });
    const scarce = await createUnit(clients, activity.id, { name: 'quota 1', quota: '1' });
    const later = await createUnit(clients, activity.id, { startTime: new Date(now + DAY_MS), endTime: new Date(now + 2 * DAY_MS) });
    const past = await createUnit(clients, activity.id, { startTime: new Date(now - 2 * DAY_MS), endTime: new Date(now - DAY_MS) });
    const off = await createUnit(clients, activity.id, { status: ActivityStatus.ACTIVITY_STATUS_DISABLED });
    const a = phone();
    const b = phone();
    expect((await participateSync(clients, { identity: a, activityLabel: activity.label })).products).to.have.lengthOf(4);
    const second = await participateSync(clients, { identity: a, activityLabel: activity.label });
    expect(second.resultCode).to.equal('0000');
    expect(second.products.map((p) => p.subActivityId)).to.deep.equal([limited.id, limited.id]);
    const third = await participateSync(clients, { identity: a, activityLabel: activity.label });
    expect(third.resultCode).to.equal('3002');
    expect(third.resultMessage).to.equal('没有您可以办理的活动');
    const [verdict] = third.activities;
    expect(verdict?.id).to.equal(activity.id);
    expect(verdict?.name).to.equal(activity.name);
    expect(verdict?.participateResult).to.equal(false);
    expect(verdict?.subActivities.map((u) => [u.id, u.participateResult, u.errorCode])).to.deep.equal([
      [limited.id, false, 14005],
      [scarce.id, false, 14004],
      [later.id, false, 14001],
      [past.id, false, 14002],
      [off.id, false, 14003],
    ]);
    expect(verdict?.subActivities[0]?.errorMessage).to.equal('个人领取次数超限');
    await participateSync(clients, { identity: b, activityLabel: activity.label });
    await participateSync(clients, { identity: b, activityLabel: activity.label });
    const bThird = await participateSync(clients, { identity: b, activityLabel: activity.label });
    expect(bThird.activities[0]?.subActivities[1]?.errorCode).to.equal(14004);
  });

  it('3002: an activity disabled, not started, ended or without units says so at the activity level', async () => {
    const { clients } = ctx();
    const now = Date.now();
    const cases: Array<[Parameters<typeof createActivity>[1], number]> = [
      [{ status: ActivityStatus.ACTIVITY_STATUS_DISABLED }, 14103],
      [{ startTime: new Date(now + DAY_MS), endTime: new Date(now + 2 * DAY_MS) }, 14101],
      [{ startTime: new Date(now - 2 * DAY_MS), endTime: new Date(now - DAY_MS) }, 14102],
    ];
    for (const [options, code] of cases) {
      const activity = await createActivity(clients, options);
      await createUnit(clients, activity.id);
      const claim = await participateSync(clients, { identity: phone(), activityLabel: activity.label });
      expect([claim.resultCode, claim.activities[0]?.errorCode]).to.deep.equal(['3002', code]);
    }
    const empty = await createActivity(clients);
    const claim = await participateSync(clients, { identity: phone(), activityLabel: empty.label });
    expect([claim.resultCode, claim.activities[0]?.errorCode]).to.deep.equal(['3002', 14104]);
  });

  it('race: one identity, 50 concurrent calls on a limit-1 unit -> one grant, 49 x 3002/14005', async function () {
    this.timeout(60_000);
    const { clients } = ctx();
    const { activity, unit } = await openActivity(clients, { perPersonLimit: 1, quota: '1000' });
    const identity = phone();
    const claims = await Promise.all(
      Array.from({ length: 50 }, () => participateSync(clients, { identity, activityLabel: activity.label })),
    );
    const codes = claims.map((c) => c.resultCode);
    expect(codes.filter((c) => c === '0000')).to.have.lengthOf(1);
    const refused = claims.filter((c) => c.resultCode === '3002');
    expect(refused).to.have.lengthOf(49);
    for (const c of refused) expect(c.activities[0]?.subActivities[0]?.errorCode).to.equal(14005);
    expect(await count('grant_entitlements', { identity })).to.equal(2);
    expect(await count('grant_sub_activities', { id: unit.id, granted: '1' })).to.equal(1);
  });

  it('race: 500 identities against a quota of 100 -> exactly 100 grants, one per identity', async function () {
    this.timeout(120_000);
    const { clients } = ctx();
    const { activity, unit } = await openActivity(clients, { perPersonLimit: 1, quota: '100' });
    const identities = Array.from({ length: 500 }, () => phone());
    const claims = await Promise.all(identities.map((identity) => participateSync(clients, { identity, activityLabel: activity.label })));
    const granted = claims.filter((c) => c.resultCode === '0000');
    expect(granted).to.have.lengthOf(100);
    const refused = claims.filter((c) => c.resultCode === '3002');
    expect(refused).to.have.lengthOf(400);
    for (const c of refused) expect(c.activities[0]?.subActivities[0]?.errorCode).to.equal(14004);
    const rows = await ctx().app.db.knex('grant_entitlements').where({ sub_activity_id: unit.id }).select('identity');
    expect(rows).to.have.lengthOf(200);
    expect(new Set(rows.map((r: { identity: string }) => r.identity)).size).to.equal(100);
    expect(await count('grant_sub_activities', { id: unit.id, granted: '100' })).to.equal(1);
  });

  describe('anti-replay nonce', () => {
    it('a replayed nonce is refused with NONCE_REPLAYED and grants nothing; another app may use it', async () => {
      const { clients } = ctx();
      const { activity } = await openActivity(clients, { perPersonLimit: 5 });
      const identity = phone();
      const n = nonce();
      expect((await participateSync(clients, { identity, activityLabel: activity.label, nonce: n })).resultCode).to.equal('0000');
      const e = await expectError(
        participateSync(clients, { identity, activityLabel: activity.label, nonce: n }),
        GrpcStatus.ALREADY_EXISTS,
        'NONCE_REPLAYED',
      );
      expect(e.domain).to.equal('huodong.grant');
      expect(e.legacyCode).to.equal('1001');
      // Async mode and another identity change nothing: the nonce is spent for this app.
      await expectError(
        clients.grant.participate({ identity: phone(), activityLabel: activity.label, source: 's', nonce: n }),
        GrpcStatus.ALREADY_EXISTS,
        'NONCE_REPLAYED',
      );
      expect(await count('grant_entitlements', { identity })).to.equal(2);

      const other = await ctx().clientsWithScopes(['grant']);
      const claim = await participateSync(other.clients, { identity, activityLabel: activity.label, nonce: n });
      expect(claim.resultCode).to.equal('0000');
      expect(await count('grant_entitlements', { identity })).to.equal(4);
    });

    it('the same nonce raced 20 times by one app is accepted once', async () => {
      const { clients } = ctx();
      const { activity } = await openActivity(clients, { perPersonLimit: 100 });
      const n = nonce();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => participateSync(clients, { identity: phone(), activityLabel: activity.label, nonce: n })),
      );
      const answered = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.resultCode] : []));
      expect(answered).to.deep.equal(['0000']);
      expect(results.filter((r) => r.status === 'rejected')).to.have.lengthOf(19);
    });
  });

  describe('async mode', () => {
    it('records the claim, answers PENDING, and completes it in the background; GetClaim reports it', async () => {
      const { clients } = ctx();
      const { activity, unit } = await openActivity(clients);
      const identity = phone();
      const res = await clients.grant.participate({ identity, activityLabel: activity.label, source: 's', nonce: nonce() });
      expect(res.claim?.status).to.equal(ClaimStatus.CLAIM_STATUS_PENDING);
      expect(res.claim?.resultCode).to.equal('');
      const done = await settled(clients, res.claim?.claimId ?? '');
      expect(done.status).to.equal(ClaimStatus.CLAIM_STATUS_GRANTED);
      expect(done.resultCode).to.equal('0000');
      expect(done.products.map((p) => p.subActivityId)).to.deep.equal([unit.id, unit.id]);
      expect(done.completeTime).to.not.equal(undefined);

      const again = await clients.grant.participate({ identity, activityLabel: activity.label, source: 's', nonce: nonce(), extParams: { mode: 'async' } });
      const refused = await settled(clients, again.claim?.claimId ?? '');
      expect(refused.status).to.equal(ClaimStatus.CLAIM_STATUS_REFUSED);
      expect(refused.resultCode).to.equal('3002');
      expect(refused.activities[0]?.subActivities[0]?.errorCode).to.equal(14005);
    });

    it('GetClaim of another app\'s claim or an unknown id is NOT_FOUND; a malformed id INVALID_ARGUMENT', async () => {
      const { clients } = ctx();
      const { activity } = await openActivity(clients);
      const res = await clients.grant.participate({ identity: phone(), activityLabel: activity.label, source: 's', nonce: nonce() });
      const other = await ctx().clientsWithScopes(['grant']);
      await expectError(other.clients.grant.getClaim({ claimId: res.claim?.claimId ?? '' }), GrpcStatus.NOT_FOUND, 'CLAIM_NOT_FOUND');
      await expectError(clients.grant.getClaim({ claimId: '0'.repeat(32) }), GrpcStatus.NOT_FOUND, 'CLAIM_NOT_FOUND');
      const e = await expectError(clients.grant.getClaim({ claimId: 'nope' }), GrpcStatus.INVALID_ARGUMENT);
      expect(e.field).to.equal('claim_id');
    });

    it('100 async claims on a quota of 30 complete to exactly 30 grants', async function () {
      this.timeout(120_000);
      const { clients } = ctx();
      const { activity, unit } = await openActivity(clients, { quota: '30' });
      const pending = await Promise.all(
        Array.from({ length: 100 }, () =>
          clients.grant.participate({ identity: phone(), activityLabel: activity.label, source: 's', nonce: nonce() }),
        ),
      );
      const done = await Promise.all(pending.map((p) => settled(clients, p.claim?.claimId ?? '', 60_000)));
      expect(done.filter((c) => c.resultCode === '0000')).to.have.lengthOf(30);
      expect(done.filter((c) => c.resultCode === '3002')).to.have.lengthOf(70);
      expect(await count('grant_entitlements', { sub_activity_id: unit.id })).to.equal(60);
    });
  });

  describe('auth', () => {
    it('Participate needs the grant scope; admin RPCs need grant.admin', async () => {
      const member = await ctx().clientsWithScopes(['member']);
      await expectError(
        participateSync(member.clients, { identity: phone(), activityLabel: 'x' }),
        GrpcStatus.PERMISSION_DENIED,
        'SCOPE_MISSING',
      );
      const user = await ctx().clientsWithScopes(['grant']);
      await expectError(createActivity(user.clients), GrpcStatus.PERMISSION_DENIED, 'SCOPE_MISSING');
      await expectError(user.clients.grant.listEntitlements({ identity: phone() }), GrpcStatus.PERMISSION_DENIED);
      await expectError(ctx().clientsWithToken(undefined).grant.getClaim({ claimId: '0'.repeat(32) }), GrpcStatus.UNAUTHENTICATED);
    });
  });
});
