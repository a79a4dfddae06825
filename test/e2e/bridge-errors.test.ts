/**
 * Every legacy route answers a body it cannot read in its own area's envelope, through the one
 * shared route error handler (src/bridge/http.ts); userdata and grant have their own tests.
 */
import { expect } from 'chai';
import { GrpcStatus } from '@huodong/clients';
import { describeEachStore } from '../support/app.js';

describeEachStore('REST bridge: a body that is not JSON, in each area envelope', (ctx) => {
  const broken = async (path: string): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${ctx().bridgeUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx().token}` },
      body: '{"uid": ',
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('member /cm/inner: {status, message, serverTime, data}', async () => {
    const res = await broken('/cm/inner/user/getCpoint');
    expect(res.status).to.equal(400);
    expect(res.json).to.have.all.keys('status', 'message', 'reason', 'serverTime', 'data');
    expect(res.json).to.include({ status: 400, reason: 'INVALID_ARGUMENT', message: 'body: is not valid JSON' });
  });

  it('points /points: {result, msg, code}', async () => {
    const res = await broken('/points/getUserPoints');
    expect(res.status).to.equal(400);
    expect(res.json).to.deep.equal({ result: null, msg: 'body: is not valid JSON', code: GrpcStatus.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT' });
  });

  it('lottery /lottery: {status, msg, data}', async () => {
    const res = await broken('/lottery/Activity/info');
    expect(res.status).to.equal(400);
    expect(res.json).to.deep.equal({ status: 400, msg: 'body: is not valid JSON', reason: 'INVALID_ARGUMENT', data: null });
  });
});
