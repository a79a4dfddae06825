/**
 * The cache-time settings reach their caches: with 0 a change made behind an instance's back (by
 * another instance, or in the database) shows at once; with a long time it does not yet.
 */
import { expect } from 'chai';
import { GrpcStatus } from '@huodong/clients';
import { signRequest } from '../../../src/member/bridge.js';
import { FakeClock } from '../../support/clock.js';
import { expectError } from '../../support/errors.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { save, START } from '../lottery/support.js';

const SETTINGS = ['HUODONG_LEGACY_APP_MISS_CACHE_TTL_MS', 'HUODONG_MEMBER_SWITCH_CACHE_TTL_MS', 'HUODONG_LOTTERY_CACHE_TTL_MS'];

for (const ttl of ['0', '60000']) {
  describe(`cache times set to ${ttl} ms`, () => {
    const fresh = ttl === '0';
    const clock = new FakeClock(START);
    let t: TestApp;
    before(async () => {
      t = await startTestApp('sqlite+local', { clock, env: Object.fromEntries(SETTINGS.map((name) => [name, ttl])) });
    });
    after(async () => {
      await t?.stop();
    });

    it(`HUODONG_LEGACY_APP_MISS_CACHE_TTL_MS: a legacy app created after a refusal is ${fresh ? 'accepted at once' : 'still unknown'}`, async () => {
      const signed = async (secret: string): Promise<number> => {
        const params = { uid: 'ttl-user', appName: 'late-app', ts: String(Math.floor(Date.now() / 1000)) };
        const sig = signRequest('POST', '/cm/inner/user/getCpoint', params, secret);
        const response = await fetch(`${t.bridgeUrl}/cm/inner/user/getCpoint`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...params, sig }),
        });
        return response.status;
      };
      expect(await signed('not-yet-a-secret')).to.equal(401); // remembered as unknown
      const created = await t.clients.member.createLegacyApp({ appName: 'late-app', admin: false });
      expect(await signed(created.secret)).to.equal(fresh ? 200 : 401);
    });

    it(`HUODONG_MEMBER_SWITCH_CACHE_TTL_MS: a switch closed by another instance ${fresh ? 'applies at once' : 'waits for the cache'}`, async () => {
      const { member } = t.clients;
      await member.getCpoint({ uid: 'ttl-user' }); // reads (and caches) the switches
      await t.app.db.knex('member_api_switches').insert({ method: 'GetCpoint', closed: true, updated_by: 'elsewhere', updated_at: 0 });
      if (fresh) await expectError(member.getCpoint({ uid: 'ttl-user' }), GrpcStatus.FAILED_PRECONDITION, 'API_CLOSED');
      else expect((await member.getCpoint({ uid: 'ttl-user' })).cpoint).to.be.a('string');
    });

    it(`HUODONG_LOTTERY_CACHE_TTL_MS: an activity deleted in the database is ${fresh ? 'gone at once' : 'still served from the cache'}`, async () => {
      const { lottery } = t.clients;
      const activity = await save({ t, clock });
      await lottery.getActivity({ activityId: activity.activityId });
      await t.app.db.knex('ims_scratch_activity').where({ id: activity.activityId }).del();
      const read = lottery.getActivity({ activityId: activity.activityId });
      if (fresh) await expectError(read, GrpcStatus.NOT_FOUND, 'ACTIVITY_NOT_FOUND');
      else expect((await read).activity?.activityId).to.equal(activity.activityId);
    });
  });
}
