/**
 * A shop's existing database: legacy tables and rows exactly as the legacy PHP admin wrote them
 * exist before huodong first starts on it.
 */
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { GrpcStatus, lottery as pb } from '@huodong/clients';
import { freshMysqlDatabase, startTestApp, type TestApp } from '../../support/app.js';
import { FakeClock } from '../../support/clock.js';
import { expectError } from '../../support/errors.js';
import { START } from './support.js';

const LEGACY_DDL = [
  `CREATE TABLE \`ims_scratch_activity\` (
    \`id\` int(11) NOT NULL AUTO_INCREMENT,
    \`status\` tinyint(1) NOT NULL DEFAULT 1,
    \`active_title\` varchar(255) NOT NULL DEFAULT '',
    \`active_time\` varchar(2550) NOT NULL DEFAULT '',
    \`max_play\` int(11) NOT NULL DEFAULT 0,
    \`max_eplay\` int(11) NOT NULL DEFAULT 0,
    \`max_share\` int(11) NOT NULL DEFAULT 0,
    \`max_prize\` int(11) NOT NULL DEFAULT 1,
    \`active_type\` tinyint(11) NOT NULL DEFAULT 1,
    \`virtual\` int(11) NOT NULL DEFAULT 0,
    \`template\` int(11) NOT NULL DEFAULT 10,
    \`header_img\` varchar(255) NOT NULL DEFAULT '',
    \`rule_link\` varchar(255) NOT NULL DEFAULT '',
    \`rule\` text,
    \`need_address\` tinyint(1) NOT NULL DEFAULT 0,
    \`tips\` varchar(2550) NOT NULL DEFAULT '',
    \`prize\` text,
    \`isshare\` tinyint(1) NOT NULL DEFAULT 0,
    \`share_title\` varchar(255) NOT NULL DEFAULT '',
    \`share_desc\` varchar(255) NOT NULL DEFAULT '',
    \`share_link\` varchar(255) NOT NULL DEFAULT '',
    \`share_img\` varchar(255) NOT NULL DEFAULT '',
    \`config\` varchar(255) NOT NULL DEFAULT '',
    \`rid\` int(11) NOT NULL DEFAULT 0,
    \`uniacid\` int(11) NOT NULL DEFAULT 0,
    \`create_time\` int(11) NOT NULL DEFAULT 0,
    \`update_time\` int(11) NOT NULL DEFAULT 0,
    PRIMARY KEY (\`id\`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
  `CREATE TABLE \`ims_scratch_person\` (
    \`id\` int(11) NOT NULL AUTO_INCREMENT,
    \`aid\` int(11) NOT NULL DEFAULT 0,
    \`uniacid\` int(11) NOT NULL DEFAULT 0,
    \`openid\` varchar(128) NOT NULL DEFAULT '',
    \`nickname\` varchar(64) NOT NULL DEFAULT '',
    \`headimgurl\` varchar(255) NOT NULL DEFAULT '',
    \`name\` varchar(64) NOT NULL DEFAULT '',
    \`tel\` varchar(32) NOT NULL DEFAULT '',
    \`address\` varchar(255) NOT NULL DEFAULT '',
    \`other_info\` text,
    \`info_time\` int(11) NOT NULL DEFAULT 0,
    \`create_time\` int(11) NOT NULL DEFAULT 0,
    \`update_time\` int(11) NOT NULL DEFAULT 0,
    PRIMARY KEY (\`id\`),
    UNIQUE KEY \`aid_openid\` (\`aid\`, \`openid\`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
  // Winners the legacy game recorded (no unique key on secret: the legacy table had none).
  `CREATE TABLE \`ims_scratch_person_prize\` (
    \`id\` int(11) NOT NULL AUTO_INCREMENT,
    \`aid\` int(11) NOT NULL DEFAULT 0,
    \`pid\` int(11) NOT NULL DEFAULT 0,
    \`openid\` varchar(128) NOT NULL DEFAULT '',
    \`prize_id\` int(11) NOT NULL DEFAULT 0,
    \`prize_name\` varchar(255) NOT NULL DEFAULT '',
    \`prize_type\` tinyint(1) NOT NULL DEFAULT 2,
    \`money\` varchar(16) NOT NULL DEFAULT '0.00',
    \`secret\` varchar(32) NOT NULL DEFAULT '',
    \`status\` tinyint(1) NOT NULL DEFAULT 2,
    \`session\` int(11) NOT NULL DEFAULT 0,
    \`create_time\` int(11) NOT NULL DEFAULT 0,
    \`claim_time\` int(11) NOT NULL DEFAULT 0,
    PRIMARY KEY (\`id\`),
    KEY \`aid\` (\`aid\`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
  `CREATE TABLE \`ims_serath_white_list\` (
    \`id\` int(11) NOT NULL AUTO_INCREMENT,
    \`aid\` int(11) NOT NULL DEFAULT 0,
    \`openid\` varchar(128) NOT NULL DEFAULT '',
    \`create_time\` int(11) NOT NULL DEFAULT 0,
    PRIMARY KEY (\`id\`)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
];

const LEGACY_TABLES = ['ims_scratch_activity', 'ims_scratch_person', 'ims_scratch_person_prize', 'ims_serath_white_list'];

// Seed 003's own example, as typed into the legacy admin: trailing commas, a missing comma,
// numbers as strings, \\u escapes and escaped slashes.
const SEED_STYLE_PRIZE = String.raw`[
  {
    "type":"physical",
    "sum":"5",
    "chance":"100",
    "name":"\u6298\u53e0\u5f0f\u81ea\u884c\u8f66\u4e00\u8f86\uff08\u4ef7\u503c399\u5143\uff0c\u989c\u8272\u968f\u673a\uff09",
    "img":"http:\/\/kfw-wechat.oss-cn-hangzhou.aliyuncs.com\/wechat\/images\/118\/2016\/02\/vMD1NL1ZddaTDz11OpSDQMOBnbi1lt.jpg"
    "info" :"其它说明"
    },
]`;
const SESSIONS = '[{"start":"2026-03-01 00:00","end":"2026-03-01 23:59"},]';

function legacyActivity(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    status: 1,
    active_title: '\u8001\u6d3b\u52a8',
    active_time: SESSIONS,
    max_play: 0,
    max_eplay: 3,
    max_share: 0,
    max_prize: 1,
    active_type: 1,
    virtual: 50,
    template: 10,
    header_img: '',
    rule_link: '',
    rule: '规则',
    need_address: 0,
    tips: String.raw`{"no_award":"\u6ca1\u4e2d"}`,
    prize: SEED_STYLE_PRIZE,
    create_time: 1_500_000_000,
    update_time: 1_500_000_000,
    ...overrides,
  };
}

async function columnsOf(conn: mysql.Connection, table: string): Promise<string> {
  const [rows] = await conn.query(`SHOW CREATE TABLE \`${table}\``);
  return String((rows as Array<Record<string, string>>)[0]?.['Create Table']);
}

