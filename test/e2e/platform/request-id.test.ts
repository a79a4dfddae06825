import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { GetActUserDataRequest, GetActUserDataResponse } from '../../../src/gen/huodong/userdata/v1/userdata.js';
import { createLogger } from '../../../src/platform/logger.js';
import { startTestApp, type TestApp } from '../../support/app.js';

const PATH = '/huodong.userdata.v1.UserDataService/GetActUserData';

/** One raw call; answers the response headers and trailers as the caller sees them. */
function call(client: grpc.Client, metadata: grpc.Metadata): Promise<{ headers: grpc.Metadata; error: grpc.ServiceError | null }> {
  return new Promise((resolve) => {
    let headers = new grpc.Metadata();
    const c = client.makeUnaryRequest(
      PATH,
      (r: GetActUserDataRequest) => Buffer.from(GetActUserDataRequest.encode(r).finish()),
      (b: Buffer) => GetActUserDataResponse.decode(b),
      { actid: '1', openid: 'rid' },
      metadata,
      (error) => resolve({ headers, error }),
    );
    c.on('metadata', (m: grpc.Metadata) => (headers = m));
  });
}

describe('request ids and callers', () => {
  let t: TestApp;
  let raw: grpc.Client;
  const lines: Array<Record<string, unknown>> = [];
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    t = await startTestApp('sqlite+local', { logger: createLogger('info', sink) });
    raw = new grpc.Client(t.grpcAddress, grpc.credentials.createInsecure());
  });
  after(async () => {
    raw?.close();
    await t?.stop();
  });

  it('echoes the caller’s x-request-id in the response headers and logs it with the app name', async () => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${t.token}`);
    md.set('x-request-id', 'rid-echo-0001');
    const { headers, error } = await call(raw, md);
    expect(error).to.equal(null);
    expect(headers.get('x-request-id')).to.deep.equal(['rid-echo-0001']);
    const line = lines.find((l) => l.msg === 'rpc' && l.requestId === 'rid-echo-0001');
    expect(line).to.include({ method: PATH, app: 'dev', code: 'OK' });
  });

  it('generates one when none (or a malformed one) is given, on failures too', async () => {
    const md = new grpc.Metadata();
    md.set('x-request-id', 'not ok!');
    const { headers, error } = await call(raw, md);
    expect(error?.code).to.equal(grpc.status.UNAUTHENTICATED);
    const [id] = headers.get('x-request-id');
    expect(id).to.match(/^[0-9a-f-]{36}$/);
    const line = lines.find((l) => l.msg === 'rpc' && l.requestId === id);
    expect(line).to.include({ code: 'UNAUTHENTICATED' });
  });

  it('echoes it on bridge answers, and the bridge logs it under the same field name', async () => {
    const response = await fetch(`${t.bridgeUrl}/userdata/getActUsrdata`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json', 'x-request-id': 'rid-http-0002' },
      body: JSON.stringify({ actid: 1, openid: 'rid' }),
    });
    expect(response.status).to.equal(200);
    expect(response.headers.get('x-request-id')).to.equal('rid-http-0002');
    const generated = await fetch(`${t.bridgeUrl}/healthz`);
    expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    // The bridge forwards it, so the RPC's line carries the same id.
    expect(lines.find((l) => l.msg === 'rpc' && l.requestId === 'rid-http-0002')).to.include({ method: PATH });
    const bridgeLines = lines.filter((l) => l.component === 'bridge');
    expect(bridgeLines.length).to.be.greaterThan(0);
    for (const l of bridgeLines) expect(l).to.not.have.property('reqId');
    expect(bridgeLines.some((l) => l.requestId === 'rid-http-0002')).to.equal(true);
  });
});
