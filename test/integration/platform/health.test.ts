import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { HealthCheckRequest, HealthCheckResponse, HealthCheckResponse_ServingStatus } from '../../../src/gen/grpc/health/v1/health.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { startOwnMariadb, type OwnMariadb } from '../../support/own-mariadb.js';
import { redisControl } from '../../support/redis.js';

const { SERVING, NOT_SERVING } = HealthCheckResponse_ServingStatus;

function healthOf(client: grpc.Client, service = ''): Promise<HealthCheckResponse_ServingStatus> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (r: HealthCheckRequest) => Buffer.from(HealthCheckRequest.encode(r).finish()),
      (b: Buffer) => HealthCheckResponse.decode(b),
      { service },
      (err, value) => (err || value === undefined ? reject(err ?? new Error('empty')) : resolve(value.status)),
    );
  });
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Ready {
  readonly code: number;
  readonly body: { status: string; database: string; redis: string };
}

describe('health follows the stores: MySQL down is NOT_SERVING, Redis down is degraded', function () {
  this.timeout(180_000);
  let db: OwnMariadb;
  let t: TestApp;
  let raw: grpc.Client;
  let opsUrl: string;
  const redis = redisControl();

  const ready = async (base: string): Promise<Ready> => {
    const response = await fetch(`${base}/readyz`);
    return { code: response.status, body: (await response.json()) as Ready['body'] };
  };

  before(async () => {
    db = await startOwnMariadb();
    // The bridge is off: the ops port alone answers /readyz and /healthz.
    t = await startTestApp('mysql+redlock', {
      mysqlUrl: db.url,
      env: { HUODONG_HEALTH_INTERVAL_MS: '200', HUODONG_HTTP_PORT: '-1', HUODONG_METRICS_PORT: '0' },
    });
    raw = new grpc.Client(t.grpcAddress, grpc.credentials.createInsecure());
    opsUrl = `http://127.0.0.1:${t.app.opsServer?.port ?? 0}`;
  });
  after(async () => {
    raw?.close();
    await redis.restoreIfStopped();
    await t?.stop();
    await db?.destroy();
  });

  it('is SERVING and ready with everything up', async () => {
    expect(await healthOf(raw)).to.equal(SERVING);
    expect(await healthOf(raw, 'huodong.member.v1.MemberService')).to.equal(SERVING);
    expect(await ready(opsUrl)).to.deep.include({ code: 200 });
    expect((await ready(opsUrl)).body).to.include({ status: 'ok', database: 'up', redis: 'up' });
  });

  it('turns NOT_SERVING (and /readyz 503) while MariaDB is stopped, and SERVING again when it is back', async () => {
    await db.stop();
    await eventually('NOT_SERVING', async () => (await healthOf(raw)) === NOT_SERVING);
    expect(await healthOf(raw, 'huodong.userdata.v1.UserDataService')).to.equal(NOT_SERVING);
    const down = await ready(opsUrl);
    expect(down.code).to.equal(503);
    expect(down.body).to.include({ status: 'down', database: 'down' });
    // Live all the same: the process answers, a restart would not bring the database back.
    expect((await fetch(`${opsUrl}/healthz`)).status).to.equal(200);

    await db.start();
    await eventually('SERVING', async () => (await healthOf(raw)) === SERVING);
    expect((await ready(opsUrl)).code).to.equal(200);
    await t.clients.userdata.getActUserData({ actid: '1', openid: 'after-outage' });
  });

  it('stays SERVING but reports degraded while Redis is down', async () => {
    await redis.stop();
    await eventually('degraded', async () => (await ready(opsUrl)).body.status === 'degraded');
    const degraded = await ready(opsUrl);
    expect(degraded.code).to.equal(200);
    expect(degraded.body).to.include({ database: 'up', redis: 'down' });
    expect(await healthOf(raw)).to.equal(SERVING);
    await redis.start();
    await eventually('ok', async () => (await ready(opsUrl)).body.status === 'ok');
  });
});
