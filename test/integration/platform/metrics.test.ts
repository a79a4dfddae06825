import { expect } from 'chai';
import { startTestApp, STORE_KINDS, type TestApp } from '../../support/app.js';

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
    before(async () => {
      t = await startTestApp(store, { env: { HUODONG_METRICS_PORT: '0' } });
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
