/**
 * The bridge refuses cheaply before it parses, and bounds what a client may hold: Bearer routes
 * refuse a missing token before the body is read, forms have a field cap, and sockets have
 * header, request and idle timeouts and a connection cap.
 */
import { connect, type Socket } from 'node:net';
import { expect } from 'chai';
import { MAX_FORM_FIELDS } from '../../../src/bridge/http.js';
import { startBridge } from '../../../src/bridge/server.js';
import { createLogger } from '../../../src/platform/logger.js';
import { startTestApp, type TestApp } from '../../support/app.js';

async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Resolves with how long the socket stayed open, once the server closes it. */
function closedAfter(socket: Socket): Promise<number> {
  const opened = Date.now();
  return new Promise((resolve) => {
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(Date.now() - opened));
  });
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

describe('bridge limits', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite+local');
  });
  after(async () => {
    await t.stop();
  });

  it('routes that need a Bearer token refuse a missing or malformed one before reading the body (401 where a body error would be 400/415)', async () => {
    const routes = ['/userdata/getActUsrdata', '/points/getUserPoints', '/activity/services/activity?g_nonce=n1'];
    for (const route of routes) {
      const xml = await post(`${t.bridgeUrl}${route}`, '<x/>', { 'content-type': 'application/xml' });
      expect(xml.status, route).to.equal(401);
      const broken = await post(`${t.bridgeUrl}${route}`, '{"not json', { 'content-type': 'application/json' });
      expect(broken.status, route).to.equal(401);
      const malformed = await post(`${t.bridgeUrl}${route}`, '{}', { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' });
      expect(malformed.status, route).to.equal(401);
    }
    const envelope = await post(`${t.bridgeUrl}/userdata/getActUsrdata`, '<x/>', { 'content-type': 'application/xml' });
    expect(envelope.json).to.include({ code: 16, reason: 'UNAUTHENTICATED' });
    // with a token, the same body is the body's fault again
    const withToken = await post(`${t.bridgeUrl}/userdata/getActUsrdata`, '<x/>', { 'content-type': 'application/xml', authorization: `Bearer ${t.token}` });
    expect(withToken.status).to.equal(415);
  });

  it(`refuses a form of more than ${MAX_FORM_FIELDS} fields with 400 in the route's envelope, on routes that authenticate in the body too`, async () => {
    const fields = (n: number): string => Array.from({ length: n }, (_, i) => `k${i}=v`).join('&');
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const member = await post(`${t.bridgeUrl}/cm/inner/user/getCpoint`, fields(MAX_FORM_FIELDS + 1), form);
    expect(member.status).to.equal(400);
    expect(String(member.json.message)).to.contain(`more than ${MAX_FORM_FIELDS} fields`);
    const lottery = await post(`${t.bridgeUrl}/lottery/info/check`, fields(10_000), form);
    expect(lottery.status).to.equal(400);
    const userdata = await post(`${t.bridgeUrl}/userdata/getActUsrdata`, fields(MAX_FORM_FIELDS + 1), { ...form, authorization: `Bearer ${t.token}` });
    expect(userdata.status).to.equal(400);
    expect(userdata.json).to.include({ code: 3, reason: 'INVALID_ARGUMENT' });
    // at the cap the form is read (and the member route then wants its signature)
    const atCap = await post(`${t.bridgeUrl}/cm/inner/user/getCpoint`, fields(MAX_FORM_FIELDS), form);
    expect(atCap.status).to.equal(401);
  });

  it('routes that authenticate in the body take bodies up to their own limit (member 64 KiB, lottery 256 KiB): larger is 413 unread', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const big = (bytes: number): string => `x=${'a'.repeat(bytes)}`;
    const member = await post(`${t.bridgeUrl}/cm/inner/user/getCpoint`, big(64 * 1024), form);
    expect(member.status).to.equal(413);
    expect(String(member.json.message)).to.contain('larger than 65536 bytes');
    const lottery = await post(`${t.bridgeUrl}/lottery/info/check`, big(256 * 1024), form);
    expect(lottery.status).to.equal(413);
    // under the limit the body is read, and the route then wants its credential
    expect((await post(`${t.bridgeUrl}/cm/inner/user/getCpoint`, big(60 * 1024), form)).status).to.equal(401);
    // Bearer areas keep the bridge-wide 1 MiB
    const userdata = await post(`${t.bridgeUrl}/userdata/getActUsrdata`, JSON.stringify({ pad: 'a'.repeat(300 * 1024) }), {
      'content-type': 'application/json',
      authorization: `Bearer ${t.token}`,
    });
    expect(userdata.status).to.equal(400);
  });

  it('closes sockets whose headers or body come too slowly, and refuses connections over the cap', async function () {
    this.timeout(20_000);
    const bridge = await startBridge({
      grpcAddress: '127.0.0.1:1',
      host: '127.0.0.1',
      port: 0,
      areas: [],
      logger: createLogger('silent'),
      internalToken: 'unused',
      maxConnections: 3,
      timeouts: { headersMs: 500, requestMs: 1000, idleMs: 5000 },
    });
    try {
      const slowHeaders = await open(bridge.port);
      const headersClosed = closedAfter(slowHeaders);
      slowHeaders.write('POST /healthz HTTP/1.1\r\nHost: x\r\n');
      const slowBody = await open(bridge.port);
      const bodyClosed = closedAfter(slowBody);
      slowBody.write('POST /healthz HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"a":');
      const idle = await open(bridge.port);
      const idleClosed = closedAfter(idle);

      // three are open: a fourth is closed at once
      const extra = await open(bridge.port);
      expect(await closedAfter(extra)).to.be.below(1000);

      // Node checks header and request deadlines every 2 s
      expect(await headersClosed).to.be.below(4000);
      expect(await bodyClosed).to.be.below(4500);
      idle.destroy();
      await idleClosed;
      // and once those are gone, new connections are served
      const res = await fetch(`http://127.0.0.1:${bridge.port}/healthz`);
      expect(res.status).to.equal(200);
    } finally {
      await bridge.close();
    }
  });
});
