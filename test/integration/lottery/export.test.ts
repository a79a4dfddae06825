/**
 * ExportWinners and GET /lottery/admin/winners.csv on 100,000 winners (plus 1,000 of another
 * activity interleaved), written straight into the legacy tables: every winner once, in id
 * order, with the person's contact details; the heap does not grow with the rows; a slow
 * reader holds the database reads back; a cancelled export stops reading; admins only.
 */
import { expect } from 'chai';
import { GrpcStatus, lottery as pb } from '@huodong/clients';
import { describeEachStore } from '../../support/app.js';
import { expectError } from '../../support/errors.js';
import { bulkInsert, countQueries, heldHeap, mb, parseCsv, sleep, streamHeapProfile } from '../../support/export.js';
import { activity } from './support.js';

/** Winner (and person) ids 1..TOTAL; every 101st belongs to the other activity. */
const TOTAL = 101_000;
const isOther = (id: number): boolean => id % 101 === 0;
const WINNERS = TOTAL - Math.floor(TOTAL / 101);
/** Every third prize is a red packet (legacy type 1, claimed when won); the rest are physical. */
const isPhysical = (id: number): boolean => id % 3 !== 0;
const PAGE = 500;
const WON_AT = 1_767_225_600; // 2026-01-01T00:00:00Z
/** A winner whose pid is 0 (a legacy row without its person): exported without contact details. */
const NO_PERSON = 7;

interface Person {
  nickname: string;
  name: string;
  tel: string;
  address: string;
  other_info: string;
}

const SPECIAL: Record<number, Partial<Person>> = {
  1: { name: '张三', address: '北京市朝阳区建国路 1 号' },
  2: { name: 'Li, "Big"\nSi', address: 'line 1\r\nline 2' },
  3: { nickname: '=HYPERLINK("http://evil.example","x")' },
  4: { tel: '+8613800000000' },
  5: { address: '@SUM(A1)', other_info: '-1+1' },
};

function personOf(id: number): Person {
  return {
    nickname: `nick${id}`,
    name: `name${id}`,
    tel: `139${String(id).padStart(8, '0')}`,
    address: `street ${id}`,
    other_info: id % 2 === 0 ? `gift wrap ${id}` : '',
    ...SPECIAL[id],
  };
}

async function drain(stream: AsyncIterable<pb.ExportWinnersResponse>): Promise<number> {
  let n = 0;
  for await (const page of stream) n += page.winners.length;
  return n;
}

const isExportQuery = (sql: string): boolean => sql.includes('ims_scratch_person_prize') && /left join/i.test(sql);

