/**
 * Identifiers match exactly on both stores. The MySQL test databases default to
 * utf8mb4_general_ci (as MariaDB does), under which ids differing only in case would be one row:
 * these tests fail unless an area's tables compare exactly (exactTextMigration).
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { grant as gpb, points as ppb } from '@huodong/clients';
import { describeEachStore } from '../../support/app.js';
import { createActivity, createUnit, nonce, participateSync } from '../grant/fixtures.js';

const tag = (): string => randomBytes(4).toString('hex');

describeEachStore('identifiers that differ only in case', (ctx) => {
  it('member: two uids are two balances, and two order ids are two orders', async () => {
    const m = ctx().clients.member;
    const upper = `Case-${tag()}`;
    const lower = upper.toLowerCase();
    await m.adminAddCpoint({ requestId: `fund-${upper}`, uid: upper, cpoint: '10.00', adminId: 'ops' });
    await m.adminAddCpoint({ requestId: `fund-${lower}`, uid: lower, cpoint: '3.00', adminId: 'ops' });
    expect((await m.getCpoint({ uid: upper })).cpoint).to.equal('10.00');
    expect((await m.getCpoint({ uid: lower })).cpoint).to.equal('3.00');

    const order = `Ord-${tag()}`;
    await m.consumeCpoint({ orderId: order, uid: upper, cpoint: '1.00' });
    await m.consumeCpoint({ orderId: order.toLowerCase(), uid: upper, cpoint: '1.00' });
    expect((await m.getCpoint({ uid: upper })).cpoint).to.equal('8.00');
    expect((await m.checkConsume({ orderId: order.toLowerCase(), uid: upper })).consumed).to.equal(true);
  });

  it('points: two open ids are two accounts, and two request ids are two credits', async () => {
    const p = ctx().clients.points;
    const openId = `oAbC-${tag()}`;
    const credit = (id: string, requestId: string, value: string) =>
      p.changePoints({ requestId, openId: id, direction: ppb.ChangeDirection.CHANGE_DIRECTION_CREDIT, faceValue: value, source: ppb.PointsSource.POINTS_SOURCE_OTHER });
    const request = `Sign-${tag()}`;
    await credit(openId, request, '100');
    await credit(openId.toLowerCase(), `r-${tag()}`, '5');
    await credit(openId, request.toLowerCase(), '7');
    expect((await p.getUserPoints({ openId })).points).to.equal('107');
    expect((await p.getUserPoints({ openId: openId.toLowerCase() })).points).to.equal('5');
  });

  it('grant: nonces differing in case are two nonces; an e-mail is one person whatever its case', async () => {
    const { clients } = ctx();
    const email = `Alice.${tag()}@Corp.com`;
    const activity = await createActivity(clients, { blockedIdentities: [`BAD.${email}`] });
    await createUnit(clients, activity.id, { perPersonLimit: 1 });

    const n = nonce().toUpperCase();
    const first = await participateSync(clients, { identity: email, activityLabel: activity.label, nonce: n });
    expect(first.resultCode).to.equal('0000');
    const again = await participateSync(clients, { identity: email.toLowerCase(), activityLabel: activity.label, nonce: n.toLowerCase() });
    // Not a replay of the first nonce, but the same person: the per-person limit refuses.
    expect(again.resultCode).to.not.equal('0000');
    expect(again.claimId).to.not.equal(first.claimId);

    const granted = await clients.grant.listEntitlements({ identity: email.toUpperCase(), pageSize: 100 });
    const lower = await clients.grant.listEntitlements({ identity: email.toLowerCase(), pageSize: 100 });
    expect(granted.products.length).to.be.greaterThan(0);
    expect(lower.products).to.deep.equal(granted.products);

    const blocked = await participateSync(clients, { identity: `bad.${email}`.toLowerCase(), activityLabel: activity.label });
    expect(blocked.resultCode).to.equal('1004');
    expect(gpb.ClaimStatus[blocked.status]).to.not.equal('CLAIM_STATUS_PENDING');
  });
});
