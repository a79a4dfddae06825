import { expect } from 'chai';
import { lottery as lotteryPb, points as pointsPb } from '@huodong/clients';
import { startTestApp, STORE_KINDS, type TestApp } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';
import { openActivity, participateSync } from '../grant/fixtures.js';
import { draw, enter, prize, save, START } from '../lottery/support.js';
import { savePrize } from '../points/helpers.js';

/** The value of one series in Prometheus text, e.g. `name{a="b"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const USERDATA = 'service="huodong.userdata.v1.UserDataService"';
const MEMBER = 'service="huodong.member.v1.MemberService"';

for (const store of STORE_KINDS) {
  describe(`GET /metrics [${store}]`, function () {
    let t: TestApp;
    const clock = new FakeClock();
    before(async () => {
      t = await startTestApp(store, { clock, env: { HUODONG_METRICS_PORT: '0' } });
    });
    after(async () => {
      await t?.stop();
    });

    const scrape = async (base: string): Promise<string> => {
      const response = await fetch(`${base}/metrics`);
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.contain('text/plain');
      return response.text();
    };

    it('counts RPCs by method and code, with latency histograms, value moved and lock timings', async () => {
      const { userdata, member } = t.clients;
      await userdata.getActUserData({ actid: '1', openid: 'm-1' });
      await userdata.getActUserData({ actid: '1', openid: 'm-2' });
      await userdata.setActUserData({ actid: '1', openid: 'm-1', data: { a: 1 }, cas: '5' }).catch(() => undefined);
      await member.adminAddCpoint({ requestId: 'metrics-add-1', uid: 'mu-1', cpoint: '10.50', adminId: 'ops' });
      await member.consumeCpoint({ orderId: 'metrics-order-1', uid: 'mu-1', cpoint: '2.25' });

      const text = await scrape(t.bridgeUrl);
      expect(sample(text, `huodong_rpc_handled_total{${USERDATA},method="GetActUserData",code="OK"}`)).to.equal(2);
      expect(sample(text, `huodong_rpc_handled_total{${USERDATA},method="SetActUserData",code="ABORTED"}`)).to.equal(1);
      expect(sample(text, `huodong_rpc_duration_seconds_count{${USERDATA},method="GetActUserData"}`)).to.equal(2);
      expect(sample(text, `huodong_rpc_duration_seconds_bucket{le="+Inf",${USERDATA},method="GetActUserData"}`)).to.equal(2);
      expect(sample(text, `huodong_rpc_handled_total{${MEMBER},method="ConsumeCpoint",code="OK"}`)).to.equal(1);
      expect(sample(text, 'huodong_member_cpoints_moved_total{op="ConsumeCpoint"}')).to.equal(2.25);
      expect(sample(text, 'huodong_member_cpoints_moved_total{op="AdminAddCpoint"}')).to.equal(10.5);
      expect(sample(text, 'huodong_lock_acquire_seconds_count{lock="member:user"}')).to.be.greaterThanOrEqual(2);
      expect(text).to.contain('huodong_process_cpu_seconds_total');
      if (store === 'mysql+redlock') {
        expect(sample(text, 'huodong_db_pool_max')).to.equal(t.app.config.mysqlPoolMax);
        expect(sample(text, 'huodong_db_pool_waiting')).to.equal(0);
        expect(sample(text, 'huodong_db_pool_connections_in_use')).to.be.a('number');
      }
    });

    it('counts the business: points credited, debited and expired, exchanges, draws by outcome, grants, daily-job runs and lots', async () => {
      const { points } = t.clients;

      // Lottery: a sure win, then whatever the rules answer next; each counted under its outcome.
      clock.set(START);
      const activity = await save({ t, clock }, { prizes: [prize({ sum: 5, chance: '100' })] });
      const { token } = await enter({ t, clock }, activity.code);
      const outcomes = [(await draw({ t, clock }, token)).outcome, (await draw({ t, clock }, token)).outcome];
      expect(outcomes[0]).to.equal(lotteryPb.Outcome.OUTCOME_WIN);

      // Grant: one synchronous participation granting the unit's two products.
      clock.set(new Date());
      const { activity: grantActivity } = await openActivity(t.clients);
      const claim = await participateSync(t.clients, { identity: '13900000001', activityLabel: grantActivity.label });
      expect(claim.resultCode).to.equal('0000');
      expect(claim.products).to.have.length(2);

      // Points: 200 that never expire, an exchange of 100 (drawn from them), then 30 from a task,
      // which expire a year later; the daily job a year and a day on expires that lot.
      clock.set('2026-04-01T00:00:00Z');
      const credit = (requestId: string, faceValue: string, source: pointsPb.PointsSource) =>
        points.changePoints({ requestId, openId: 'metrics-p', direction: pointsPb.ChangeDirection.CHANGE_DIRECTION_CREDIT, faceValue, source });
      await credit('metrics-credit-1', '200', pointsPb.PointsSource.POINTS_SOURCE_OTHER);
      const mug = await savePrize(t.clients, { faceValue: '100' });
      await points.exchangePrize({ requestId: 'metrics-exchange-1', openId: 'metrics-p', prizeId: mug.prizeId });
      await credit('metrics-credit-2', '30', pointsPb.PointsSource.POINTS_SOURCE_TASK);
      clock.set('2027-04-03T00:00:00Z');
      const job = await points.runDailyJob({});
      expect(job.finished).to.equal(true);

      // A run of the scheduler's own may have done the day first: it is counted the same way.
      let text = '';
      for (let i = 0; i < 50; i++) {
        text = await scrape(t.bridgeUrl);
        if (sample(text, 'huodong_points_daily_job_expired_lots_total') !== undefined) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(sample(text, 'huodong_points_moved_total{direction="credit",op="ChangePoints"}')).to.equal(230);
      expect(sample(text, 'huodong_points_moved_total{direction="debit",op="ExchangePrize"}')).to.equal(100);
      expect(sample(text, 'huodong_points_exchanges_total')).to.equal(1);
      expect(sample(text, 'huodong_points_moved_total{direction="expire",op="DailyJob"}')).to.equal(30);
      expect(sample(text, 'huodong_points_daily_job_expired_lots_total')).to.equal(1);
      expect(sample(text, 'huodong_points_daily_job_seconds_count')).to.be.greaterThanOrEqual(1);
      expect(sample(text, 'huodong_points_daily_job_last_finished_seconds')).to.be.greaterThan(0);

      const byOutcome = new Map<string, number>();
      for (const outcome of outcomes) {
        const label = lotteryPb.outcomeToJSON(outcome).replace(/^OUTCOME_/, '');
        byOutcome.set(label, (byOutcome.get(label) ?? 0) + 1);
      }
      for (const [label, n] of byOutcome) expect(sample(text, `huodong_lottery_draws_total{outcome="${label}"}`), label).to.equal(n);
      expect(sample(text, 'huodong_lottery_draws_total{outcome="WIN"}')).to.be.greaterThanOrEqual(1);

      expect(sample(text, 'huodong_grant_participations_total{result_code="0000"}')).to.equal(1);
      expect(sample(text, 'huodong_grant_products_total')).to.equal(2);
    });

    it('counts bridge routes by route pattern and status, and serves the same on the metrics port', async () => {
      const response = await fetch(`${t.bridgeUrl}/userdata/getActUsrdata`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ actid: 1, openid: 'm-http' }),
      });
      expect(response.status).to.equal(200);
      const text = await scrape(`http://127.0.0.1:${t.app.opsServer?.port ?? 0}`);
      expect(sample(text, 'huodong_http_requests_total{route="/userdata/getActUsrdata",method="POST",status="200"}')).to.equal(1);
      expect(sample(text, 'huodong_http_request_duration_seconds_count{route="/userdata/getActUsrdata",method="POST"}')).to.equal(1);
      expect(sample(text, `huodong_rpc_handled_total{${USERDATA},method="GetActUserData",code="OK"}`)).to.be.greaterThanOrEqual(3);
    });
  });
}

describe('HUODONG_METRICS=0', () => {
  it('records nothing and answers /metrics with 404', async () => {
    const t = await startTestApp('sqlite+local', { env: { HUODONG_METRICS: '0' } });
    try {
      await t.clients.userdata.getActUserData({ actid: '1', openid: 'off' });
      expect((await fetch(`${t.bridgeUrl}/metrics`)).status).to.equal(404);
      expect(t.app.metrics.enabled).to.equal(false);
    } finally {
      await t.stop();
    }
  });
});
