import { expect } from 'chai';
import { grant, GrpcStatus } from '@huodong/clients';
import { describeEachStore } from '../../support/app.js';
import { expectError } from '../../support/errors.js';
import { createActivity, createUnit, defaultProducts, label, participateSync, phone } from './fixtures.js';

const { ActivityStatus, ActivateType, IdentityKind } = grant;

describeEachStore('ActivityGrantService admin', (ctx) => {
  it('SaveActivity creates with a server id, then updates by id; a label is unique', async () => {
    const { clients } = ctx();
    const created = await createActivity(clients, { blockedIdentities: ['13800000000', '13800000000', 'x@y.cn'] });
    expect(created.id).to.match(/^[0-9A-F]{32}$/);
    expect(created.blockedIdentities).to.deep.equal(['13800000000', 'x@y.cn']);
    const renamed = await clients.grant.saveActivity({ activity: { ...created, name: 'renamed', blockedIdentities: [] } });
    expect(renamed.activity?.id).to.equal(created.id);
    expect(renamed.activity?.name).to.equal('renamed');
    const other = await createActivity(clients);
    await expectError(clients.grant.saveActivity({ activity: { ...other, label: created.label } }), GrpcStatus.ALREADY_EXISTS, 'LABEL_TAKEN');
    await expectError(createActivity(clients, { label: created.label }), GrpcStatus.ALREADY_EXISTS, 'LABEL_TAKEN');
    await expectError(
      clients.grant.saveActivity({ activity: { ...created, id: 'A'.repeat(32), label: label() } }),
      GrpcStatus.NOT_FOUND,
      'ACTIVITY_NOT_FOUND',
    );
  });

  it('SaveActivity refuses bad input naming the field', async () => {
    const { clients } = ctx();
    const base = await createActivity(clients);
    const cases: Array<[Partial<grant.Activity>, string]> = [
      [{ label: '' }, 'activity.label'],
      [{ label: 'has space' }, 'activity.label'],
      [{ label: 'x'.repeat(65) }, 'activity.label'],
      [{ name: '' }, 'activity.name'],
      [{ startTime: undefined }, 'activity.start_time'],
      [{ endTime: undefined }, 'activity.end_time'],
      [{ endTime: base.startTime }, 'activity.end_time'],
      [{ id: 'lower-not-hex' }, 'activity.id'],
      [{ blockedIdentities: Array.from({ length: 1001 }, (_, i) => `u${i}`) }, 'activity.blocked_identities'],
    ];
    for (const [patch, field] of cases) {
      const e = await expectError(clients.grant.saveActivity({ activity: { ...base, id: '', label: label(), ...patch } }), GrpcStatus.INVALID_ARGUMENT);
      expect(e.field, JSON.stringify(patch).slice(0, 60)).to.equal(field);
    }
  });

  it('SaveSubActivity creates and updates a unit, keeping its granted count', async () => {
    const { clients } = ctx();
    const activity = await createActivity(clients);
    const unit = await createUnit(clients, activity.id, {
      quota: '5',
      perPersonLimit: 2,
      filterRules: { allowedSources: ['a', 'a', 'b'], allowedBranches: ['x'], identityKinds: [IdentityKind.IDENTITY_KIND_PHONE] },
    });
    expect(unit.id).to.match(/^[0-9A-F]{32}$/);
    expect(unit.filterRules?.allowedSources).to.deep.equal(['a', 'b']);
    expect(unit.products).to.deep.equal(defaultProducts());
    expect(unit.grantedCount).to.equal('0');
    await participateSync(clients, { identity: phone(), activityLabel: activity.label, source: 'a', branch: 'x' });
    const updated = await clients.grant.saveSubActivity({ subActivity: { ...unit, quota: '1', name: 'smaller' } });
    expect(updated.subActivity?.grantedCount).to.equal('1');
    expect(updated.subActivity?.quota).to.equal('1');
    const claim = await participateSync(clients, { identity: phone(), activityLabel: activity.label, source: 'a', branch: 'x' });
    expect(claim.activities[0]?.subActivities[0]?.errorCode).to.equal(14004);
    const other = await createActivity(clients);
    await expectError(
      clients.grant.saveSubActivity({ subActivity: { ...unit, activityId: other.id } }),
      GrpcStatus.NOT_FOUND,
      'SUB_ACTIVITY_NOT_FOUND',
    );
    await expectError(createUnit(clients, 'B'.repeat(32)), GrpcStatus.NOT_FOUND, 'ACTIVITY_NOT_FOUND');
  });

  it('SaveSubActivity refuses bad input naming the field, and writes nothing', async () => {
    const { clients } = ctx();
    const activity = await createActivity(clients);
    const product = defaultProducts()[0] as grant.Product;
    const cases: Array<[Partial<grant.SubActivity>, string]> = [
      [{ quota: '0' }, 'sub_activity.quota'],
      [{ quota: '-5' }, 'sub_activity.quota'],
      [{ quota: '1000000001' }, 'sub_activity.quota'],
      [{ perPersonLimit: 0 }, 'sub_activity.per_person_limit'],
      [{ perPersonLimit: -1 }, 'sub_activity.per_person_limit'],
      [{ perPersonLimit: 1001 }, 'sub_activity.per_person_limit'],
      [{ name: '   ' }, 'sub_activity.name'],
      [{ products: [] }, 'sub_activity.products'],
      [{ products: [product, product] }, 'sub_activity.products'],
      [{ products: Array.from({ length: 51 }, (_, i) => ({ ...product, productUri: `p${i}` })) }, 'sub_activity.products'],
      [{ products: [{ ...product, productUri: '' }] }, 'sub_activity.products[0].product_uri'],
      [{ products: [{ ...product, validity: undefined }] }, 'sub_activity.products[0].validity'],
      [{ products: [{ ...product, validity: { $case: 'days', value: 0 } }] }, 'sub_activity.products[0].days'],
      [{ products: [{ ...product, validity: { $case: 'days', value: 36_501 } }] }, 'sub_activity.products[0].days'],
      [
        { products: [{ ...product, validity: { $case: 'fixedWindow', value: { startTime: new Date(2), endTime: new Date(1) } } }] },
        'sub_activity.products[0].fixed_window.end_time',
      ],
      [{ products: [{ ...product, activateType: ActivateType.ACTIVATE_TYPE_UNSPECIFIED }] }, 'sub_activity.products[0].activate_type'],
      [
        { filterRules: { allowedSources: [], allowedBranches: [], identityKinds: [IdentityKind.IDENTITY_KIND_UNSPECIFIED] } },
        'sub_activity.filter_rules.identity_kinds',
      ],
      [{ startTime: new Date(10_000), endTime: new Date(5_000) }, 'sub_activity.end_time'],
      [{ id: 'zz' }, 'sub_activity.id'],
    ];
    for (const [patch, field] of cases) {
      const e = await expectError(createUnit(clients, activity.id, patch), GrpcStatus.INVALID_ARGUMENT);
      expect(e.field, field).to.equal(field);
    }
    const e = await expectError(createUnit(clients, ''), GrpcStatus.INVALID_ARGUMENT);
    expect(e.field).to.equal('sub_activity.activity_id');
    const rows = await ctx().app.db.knex('grant_sub_activities').where({ activity_id: activity.id });
    expect(rows).to.have.lengthOf(0);
  });

  it('a disabled unit status round-trips and ListEntitlements pages newest first', async () => {
    const { clients } = ctx();
    const activity = await createActivity(clients);
    const off = await createUnit(clients, activity.id, { status: ActivityStatus.ACTIVITY_STATUS_DISABLED });
    expect(off.status).to.equal(ActivityStatus.ACTIVITY_STATUS_DISABLED);
    const on = await createUnit(clients, activity.id, { perPersonLimit: 3 });
    const identity = phone();
    for (let i = 0; i < 3; i += 1) await participateSync(clients, { identity, activityLabel: activity.label });
    const seen: string[] = [];
    let pageToken = '';
    for (;;) {
      const page = await clients.grant.listEntitlements({ identity, pageSize: 4, pageToken });
      seen.push(...page.products.map((p) => `${p.claimId}:${p.productUri}`));
      expect(page.products.every((p) => p.subActivityId === on.id)).to.equal(true);
      if (page.nextPageToken === '') break;
      pageToken = page.nextPageToken;
    }
    expect(seen).to.have.lengthOf(6);
    expect(new Set(seen).size).to.equal(6);
    const e = await expectError(clients.grant.listEntitlements({ identity, pageToken: 'garbage!' }), GrpcStatus.INVALID_ARGUMENT);
    expect(e.field).to.equal('page_token');
    const e2 = await expectError(clients.grant.listEntitlements({ identity: '' }), GrpcStatus.INVALID_ARGUMENT);
    expect(e2.field).to.equal('identity');
    const e3 = await expectError(clients.grant.listEntitlements({ identity, pageSize: 101 }), GrpcStatus.INVALID_ARGUMENT);
    expect(e3.field).to.equal('page_size');
  });
});
