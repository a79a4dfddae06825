import { createServer } from 'node:net';
import { expect } from 'chai';
import { GrpcStatus } from '@huodong/clients';
import { startBridge } from '../../../src/bridge/server.js';
import { createLogger } from '../../../src/platform/logger.js';
import { userDataArea } from '../../../src/userdata/index.js';
import { startTestApp } from '../../support/app.js';

async function post(url: string, token: string, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** A port nothing listens on: taken from the system, then let go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('the REST bridge reaches the gRPC server', () => {
  it('on the address HUODONG_GRPC_HOST binds, not on 127.0.0.1', async () => {
    // 127.0.0.0/8 is all loopback on Linux, so 127.0.0.2 is an interface of its own.
    const t = await startTestApp('sqlite+local', { env: { HUODONG_GRPC_HOST: '127.0.0.2' } });
    try {
      expect(t.app.grpcAddress).to.equal(`127.0.0.2:${t.app.grpc.port}`);
      const res = await post(`http://127.0.0.2:${t.app.bridge?.port ?? 0}/userdata/setActUsrdata`, t.token, {
        actid: 9,
        openid: 'bound',
        data: { v: 1 },
        cas: 0,
      });
      expect(res).to.deep.equal({ status: 200, json: { code: 0, actUsrData: { cas: 1 } } });
      expect((await t.clients.userdata.getActUserData({ actid: '9', openid: 'bound' })).data).to.deep.equal({ v: 1 });
    } finally {
      await t.stop();
    }
  });

  it('and when it cannot, answers 503 without naming the address it dialled', async () => {
    const port = await closedPort();
    const bridge = await startBridge({
      grpcAddress: `127.0.0.1:${port}`,
      host: '127.0.0.1',
      port: 0,
      areas: [userDataArea],
      logger: createLogger('silent'),
      internalToken: 'unused',
    });
    try {
      const res = await post(`http://127.0.0.1:${bridge.port}/userdata/getActUsrdata`, 'any', { actid: 9, openid: 'x' });
      expect(res.status).to.equal(503);
      expect(res.json).to.deep.equal({ code: GrpcStatus.UNAVAILABLE, reason: 'UNAVAILABLE', message: 'the service is unavailable, retry later' });
    } finally {
      await bridge.close();
    }
  });
});
