/** The bridge's access line (`msg: "http"`) names the calling app, as the gRPC line does. */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { signRequest } from '../../../src/member/bridge.js';
import { createLogger } from '../../../src/platform/logger.js';
import { startTestApp, type TestApp } from '../../support/app.js';

type Line = Record<string, unknown>;

describe('the bridge access log', () => {
  const lines: Line[] = [];
  let t: TestApp;
  before(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Line);
        done();
      },
    });
    t = await startTestApp('sqlite+local', { logger: createLogger('info', stream) });
  });
  after(async () => {
    await t?.stop();
  });

  /** The access line of the bridge request with this request id (logged when the answer is sent). */
  const accessLine = async (requestId: string): Promise<Line> => {
    for (let i = 0; i < 100; i++) {
      const line = lines.find((l) => l.msg === 'http' && l.requestId === requestId);
      if (line !== undefined) return line;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no access line for ${requestId}`);
  };

  const post = (path: string, requestId: string, body: unknown, token?: string, form = false): Promise<Response> =>
    fetch(`${t.bridgeUrl}${path}`, {
      method: 'POST',
      headers: {
        'x-request-id': requestId,
        'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body),
    });

  it('names the app of the Bearer token on a bearer route, like the gRPC line', async () => {
    const { token } = await t.app.apps.create('shop-web', ['userdata']);
    const response = await post('/userdata/getActUsrdata', 'log-bearer-1', { actid: 1, openid: 'log-1' }, token);
    expect(response.status).to.equal(200);
    const http = await accessLine('log-bearer-1');
    expect(http).to.include({ app: 'shop-web', status: 200, path: '/userdata/getActUsrdata' });
    expect(http).not.to.have.property('legacyApp');
    const rpc = lines.find((l) => l.msg === 'rpc' && l.requestId === 'log-bearer-1');
    expect(rpc).to.include({ app: 'shop-web' });
    // the token itself is never logged
    expect(JSON.stringify(lines)).not.to.contain(token);
  });

  it('names the app even when the gRPC server refuses the call, and none for an unknown token', async () => {
    const { token } = await t.app.apps.create('member-only', ['member']);
    // a known app without the userdata scope: PERMISSION_DENIED, still that app's request
    await post('/userdata/getActUsrdata', 'log-denied-1', { actid: 1, openid: 'log-2' }, token);
    expect(await accessLine('log-denied-1')).to.include({ app: 'member-only' });
    await post('/userdata/getActUsrdata', 'log-unknown-1', { actid: 1, openid: 'log-3' }, 'hd_unknown-token-000000000000000');
    const unknown = await accessLine('log-unknown-1');
    expect(unknown.status).to.equal(401);
    expect(unknown).not.to.have.property('app');
  });

  it('names the legacy app whose signature the bridge verified on a signed member route', async () => {
    const legacy = await t.clients.member.createLegacyApp({ appName: 'legacy-mall', admin: false });
    const params = { uid: 'log-legacy', appName: legacy.appName, ts: String(Math.floor(Date.now() / 1000)) };
    const sig = signRequest('POST', '/cm/inner/user/getCpoint', params, legacy.secret);
    const response = await post('/cm/inner/user/getCpoint', 'log-legacy-1', { ...params, sig }, undefined, true);
    expect(response.status).to.equal(200);
    expect(await accessLine('log-legacy-1')).to.include({ legacyApp: 'legacy-mall', status: 200 });

    // a forged signature names no legacy app: the name in the body is only a claim
    const forged = await post('/cm/inner/user/getCpoint', 'log-legacy-2', { ...params, sig: '0'.repeat(64) }, undefined, true);
    expect(forged.status).to.equal(401);
    expect(await accessLine('log-legacy-2')).not.to.have.property('legacyApp');
  });
});
