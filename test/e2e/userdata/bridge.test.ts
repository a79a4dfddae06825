import { expect } from 'chai';
import { GrpcStatus } from '@huodong/clients';
import { MAX_BODY_BYTES } from '../../../src/bridge/server.js';
import { describeEachStore } from '../../support/app.js';

let seq = 0;

describeEachStore('REST bridge /userdata', (ctx) => {
  const post = async (
    path: string,
    body: Record<string, unknown> | URLSearchParams,
    token: string | null = ctx().token,
  ): Promise<{ status: number; json: Record<string, unknown> }> => {
    const form = body instanceof URLSearchParams;
    const res = await fetch(`${ctx().bridgeUrl}${path}`, {
      method: 'POST',
      headers: {
        'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      body: form ? body.toString() : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('round-trips like seed 000: get -> modify -> set with actUsrData.cas, JSON bodies', async () => {
    const openid = `bridge-${++seq}`;
    const first = await post('/userdata/getActUsrdata', { actid: 9, openid });
    expect(first).to.deep.equal({ status: 200, json: { code: 0, actUsrData: { cas: 0 } } });

    // The legacy caller sends back the object it read, cas included.
    const record = { ...(first.json.actUsrData as object), rcdlst: [{ pkgid: 3, ts: 1700000000 }] };
    const set = await post('/userdata/setActUsrdata', { actid: 9, openid, data: record, cas: 0 });
    expect(set).to.deep.equal({ status: 200, json: { code: 0, actUsrData: { cas: 1 } } });

    const again = await post('/userdata/getActUsrdata', { actid: 9, openid });
    expect(again.json).to.deep.equal({ code: 0, actUsrData: { rcdlst: [{ pkgid: 3, ts: 1700000000 }], cas: 1 } });
    // and the stored data does not contain the echoed cas
    expect((await ctx().clients.userdata.getActUserData({ actid: '9', openid })).data).to.deep.equal({
      rcdlst: [{ pkgid: 3, ts: 1700000000 }],
    });
  });

  it('accepts urlencoded bodies with data as JSON text', async () => {
    const openid = `bridge-${++seq}`;
    const set = await post(
      '/userdata/setActUsrdata',
      new URLSearchParams({ actid: '9', openid, data: JSON.stringify({ a: [1, 2] }), cas: '-1' }),
    );
    expect(set.json).to.deep.equal({ code: 0, actUsrData: { cas: 1 } });
    const got = await post('/userdata/getActUsrdata', new URLSearchParams({ actid: '9', openid }));
    expect(got.json).to.deep.equal({ code: 0, actUsrData: { a: [1, 2], cas: 1 } });
  });

  it('answers a stale cas with a non-zero code and HTTP 409, writing nothing', async () => {
    const openid = `bridge-${++seq}`;
    await post('/userdata/setActUsrdata', { actid: 9, openid, data: { v: 1 }, cas: 0 });
    const stale = await post('/userdata/setActUsrdata', { actid: 9, openid, data: { v: 2 }, cas: 0 });
    expect(stale.status).to.equal(409);
    expect(stale.json.code).to.not.equal(0);
    expect(stale.json.reason).to.equal('CAS_CONFLICT');
    expect((await post('/userdata/getActUsrdata', { actid: 9, openid })).json.actUsrData).to.deep.equal({ v: 1, cas: 1 });
  });

  it('refuses non-object data, broken JSON and bad numbers, naming the field and writing nothing', async () => {
    const openid = `bridge-${++seq}`;
    for (const [body, field] of [
      [{ actid: 9, openid, data: [1, 2], cas: 0 }, 'data'],
      [{ actid: 9, openid, data: 'text', cas: 0 }, 'data'],
      [{ actid: 9, openid, data: 7, cas: 0 }, 'data'],
      [{ actid: 9, openid, cas: 0 }, 'data'],
      [{ actid: 'nine', openid, data: {}, cas: 0 }, 'actid'],
      [{ actid: -9, openid, data: {}, cas: 0 }, 'actid'],
      [{ actid: 9, openid, data: {}, cas: 1.5 }, 'cas'],
      [{ openid, data: {}, cas: 0 }, 'actid'],
      [{ actid: 9, data: {}, cas: 0 }, 'openid'],
    ] as const) {
      const res = await post('/userdata/setActUsrdata', body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(res.json.message, JSON.stringify(body)).to.match(new RegExp(`^${field}:`));
    }
    const form = await post('/userdata/setActUsrdata', new URLSearchParams({ actid: '9', openid, data: '{broken', cas: '0' }));
    expect(form.status).to.equal(400);
    expect(form.json.message).to.match(/^data:/);
    expect((await post('/userdata/getActUsrdata', { actid: 9, openid })).json.actUsrData).to.deep.equal({ cas: 0 });
  });

  it('needs the Bearer app token: none -> 401, without the scope -> 403', async () => {
    const none = await post('/userdata/getActUsrdata', { actid: 9, openid: 'x' }, null);
    expect(none.status).to.equal(401);
    const { token } = await ctx().clientsWithScopes(['points']);
    const denied = await post('/userdata/getActUsrdata', { actid: 9, openid: 'x' }, token);
    expect(denied.status).to.equal(403);
  });

  it('refuses an openid with surrounding whitespace and an actid above 2^63-1, naming the field and writing nothing', async () => {
    const openid = `bridge-${++seq}`;
    await post('/userdata/setActUsrdata', { actid: 9, openid, data: { mine: true }, cas: 0 });
    for (const body of [
      { actid: 9, openid: `${openid} `, data: { theirs: true }, cas: -1 },
      new URLSearchParams({ actid: '9', openid: `${openid} `, data: '{"theirs":true}', cas: '-1' }),
    ]) {
      const res = await post('/userdata/setActUsrdata', body);
      expect(res.status).to.equal(400);
      expect(res.json.message).to.match(/^openid:/);
    }
    const big = await post('/userdata/setActUsrdata', { actid: '9223372036854775808', openid, data: { v: 1 }, cas: -1 });
    expect(big.status).to.equal(400);
    expect(big.json.message).to.match(/^actid:/);
    expect((await post('/userdata/getActUsrdata', { actid: 9, openid })).json.actUsrData).to.deep.equal({ mine: true, cas: 1 });
  });

  describe('a body the bridge cannot take answers the documented {code, reason, message}, naming body', () => {
    const raw = async (body: string, contentType: string): Promise<{ status: number; json: Record<string, unknown> }> => {
      const res = await fetch(`${ctx().bridgeUrl}/userdata/setActUsrdata`, {
        method: 'POST',
        headers: { 'content-type': contentType, authorization: `Bearer ${ctx().token}` },
        body,
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const expectEnvelope = (res: { status: number; json: Record<string, unknown> }, status: number): void => {
      expect(res.status).to.equal(status);
      expect(res.json).to.have.all.keys('code', 'reason', 'message');
      expect(res.json).to.include({ code: GrpcStatus.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT' });
      expect(res.json.message).to.match(/^body: /);
    };

    it('broken JSON: 400', async () => {
      const res = await raw('{"actid": 9, "openid": ', 'application/json');
      expectEnvelope(res, 400);
      expect(res.json.message).to.match(/JSON/);
    });

    it(`over the bridge limit (${MAX_BODY_BYTES} bytes): 413`, async () => {
      const res = await raw(JSON.stringify({ actid: 9, openid: 'big', data: { s: 'x'.repeat(2 * MAX_BODY_BYTES) }, cas: 0 }), 'application/json');
      expectEnvelope(res, 413);
      expect(res.json.message).to.contain(String(MAX_BODY_BYTES));
      expect((await post('/userdata/getActUsrdata', { actid: 9, openid: 'big' })).json.actUsrData).to.deep.equal({ cas: 0 });
    });

    it('an unsupported content type: 415', async () => {
      expectEnvelope(await raw('<actid>9</actid>', 'application/xml'), 415);
    });
  });
});
