/**
 * ExportExchangesToShip and GET /points/admin/exchanges.csv on 100,000 exchanges of physical
 * goods (plus 10,000 of virtual goods interleaved), written straight into points_exchanges:
 * every exchange of goods once, in id order, with its shipping data; the heap does not grow
 * with the rows; a cancelled export stops reading; admins only.
 */
import { expect } from 'chai';
import { GrpcStatus, points as pb } from '@huodong/clients';
import { describeEachStore } from '../../support/app.js';
import { expectError } from '../../support/errors.js';
import { bulkInsert, countQueries, heldHeap, mb, parseCsv, sleep, streamHeapProfile } from '../../support/export.js';

/** Exchange ids 1..TOTAL; every 11th is of virtual goods (not shipped, not exported). */
const TOTAL = 110_000;
const isVirtual = (id: number): boolean => id % 11 === 0;
const GOODS = TOTAL - Math.floor(TOTAL / 11);
const PAGE = 500;
const AT = Date.UTC(2026, 0, 1);

const SPECIAL: Record<number, { address?: string; user_name?: string; tel?: string; title?: string }> = {
  1: { user_name: '李四', address: '北京市海淀区, 中关村 "1" 号' },
  2: { address: '=1+2', tel: '+86 139 0000 0002' },
  3: { user_name: '-x', title: '@mug\nwith a newline' },
};

function exchangeOf(id: number): Record<string, string | number> {
  const virtual = isVirtual(id);
  return {
    id,
    open_id: `u${id}`,
    prize_id: virtual ? 'card' : 'mug',
    request_id: `r${id}`,
    request_hash: 'h',
    record_id: id,
    period_key: 'once',
    title: virtual ? 'gift card' : 'mug',
    icon: '',
    face_value: 60,
    type: virtual ? 'virtualGoods' : 'goods',
    address: virtual ? '' : `street ${id}`,
    user_name: virtual ? '' : `user ${id}`,
    tel: virtual ? '' : `139${String(id).padStart(8, '0')}`,
    created_at: AT + id * 1000,
    ...SPECIAL[id],
  };
}

async function drain(stream: AsyncIterable<pb.ExportExchangesToShipResponse>): Promise<number> {
  let n = 0;
  for await (const page of stream) n += page.exchanges.length;
  return n;
}

const isExportQuery = (sql: string): boolean => sql.includes('points_exchanges') && /order by/i.test(sql) && /"?`?type`?"?\s*=/.test(sql);

