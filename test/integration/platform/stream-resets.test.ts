/**
 * Bursts of cancelled calls (issue 16 item 4): nghttp2 closes a connection with GOAWAY
 * INTERNAL_ERROR once a client has reset about 1,000 streams in a burst, failing every call
 * on it. The server closes such a connection gracefully first (RESET_GUARD), so a bystander
 * call on the same channel never fails. Also the connection limits of issue 13 item 5.
 */
import * as http2 from 'node:http2';
import { expect } from 'chai';
import { HuodongError } from '@huodong/clients';
import { startTestApp, type TestApp } from '../../support/app.js';
import { CONNECTION_LIMITS } from '../../../src/platform/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the gRPC server under a burst of cancelled calls', function () {
  this.timeout(180_000);
  let t: TestApp | undefined;
  before(async () => {
    t = await startTestApp('sqlite+local');
  });
  after(async () => t?.stop());

  it('2,000 cancellations on one channel: every bystander call on that channel succeeds', async () => {
    const m = (t as TestApp).clients.member;
    await m.adminAddCpoint({ requestId: 'burst-fund', uid: 'bystander', cpoint: '10.00', adminId: 'ops' });
    let bursting = true;
    const bystander: string[] = [];
    const watcher = (async () => {
      while (bursting) {
        try {
          await m.getCpoint({ uid: 'bystander' }, { deadlineMs: 30_000 });
          bystander.push('OK');
        } catch (err) {
          bystander.push(err instanceof HuodongError ? `${err.code} ${err.message}` : String(err));
        }
      }
    })();
    const cancelled: Array<Promise<string>> = [];
    for (let i = 0; i < 2000; i += 1) {
      const abort = new AbortController();
      cancelled.push(
        m.getCpoint({ uid: `burst-${i}` }, { signal: abort.signal }).then(
          () => 'OK',
          (err: unknown) => (err instanceof HuodongError ? String(err.code) : String(err)),
        ),
      );
      // Cancelled once the call is on the wire: the server has the stream, the client resets it.
      setTimeout(() => abort.abort(), 1);
      if (i % 50 === 49) await sleep(2);
    }
    const outcomes = await Promise.all(cancelled);
    bursting = false;
    await watcher;
    bystander.push(await m.getCpoint({ uid: 'bystander' }).then(() => 'OK', (err: unknown) => String(err)));
    expect(outcomes.filter((o) => o === '1').length, 'calls cancelled').to.be.greaterThan(1000);
    expect(bystander.filter((b) => b !== 'OK'), 'failed bystander calls').to.deep.equal([]);
  });

  it('announces its stream limit per connection in its HTTP/2 settings', async () => {
    const session = http2.connect(`http://${(t as TestApp).grpcAddress}`);
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      expect(settings.maxConcurrentStreams).to.equal(CONNECTION_LIMITS['grpc.max_concurrent_streams']);
    } finally {
      session.destroy();
    }
  });
});