describe('LotteryService on a legacy MariaDB database', function () {
  let db: Awaited<ReturnType<typeof freshMysqlDatabase>>;
  let conn: mysql.Connection;
  let t: TestApp | undefined;
  const ids: Record<string, number> = {};
  const ddlBefore: Record<string, string> = {};

  before(async function () {
    db = await freshMysqlDatabase();
    conn = await mysql.createConnection({ uri: db.url, charset: 'utf8mb4' });
    for (const ddl of LEGACY_DDL) await conn.query(ddl);
    const insert = async (name: string, row: Record<string, unknown>): Promise<void> => {
      const [res] = await conn.query('INSERT INTO ims_scratch_activity SET ?', [row]);
      ids[name] = (res as { insertId: number }).insertId;
    };
    await insert('good', legacyActivity({}));
    await insert('brokenPrize', legacyActivity({ prize: '[{"type":"physical","name":"A","sum":"1",' }));
    await insert('brokenTime', legacyActivity({ active_time: '[{"start":"2026-03-01 00:00","end":}' }));
    await insert('badChance', legacyActivity({ prize: '[{"type":"physical","name":"A","sum":"1","chance":"ten"}]' }));
    await conn.query('INSERT INTO ims_scratch_person SET ?', [{ aid: ids.good, openid: 'legacy-user', nickname: '老用户', other_info: '', create_time: 1_500_000_000 }]);
    // Two activities whose prizes the legacy game already handed out in part: 2 of 3 bikes,
    // and 9.00 of a 10.00 random red packet.
    await insert('stockedCount', legacyActivity({ prize: '[{"type":"physical","name":"bike","sum":"3","chance":"100"}]' }));
    await insert('stockedMoney', legacyActivity({ prize: '[{"type":"red","name":"hongbao","sum":"0","chance":"100","money":"10.00","min":"1.00","max":"5.00"}]' }));
    const legacyWin = (aid: number | undefined, openid: string, money: string): Record<string, unknown> => ({
      aid, pid: 0, openid, prize_id: 0, prize_name: 'x', prize_type: money === '0.00' ? 2 : 1, money, secret: `legacy-${openid}`, status: 2, session: 0, create_time: 1_500_000_000,
    });
    for (const row of [
      legacyWin(ids.stockedCount, 'old-1', '0.00'),
      legacyWin(ids.stockedCount, 'old-2', '0.00'),
      legacyWin(ids.stockedMoney, 'old-1', '4.50'),
      legacyWin(ids.stockedMoney, 'old-2', '4.50'),
    ]) {
      await conn.query('INSERT INTO ims_scratch_person_prize SET ?', [row]);
    }
    for (const table of LEGACY_TABLES) ddlBefore[table] = await columnsOf(conn, table);
    t = await startTestApp('mysql+redlock', { mysqlUrl: db.url, clock: new FakeClock(START) });
  });

  after(async function () {
    await t?.stop();
    await conn?.end();
    await db?.drop();
  });

  const app = (): TestApp => {
    if (t === undefined) throw new Error('not started');
    return t;
  };

  it('starts and migrates without touching the legacy tables', async () => {
    for (const table of LEGACY_TABLES) expect(await columnsOf(conn, table)).to.equal(ddlBefore[table]);
    const [tables] = await conn.query('SHOW TABLES');
    const names = (tables as Array<Record<string, string>>).map((r) => Object.values(r)[0]);
    expect(names).to.include.members(['lottery_prize_stock', 'lottery_draw_log']);
  });

  it('reads a legacy row: strings for numbers, \\u escapes, missing tips, seed-style trailing commas', async () => {
    const res = await app().clients.lottery.getActivity({ activityId: ids.good });
    const a = res.activity as pb.Activity;
    expect(a.title).to.equal('老活动');
    expect(a.prizes).to.have.lengthOf(1);
    expect(a.prizes[0]).to.include({ name: '折叠式自行车一辆（价值399元，颜色随机）', sum: 5, chance: '100', info: '其它说明' });
    expect(a.prizes[0]?.img).to.equal('http://kfw-wechat.oss-cn-hangzhou.aliyuncs.com/wechat/images/118/2016/02/vMD1NL1ZddaTDz11OpSDQMOBnbi1lt.jpg');
    expect(a.tips).to.deep.include({ noAward: '没中', haveAward: '今天已经获奖过咯~不要贪心哦！', default: '谢谢！' });
    expect(res.state).to.include({ legacyStatus: 0, participants: 1, displayedParticipants: 51 });
    expect(a.code).to.have.length.greaterThan(10);
  });

  it('draws from the legacy row and writes a prize row the legacy admin can read', async () => {
    const { lottery } = app().clients;
    const code = (await lottery.getActivity({ activityId: ids.good })).activity?.code ?? '';
    const e = await lottery.enterActivity({ code, openid: 'legacy-user', nickname: '', avatar: '' });
    const d = await lottery.draw({ token: e.token, requestId: 'legacy-1' });
    expect(d.outcome).to.equal(pb.Outcome.OUTCOME_WIN);
    const [rows] = await conn.query('SELECT p.nickname, w.prize_name, w.status, w.money FROM ims_scratch_person_prize w JOIN ims_scratch_person p ON p.id = w.pid WHERE w.aid = ?', [ids.good]);
    expect(rows).to.deep.equal([{ nickname: '老用户', prize_name: '折叠式自行车一辆（价值399元，颜色随机）', status: 2, money: '0.00' }]);
    const [people] = await conn.query('SELECT COUNT(*) AS n FROM ims_scratch_person WHERE aid = ?', [ids.good]);
    expect(Number((people as Array<{ n: number }>)[0]?.n)).to.equal(1);
    expect((await lottery.draw({ token: d.token, requestId: 'legacy-2' })).outcome).to.equal(pb.Outcome.OUTCOME_HAVE_AWARD);
  });

  it("counts the legacy game's winners against a prize's sum and a red packet's money", async () => {
    const { lottery } = app().clients;
    const drawAll = async (aid: number | undefined, n: number): Promise<pb.DrawResponse[]> => {
      const code = (await lottery.getActivity({ activityId: aid })).activity?.code ?? '';
      const out: pb.DrawResponse[] = [];
      for (let i = 0; i < n; i += 1) {
        const e = await lottery.enterActivity({ code, openid: `new-${aid}-${i}`, nickname: '', avatar: '' });
        out.push(await lottery.draw({ token: e.token, requestId: `stock-${i}` }));
      }
      return out;
    };
    const bikes = await drawAll(ids.stockedCount, 4);
    expect(bikes.map((d) => d.outcome)).to.deep.equal([pb.Outcome.OUTCOME_WIN, ...Array<pb.Outcome>(3).fill(pb.Outcome.OUTCOME_STOCK_GONE)]);

    const packets = await drawAll(ids.stockedMoney, 4);
    const paid = packets.filter((d) => d.outcome === pb.Outcome.OUTCOME_WIN).map((d) => d.prize?.money);
    // 1.00 was left: the first draw pays it whatever it drew (min 1.00), the rest find none.
    expect(paid).to.deep.equal(['1.00']);
    const [rows] = await conn.query('SELECT money FROM ims_scratch_person_prize WHERE aid = ?', [ids.stockedMoney]);
    const total = (rows as Array<{ money: string }>).reduce((sum, r) => sum + Math.round(Number(r.money) * 100), 0);
    expect(total).to.equal(1000);
  });

  it('a broken row answers FAILED_PRECONDITION ACTIVITY_CONFIG_INVALID naming the column; others keep working', async () => {
    const { lottery } = app().clients;
    for (const [name, column] of [['brokenPrize', 'prize'], ['brokenTime', 'active_time'], ['badChance', 'prize']] as const) {
      const e = await expectError(lottery.getActivity({ activityId: ids[name] }), GrpcStatus.FAILED_PRECONDITION, 'ACTIVITY_CONFIG_INVALID');
      expect(e.metadata.column).to.equal(column);
      expect(e.message).to.contain(column);
    }
    expect((await lottery.getActivity({ activityId: ids.good })).activity?.title).to.equal('老活动');
  });

  it('an admin repairs a broken row by saving over it, in the legacy encodings', async () => {
    const { lottery } = app().clients;
    const now = new Date(START).getTime();
    const saved = await lottery.saveActivity({
      activity: {
        activityId: ids.brokenPrize,
        enabled: true,
        title: '修好了',
        activeType: pb.ActiveType.ACTIVE_TYPE_NORMAL,
        template: pb.Template.TEMPLATE_WHEEL,
        prizes: [{ type: pb.PrizeType.PRIZE_TYPE_COUPON, name: '优惠券/折扣', sum: 3, chance: '12.5' } as pb.Prize],
        sessions: [{ startTime: new Date(now - 3_600_000), endTime: new Date(now + 3_600_000) }],
      } as pb.Activity,
    });
    expect(saved.activity?.prizes[0]).to.include({ name: '优惠券/折扣', chance: '12.5' });
    const [rows] = await conn.query('SELECT prize, active_time, create_time FROM ims_scratch_activity WHERE id = ?', [ids.brokenPrize]);
    const row = (rows as Array<{ prize: string; active_time: string; create_time: number }>)[0];
    expect(row?.prize).to.contain(String.raw`"name":"\u4f18\u60e0\u5238\/\u6298\u6263"`).and.contain('"sum":"3"');
    expect(row?.active_time).to.equal('[{"start":"2026-03-01 11:00","end":"2026-03-01 13:00"}]');
    expect(row?.create_time).to.equal(1_500_000_000);
  });

  it('on a fresh database creates ims_scratch_activity with exactly the documented columns and types', async () => {
    const fresh = await freshMysqlDatabase();
    const other = await startTestApp('mysql+redlock', { mysqlUrl: fresh.url });
    try {
      const c = await mysql.createConnection({ uri: fresh.url });
      const [cols] = await c.query('SHOW COLUMNS FROM ims_scratch_activity');
      await c.end();
      const types = Object.fromEntries((cols as Array<{ Field: string; Type: string }>).map((r) => [r.Field, r.Type]));
      const v = (n: number): string => `varchar(${n})`;
      expect(types).to.deep.equal({
        id: 'int(11)', status: 'tinyint(1)', active_title: v(255), active_time: v(2550), max_play: 'int(11)', max_eplay: 'int(11)',
        max_share: 'int(11)', max_prize: 'int(11)', active_type: 'tinyint(11)', virtual: 'int(11)', template: 'int(11)',
        header_img: v(255), rule_link: v(255), rule: 'text', need_address: 'tinyint(1)', tips: v(2550), prize: 'text', isshare: 'tinyint(1)',
        share_title: v(255), share_desc: v(255), share_link: v(255), share_img: v(255), config: v(255), rid: 'int(11)', uniacid: 'int(11)',
        create_time: 'int(11)', update_time: 'int(11)',
      });
    } finally {
      await other.stop();
      await fresh.drop();
    }
  });
});