describeEachStore('points export of exchanges to ship, 100k rows @stress', (ctx) => {
  let admin = '';

  before(async function () {
    this.timeout(600_000);
    const t = ctx();
    admin = (await t.clientsWithScopes(['points.admin'])).token;
    await bulkInsert(t.app.db.knex, 'points_exchanges', TOTAL, (i) => exchangeOf(i + 1));
  });

  it('streams every exchange of goods once, in id order, with its shipping data; the heap stays flat', async function () {
    this.timeout(300_000);
    const t = ctx();
    let count = 0;
    let last = 0;
    let bytes = 0;
    let misordered = 0;
    let virtual = 0;
    let oversized = 0;
    const kept = new Map<number, pb.Exchange>();
    const { pages, peak, early } = await streamHeapProfile(t.clients.points.exportExchangesToShip({}), (page) => {
      bytes += pb.ExportExchangesToShipResponse.encode(page).finish().length;
      if (page.exchanges.length > PAGE) oversized += 1;
      for (const e of page.exchanges) {
        const id = Number(e.exchangeId);
        if (id <= last) misordered += 1;
        if (e.type !== pb.PrizeType.PRIZE_TYPE_GOODS || isVirtual(id)) virtual += 1;
        last = id;
        count += 1;
        if (id <= 3 || id === TOTAL - 1) kept.set(id, e);
      }
    });
    const held = await heldHeap(t.clients.points.exportExchangesToShip({}));
    console.log(
      `      ${count} exchanges in ${pages} messages, ${mb(bytes)} MB encoded, ${mb(held)} MB of heap when held at once; ` +
        `streamed, the heap grew at most ${mb(peak)} MB (${mb(early)} MB within the first 20,000)`,
    );
    expect({ count, misordered, virtual, oversized, pages }).to.deep.equal({ count: GOODS, misordered: 0, virtual: 0, oversized: 0, pages: GOODS / PAGE });
    expect(last).to.equal(TOTAL - 1);
    // Pages in flight only (see the lottery export test): a small fraction of holding it all.
    expect(peak, `heap grew ${mb(peak)} MB; holding the export takes ${mb(held)} MB`).to.be.below(held / 10);
    expect(peak - early, 'heap growth after the first 20,000 exchanges').to.be.below(2 * 1024 * 1024);

    expect(kept.get(1)).to.deep.include({ exchangeId: '1', openId: 'u1', prizeId: 'mug', title: 'mug', faceValue: '60', periodKey: 'once' });
    expect(kept.get(1)?.shipping).to.deep.equal({ address: '北京市海淀区, 中关村 "1" 号', userName: '李四', tel: '13900000001' });
    expect(kept.get(1)?.createTime?.getTime()).to.equal(AT + 1000);
    expect(kept.get(3)?.title).to.equal('@mug\nwith a newline');
    expect(kept.get(TOTAL - 1)?.shipping?.userName).to.equal(`user ${TOTAL - 1}`);
  });

  it('after_exchange_id: only the exchanges after it; a bad one is INVALID_ARGUMENT', async function () {
    this.timeout(120_000);
    const t = ctx();
    const after = TOTAL - 1_000;
    let expected = 0;
    for (let id = after + 1; id <= TOTAL; id++) if (!isVirtual(id)) expected += 1;
    expect(await drain(t.clients.points.exportExchangesToShip({ afterExchangeId: String(after) }))).to.equal(expected);
    expect(await drain(t.clients.points.exportExchangesToShip({ afterExchangeId: String(TOTAL) }))).to.equal(0);
    const bad = await expectError(drain(t.clients.points.exportExchangesToShip({ afterExchangeId: '-1' })), GrpcStatus.INVALID_ARGUMENT);
    expect(bad.field).to.equal('after_exchange_id');
  });

  it('a cancelled export stops reading; a slow reader holds the reads back', async function () {
    this.timeout(120_000);
    const t = ctx();
    const queries = countQueries(t.app.db.knex, isExportQuery);
    try {
      const pages = t.clients.points.exportExchangesToShip({})[Symbol.asyncIterator]();
      await pages.next();
      await sleep(1_500);
      const whilePaused = queries.count();
      console.log(`      ${whilePaused} pages read while the reader paused after one`);
      expect(whilePaused).to.be.below(GOODS / PAGE / 4);
      await pages.return?.();
      await sleep(300);
      const afterCancel = queries.count();
      await sleep(700);
      expect(queries.count()).to.equal(afterCancel);
      expect(afterCancel).to.be.below(GOODS / PAGE / 4);
    } finally {
      queries.stop();
    }
  });

  it('is for points.admin only', async function () {
    const t = ctx();
    const { clients: user } = await t.clientsWithScopes(['points']);
    await expectError(drain(user.points.exportExchangesToShip({})), GrpcStatus.PERMISSION_DENIED, 'SCOPE_MISSING');
  });

  describe('GET /points/admin/exchanges.csv', () => {
    it('streams the CSV: header, every exchange of goods, quoting and the formula guard', async function () {
      this.timeout(300_000);
      const t = ctx();
      const res = await fetch(`${t.bridgeUrl}/points/admin/exchanges.csv`, { headers: { authorization: `Bearer ${admin}` } });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('text/csv; charset=utf-8');
      const body = new Uint8Array(await res.arrayBuffer());
      expect([...body.subarray(0, 3)]).to.deep.equal([0xef, 0xbb, 0xbf]);
      const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(body).slice(1);
      expect(text.startsWith('exchange_id,open_id,prize_id,title,face_value,user_name,tel,address,period_key,create_time\r\n')).to.equal(true);
      expect(text).to.include('\r\n1,u1,mug,mug,60,李四,13900000001,"北京市海淀区, 中关村 ""1"" 号",once,2026-01-01 08:00:01\r\n');
      expect(text).to.include(`\r\n2,u2,mug,mug,60,user 2,'+86 139 0000 0002,'=1+2,once,`);
      expect(text).to.include(`\r\n3,u3,mug,"'@mug\nwith a newline",60,'-x,`);
      const records = parseCsv(text);
      expect(records.length).to.equal(GOODS + 1);
      expect(records[records.length - 1]?.[0]).to.equal(String(TOTAL - 1));
      let wrong = 0;
      for (let i = 2; i < records.length; i++) {
        const id = Number(records[i]?.[0]);
        if (id <= Number(records[i - 1]?.[0]) || isVirtual(id) || records[i]?.length !== 10) wrong += 1;
      }
      expect(wrong).to.equal(0);
    });

    it('after= and bom=0; refuses a token without points.admin (403) and none (401)', async function () {
      const t = ctx();
      const tail = await fetch(`${t.bridgeUrl}/points/admin/exchanges.csv?after=${TOTAL - 5}&bom=0`, { headers: { authorization: `Bearer ${admin}` } });
      const ids = [TOTAL - 4, TOTAL - 3, TOTAL - 2, TOTAL - 1, TOTAL].filter((id) => !isVirtual(id));
      expect(parseCsv(await tail.text()).map((r) => r[0])).to.deep.equal(['exchange_id', ...ids.map(String)]);
      const { token } = await t.clientsWithScopes(['points']);
      const denied = await fetch(`${t.bridgeUrl}/points/admin/exchanges.csv`, { headers: { authorization: `Bearer ${token}` } });
      expect(denied.status).to.equal(403);
      expect(await denied.json()).to.deep.include({ result: null, code: GrpcStatus.PERMISSION_DENIED, reason: 'SCOPE_MISSING' });
      expect((await fetch(`${t.bridgeUrl}/points/admin/exchanges.csv`)).status).to.equal(401);
    });
  });
});