describeEachStore('lottery export, 100k winners @stress', (ctx) => {
  let aid = 0;
  let otherAid = 0;
  let admin = '';

  before(async function () {
    this.timeout(600_000);
    const t = ctx();
    aid = (await t.clients.lottery.saveActivity({ activity: activity() })).activity?.activityId ?? 0;
    otherAid = (await t.clients.lottery.saveActivity({ activity: activity({ title: 'other' }) })).activity?.activityId ?? 0;
    admin = (await t.clientsWithScopes(['lottery.admin'])).token;
    const knex = t.app.db.knex;
    await bulkInsert(knex, 'ims_scratch_person', TOTAL, (i) => {
      const id = i + 1;
      return { id, aid: isOther(id) ? otherAid : aid, uniacid: 0, openid: `o${id}`, headimgurl: '', info_time: id % 2 === 1 ? WON_AT : 0, create_time: WON_AT, update_time: WON_AT, ...personOf(id) };
    });
    await bulkInsert(knex, 'ims_scratch_person_prize', TOTAL, (i) => {
      const id = i + 1;
      const physical = isPhysical(id);
      return {
        id,
        aid: isOther(id) ? otherAid : aid,
        pid: id === NO_PERSON ? 0 : id,
        openid: `o${id}`,
        prize_id: physical ? 0 : 1,
        prize_name: physical ? '自行车' : '红包',
        prize_type: physical ? 2 : 1,
        money: physical ? '0.00' : '1.50',
        secret: `s${id}`,
        status: physical ? 2 : 1,
        session: 0,
        create_time: WON_AT + id,
        claim_time: physical ? 0 : WON_AT + id,
      };
    });
  });

  it('streams every winner once, in id order, in pages of at most 500, with contact details; the heap stays flat', async function () {
    this.timeout(300_000);
    const t = ctx();
    let count = 0;
    let last = 0;
    let bytes = 0;
    let misordered = 0;
    let foreign = 0;
    let oversized = 0;
    const kept = new Map<number, pb.ExportedWinner>();
    const { pages, peak, early } = await streamHeapProfile(t.clients.lottery.exportWinners({ activityId: aid }), (page) => {
      bytes += pb.ExportWinnersResponse.encode(page).finish().length;
      if (page.winners.length > PAGE) oversized += 1;
      for (const w of page.winners) {
        if (w.winnerId <= last) misordered += 1;
        if (isOther(w.winnerId)) foreign += 1;
        last = w.winnerId;
        count += 1;
        if (w.winnerId <= NO_PERSON || w.winnerId === TOTAL - 1) kept.set(w.winnerId, w);
      }
    });
    const held = await heldHeap(t.clients.lottery.exportWinners({ activityId: aid }));
    console.log(
      `      ${count} winners in ${pages} messages, ${mb(bytes)} MB encoded, ${mb(held)} MB of heap when held at once; ` +
        `streamed, the heap grew at most ${mb(peak)} MB (${mb(early)} MB within the first 20,000)`,
    );
    expect({ count, misordered, foreign, oversized, pages }).to.deep.equal({ count: WINNERS, misordered: 0, foreign: 0, oversized: 0, pages: WINNERS / PAGE });
    expect(last).to.equal(TOTAL - 1);
    // The heap holds the pages in flight (the server's two, the client stream's read-ahead of
    // 16 messages, in this one process), not the export: a small fraction of holding it all,
    // and no more after the first pages than within them.
    expect(peak, `heap grew ${mb(peak)} MB; holding the export takes ${mb(held)} MB`).to.be.below(held / 10);
    expect(peak - early, 'heap growth after the first 20,000 winners').to.be.below(2 * 1024 * 1024);

    expect(kept.get(1)).to.deep.include({ openid: 'o1', nickname: 'nick1', name: '张三', tel: '13900000001', address: '北京市朝阳区建国路 1 号', otherInfo: '' });
    expect(kept.get(1)).to.deep.include({ prizeId: 0, prizeName: '自行车', prizeType: pb.PrizeType.PRIZE_TYPE_PHYSICAL, legacyType: 2, money: '0.00', claimed: false });
    expect(kept.get(1)?.winTime?.getTime()).to.equal((WON_AT + 1) * 1000);
    expect(kept.get(1)?.claimTime).to.equal(undefined);
    expect(kept.get(1)?.infoTime?.getTime()).to.equal(WON_AT * 1000);
    expect(kept.get(2)).to.deep.include({ name: 'Li, "Big"\nSi', otherInfo: 'gift wrap 2' });
    expect(kept.get(2)?.infoTime).to.equal(undefined);
    expect(kept.get(3)).to.deep.include({ prizeType: pb.PrizeType.PRIZE_TYPE_RED, legacyType: 1, money: '1.50', claimed: true });
    expect(kept.get(3)?.claimTime?.getTime()).to.equal((WON_AT + 3) * 1000);
    expect(kept.get(NO_PERSON)).to.deep.include({ openid: `o${NO_PERSON}`, nickname: '', name: '', tel: '', address: '' });
    expect(kept.get(TOTAL - 1)).to.deep.include({ openid: `o${TOTAL - 1}`, name: `name${TOTAL - 1}` });
  });

  it('physical_only and after_winner_id: the physical prizes after a winner', async function () {
    this.timeout(120_000);
    const t = ctx();
    const ids = [...Array(TOTAL - 50_000).keys()].map((k) => 50_001 + k).filter((id) => !isOther(id) && isPhysical(id));
    let count = 0;
    let first = 0;
    let wrong = 0;
    for await (const page of t.clients.lottery.exportWinners({ activityId: aid, physicalOnly: true, afterWinnerId: 50_000 })) {
      for (const w of page.winners) {
        if (first === 0) first = w.winnerId;
        if (w.prizeType !== pb.PrizeType.PRIZE_TYPE_PHYSICAL || w.winnerId <= 50_000) wrong += 1;
        count += 1;
      }
    }
    expect({ count, wrong, first }).to.deep.equal({ count: ids.length, wrong: 0, first: ids[0] });
    expect(await drain(t.clients.lottery.exportWinners({ activityId: otherAid }))).to.equal(TOTAL - WINNERS);
  });

  it('a slow reader holds the database reads back', async function () {
    this.timeout(120_000);
    const t = ctx();
    const queries = countQueries(t.app.db.knex, isExportQuery);
    try {
      const pages = t.clients.lottery.exportWinners({ activityId: aid })[Symbol.asyncIterator]();
      await pages.next();
      await sleep(1_500);
      const whilePaused = queries.count();
      console.log(`      ${whilePaused} pages read while the reader paused after one`);
      // Read ahead: the buffers of the client stream, HTTP/2 and the server stream, no more.
      expect(whilePaused, `${whilePaused} of ${WINNERS / PAGE} pages read while the reader paused`).to.be.below(WINNERS / PAGE / 4);
      await pages.return?.();
    } finally {
      queries.stop();
    }
  });

  it('a cancelled export stops reading: leaving the loop, or aborting its signal', async function () {
    this.timeout(120_000);
    const t = ctx();
    const queries = countQueries(t.app.db.knex, isExportQuery);
    try {
      let seen = 0;
      for await (const page of t.clients.lottery.exportWinners({ activityId: aid })) {
        seen += page.winners.length;
        if (seen >= 2 * PAGE) break;
      }
      await sleep(300);
      const afterBreak = queries.count();
      await sleep(700);
      expect(queries.count()).to.equal(afterBreak);
      expect(afterBreak).to.be.below(WINNERS / PAGE / 4);

      const abort = new AbortController();
      const aborted = (async () => {
        for await (const _page of t.clients.lottery.exportWinners({ activityId: aid }, { signal: abort.signal })) abort.abort(new Error('enough'));
      })();
      await expectError(aborted, GrpcStatus.CANCELLED);
      await sleep(300);
      const afterAbort = queries.count();
      await sleep(700);
      expect(queries.count()).to.equal(afterAbort);
      expect(afterAbort - afterBreak).to.be.below(WINNERS / PAGE / 4);
    } finally {
      queries.stop();
    }
  });

  it('a deadline ends a slow export with DEADLINE_EXCEEDED, and the reads stop', async function () {
    this.timeout(60_000);
    const t = ctx();
    const queries = countQueries(t.app.db.knex, isExportQuery);
    try {
      const slow = (async () => {
        for await (const _page of t.clients.lottery.exportWinners({ activityId: aid }, { deadlineMs: 600 })) await sleep(100);
      })();
      await expectError(slow, GrpcStatus.DEADLINE_EXCEEDED);
      await sleep(300);
      const afterDeadline = queries.count();
      await sleep(700);
      expect(queries.count()).to.equal(afterDeadline);
      expect(afterDeadline).to.be.below(WINNERS / PAGE / 4);
    } finally {
      queries.stop();
    }
  });

  it('is for lottery.admin only; an unknown activity is NOT_FOUND', async function () {
    const t = ctx();
    const { clients: user } = await t.clientsWithScopes(['lottery']);
    await expectError(drain(user.lottery.exportWinners({ activityId: aid })), GrpcStatus.PERMISSION_DENIED, 'SCOPE_MISSING');
    await expectError(drain(t.clients.lottery.exportWinners({ activityId: 0 })), GrpcStatus.INVALID_ARGUMENT, 'INVALID_ARGUMENT');
    await expectError(drain(t.clients.lottery.exportWinners({ activityId: 999_999 })), GrpcStatus.NOT_FOUND, 'ACTIVITY_NOT_FOUND');
  });

  describe('GET /lottery/admin/winners.csv', () => {
    it('streams the CSV: header, every winner, quoting and the formula guard', async function () {
      this.timeout(300_000);
      const t = ctx();
      const res = await fetch(`${t.bridgeUrl}/lottery/admin/winners.csv?activity=${aid}`, { headers: { authorization: `Bearer ${admin}` } });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('text/csv; charset=utf-8');
      expect(res.headers.get('content-disposition')).to.equal(`attachment; filename="winners-${aid}.csv"`);
      const body = new Uint8Array(await res.arrayBuffer());
      expect([...body.subarray(0, 3)]).to.deep.equal([0xef, 0xbb, 0xbf]);
      const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(body);
      expect(text.startsWith('\uFEFFwinner_id,openid,nickname,name,tel,address,other_info,prize_id,prize_name,prize_type,money,claimed,session,win_time,claim_time,info_time\r\n')).to.equal(true);
      // Quotes doubled, the cell quoted, the newline kept inside it.
      expect(text).to.include('\r\n2,o2,nick2,"Li, ""Big""\nSi",13900000002,"line 1\r\nline 2",gift wrap 2,');
      const records = parseCsv(text.slice(1));
      expect(records.length).to.equal(WINNERS + 1);
      const header = records[0] ?? [];
      const byId = new Map(records.slice(1, 8).map((r) => [Number(r[0]), Object.fromEntries(header.map((h, i) => [h, r[i]]))]));
      expect(byId.get(1)).to.deep.include({ name: '张三', prize_type: 'physical', money: '0.00', claimed: '0', claim_time: '', win_time: '2026-01-01 08:00:01', info_time: '2026-01-01 08:00:00' });
      expect(byId.get(2)).to.deep.include({ name: 'Li, "Big"\nSi', address: 'line 1\r\nline 2' });
      expect(byId.get(3)).to.deep.include({ nickname: `'=HYPERLINK("http://evil.example","x")`, prize_type: 'red', money: '1.50', claimed: '1' });
      expect(byId.get(4)).to.deep.include({ tel: "'+8613800000000" });
      expect(byId.get(5)).to.deep.include({ address: "'@SUM(A1)", other_info: "'-1+1" });
      expect(byId.get(NO_PERSON)).to.deep.include({ openid: `o${NO_PERSON}`, name: '', tel: '' });
      expect(records[records.length - 1]?.[0]).to.equal(String(TOTAL - 1));
      let misordered = 0;
      for (let i = 2; i < records.length; i++) if (Number(records[i]?.[0]) <= Number(records[i - 1]?.[0])) misordered += 1;
      expect(misordered).to.equal(0);
    });

    it('bom=0, physical=1 and after; a client that goes away stops the reads', async function () {
      this.timeout(120_000);
      const t = ctx();
      const small = await fetch(`${t.bridgeUrl}/lottery/admin/winners.csv?activity=${aid}&physical=1&after=${TOTAL - 10}&bom=0`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      const ids = [...Array(10).keys()].map((k) => TOTAL - 9 + k).filter((id) => !isOther(id) && isPhysical(id));
      expect(parseCsv(await small.text()).map((r) => r[0])).to.deep.equal(['winner_id', ...ids.map(String)]);

      const queries = countQueries(t.app.db.knex, isExportQuery);
      try {
        const abort = new AbortController();
        const res = await fetch(`${t.bridgeUrl}/lottery/admin/winners.csv?activity=${aid}`, { headers: { authorization: `Bearer ${admin}` }, signal: abort.signal });
        const reader = res.body?.getReader();
        await reader?.read();
        abort.abort();
        await sleep(500);
        const afterAbort = queries.count();
        await sleep(700);
        expect(queries.count()).to.equal(afterAbort);
        expect(afterAbort).to.be.below(WINNERS / PAGE / 4);
      } finally {
        queries.stop();
      }
    });

    it('refuses a token without lottery.admin (403), none (401), a bad activity (400)', async function () {
      const t = ctx();
      const { token } = await t.clientsWithScopes(['lottery']);
      const url = `${t.bridgeUrl}/lottery/admin/winners.csv?activity=${aid}`;
      const denied = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(denied.status).to.equal(403);
      expect(await denied.json()).to.deep.include({ status: 403, reason: 'SCOPE_MISSING', data: null });
      expect((await fetch(url)).status).to.equal(401);
      const bad = await fetch(`${t.bridgeUrl}/lottery/admin/winners.csv?activity=x`, { headers: { authorization: `Bearer ${admin}` } });
      expect(bad.status).to.equal(400);
    });
  });
});

