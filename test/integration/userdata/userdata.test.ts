import { expect } from 'chai';
import { GrpcStatus, HuodongError } from '@huodong/clients';
import { TABLE } from '../../../src/userdata/migrations.js';
import { describeEachStore } from '../../support/app.js';
import { expectError } from '../../support/errors.js';

let seq = 0;
const nextUser = (): { actid: string; openid: string } => ({ actid: String(1000 + seq), openid: `user-${++seq}` });

describeEachStore('UserDataService', (ctx) => {
  /** Documents stored under `where`, read straight from the table, so a refused write is seen to write nothing. */
  const storedRows = async (where: { actid?: string; openid?: string }): Promise<number> => {
    const row = (await ctx().app.db.knex(TABLE).where(where).count({ n: '*' }).first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  };

  it('answers an empty object with cas 0 for a user without data', async () => {
    const res = await ctx().clients.userdata.getActUserData(nextUser());
    expect(res.data).to.deep.equal({});
    expect(res.cas).to.equal('0');
  });

  it('creates with cas 0, then updates only with the current cas', async () => {
    const { userdata } = ctx().clients;
    const key = nextUser();
    const created = await userdata.setActUserData({ ...key, data: { rcdlst: [{ pkgid: 1 }] }, cas: '0' });
    expect(created.cas).to.equal('1');
    const read = await userdata.getActUserData(key);
    expect(read).to.deep.equal({ data: { rcdlst: [{ pkgid: 1 }] }, cas: '1' });

    const updated = await userdata.setActUserData({ ...key, data: { n: 2, nested: { ok: true, none: null } }, cas: read.cas });
    expect(updated.cas).to.equal('2');
    expect((await userdata.getActUserData(key)).data).to.deep.equal({ n: 2, nested: { ok: true, none: null } });
  });

  it('refuses a stale cas or a second create with ABORTED CAS_CONFLICT and writes nothing', async () => {
    const { userdata } = ctx().clients;
    const key = nextUser();
    await userdata.setActUserData({ ...key, data: { v: 1 }, cas: '0' });
    await userdata.setActUserData({ ...key, data: { v: 2 }, cas: '1' });
    await expectError(userdata.setActUserData({ ...key, data: { v: 'stale' }, cas: '1' }), GrpcStatus.ABORTED, 'CAS_CONFLICT');
    await expectError(userdata.setActUserData({ ...key, data: { v: 'again' }, cas: '0' }), GrpcStatus.ABORTED, 'CAS_CONFLICT');
    await expectError(userdata.setActUserData({ ...key, data: { v: 'future' }, cas: '99' }), GrpcStatus.ABORTED, 'CAS_CONFLICT');
    expect(await userdata.getActUserData(key)).to.deep.equal({ data: { v: 2 }, cas: '2' });
  });

  it('writes unconditionally with cas -1, creating or replacing, and moves cas on', async () => {
    const { userdata } = ctx().clients;
    const key = nextUser();
    const first = await userdata.setActUserData({ ...key, data: { v: 1 }, cas: '-1' });
    expect(first.cas).to.equal('1');
    const second = await userdata.setActUserData({ ...key, data: { v: 2 }, cas: '-1' });
    expect(second.cas).to.equal('2');
    expect(await userdata.getActUserData(key)).to.deep.equal({ data: { v: 2 }, cas: '2' });
  });

  it('keeps users and activities apart', async () => {
    const { userdata } = ctx().clients;
    const key = nextUser();
    await userdata.setActUserData({ ...key, data: { mine: true }, cas: '0' });
    expect((await userdata.getActUserData({ ...key, openid: `${key.openid}-other` })).cas).to.equal('0');
    expect((await userdata.getActUserData({ ...key, actid: String(Number(key.actid) + 500_000) })).cas).to.equal('0');
  });

  it('loses no update: 50 clients x 20 read-modify-write increments end at exactly 1000 @stress', async function () {
    this.timeout(180_000);
    const { userdata } = ctx().clients;
    const key = nextUser();
    let conflicts = 0;
    const worker = async (): Promise<void> => {
      let streak = 0;
      for (let done = 0; done < 20; ) {
        const { data, cas } = await userdata.getActUserData(key);
        const count = typeof data?.count === 'number' ? data.count : 0;
        try {
          await userdata.setActUserData({ ...key, data: { count: count + 1 }, cas });
          done += 1;
          streak = 0;
        } catch (err) {
          if (!(err instanceof HuodongError) || err.reason !== 'CAS_CONFLICT') throw err;
          conflicts += 1;
          // Back off exponentially with jitter, as a real client would, so the race is not a spin.
          streak += 1;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** streak)));
        }
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    const final = await userdata.getActUserData(key);
    expect(final.data).to.deep.equal({ count: 1000 });
    expect(final.cas).to.equal('1000');
    expect(conflicts, 'the race must actually have raced').to.be.greaterThan(0);
  });

  it('keeps activity ids exact up to 2^63-1 and refuses larger ones, naming actid', async () => {
    const { userdata } = ctx().clients;
    const openid = `edge-${++seq}`;
    const top = '9223372036854775807';
    const below = '9223372036854775806';
    await userdata.setActUserData({ actid: top, openid, data: { at: 'top' }, cas: '0' });
    await userdata.setActUserData({ actid: below, openid, data: { at: 'below' }, cas: '0' });
    expect(await userdata.getActUserData({ actid: top, openid })).to.deep.equal({ data: { at: 'top' }, cas: '1' });
    expect(await userdata.getActUserData({ actid: below, openid })).to.deep.equal({ data: { at: 'below' }, cas: '1' });
    // Above 2^63-1 SQLite would keep the id as REAL, where neighbours collide: refused on every store.
    for (const actid of ['9223372036854775808', '9223372036854775809', '18446744073709551615']) {
      const set = await expectError(userdata.setActUserData({ actid, openid, data: { at: actid }, cas: '-1' }), GrpcStatus.INVALID_ARGUMENT);
      expect(set.field, actid).to.equal('actid');
      const get = await expectError(userdata.getActUserData({ actid, openid }), GrpcStatus.INVALID_ARGUMENT);
      expect(get.field, actid).to.equal('actid');
    }
    expect(await storedRows({ openid })).to.equal(2);
  });

  it('answers an unexpected store failure with INTERNAL and a generic message, over gRPC and the bridge', async () => {
    const { userdata } = ctx().clients;
    const { knex } = ctx().app.db;
    const key = nextUser();
    // A missing table is no outage and no conflict: nothing the error mapper knows by name.
    const hidden = `${TABLE}_hidden`;
    await knex.schema.renameTable(TABLE, hidden);
    try {
      for (const call of [userdata.getActUserData(key), userdata.setActUserData({ ...key, data: { v: 1 }, cas: '-1' })]) {
        const e = await expectError(call, GrpcStatus.INTERNAL, 'INTERNAL');
        expect(e.message).to.equal('internal error');
        expect(e.domain).to.equal('huodong.common');
        expect(e.metadata).to.deep.equal({});
      }
      const res = await fetch(`${ctx().bridgeUrl}/userdata/getActUsrdata`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx().token}` },
        body: JSON.stringify(key),
      });
      expect(res.status).to.equal(500);
      expect(await res.json()).to.deep.equal({ code: GrpcStatus.INTERNAL, reason: 'INTERNAL', message: 'internal error' });
    } finally {
      await knex.schema.renameTable(hidden, TABLE);
    }
  });

  describe('bad input changes nothing and names the field', () => {
    it('missing actid or openid', async () => {
      const { userdata } = ctx().clients;
      const e1 = await expectError(userdata.setActUserData({ openid: 'x', data: { a: 1 }, cas: '0' }), GrpcStatus.INVALID_ARGUMENT);
      expect(e1.field).to.equal('actid');
      const e2 = await expectError(userdata.getActUserData({ actid: '7' }), GrpcStatus.INVALID_ARGUMENT);
      expect(e2.field).to.equal('openid');
      expect(e2.domain).to.equal('huodong.userdata');
    });

    it('data over 64 KiB', async () => {
      const { userdata } = ctx().clients;
      const key = nextUser();
      await userdata.setActUserData({ ...key, data: { v: 1 }, cas: '0' });
      const e = await expectError(
        userdata.setActUserData({ ...key, data: { blob: 'x'.repeat(70 * 1024) }, cas: '1' }),
        GrpcStatus.INVALID_ARGUMENT,
      );
      expect(e.field).to.equal('data');
      expect(await userdata.getActUserData(key)).to.deep.equal({ data: { v: 1 }, cas: '1' });
    });

    it("an openid with surrounding whitespace, which MySQL's PAD SPACE collation would match to another user's", async () => {
      const { userdata } = ctx().clients;
      const key = nextUser();
      await userdata.setActUserData({ ...key, data: { mine: true }, cas: '0' });
      for (const openid of [`${key.openid} `, `${key.openid}  `, ` ${key.openid}`, `${key.openid}\t`]) {
        const set = await expectError(userdata.setActUserData({ ...key, openid, data: { theirs: true }, cas: '-1' }), GrpcStatus.INVALID_ARGUMENT);
        expect(set.field, JSON.stringify(openid)).to.equal('openid');
        const get = await expectError(userdata.getActUserData({ ...key, openid }), GrpcStatus.INVALID_ARGUMENT);
        expect(get.field, JSON.stringify(openid)).to.equal('openid');
      }
      expect(await userdata.getActUserData(key)).to.deep.equal({ data: { mine: true }, cas: '1' });
      expect(await storedRows({ actid: key.actid })).to.equal(1);
    });

    it('missing data (an empty object is a document, absent data is not)', async () => {
      const { userdata } = ctx().clients;
      const key = nextUser();
      await userdata.setActUserData({ ...key, data: { v: 1 }, cas: '0' });
      for (const cas of ['-1', '1']) {
        const e = await expectError(userdata.setActUserData({ ...key, cas }), GrpcStatus.INVALID_ARGUMENT);
        expect(e.field, `cas ${cas}`).to.equal('data');
      }
      const fresh = nextUser();
      expect((await expectError(userdata.setActUserData({ ...fresh, cas: '0' }), GrpcStatus.INVALID_ARGUMENT)).field).to.equal('data');
      expect(await storedRows({ actid: fresh.actid })).to.equal(0);
      expect(await userdata.getActUserData(key)).to.deep.equal({ data: { v: 1 }, cas: '1' });
      expect((await userdata.setActUserData({ ...key, data: {}, cas: '1' })).cas).to.equal('2');
      expect(await userdata.getActUserData(key)).to.deep.equal({ data: {}, cas: '2' });
    });

    it('cas below -1', async () => {
      const { userdata } = ctx().clients;
      const key = nextUser();
      const e = await expectError(userdata.setActUserData({ ...key, data: { v: 1 }, cas: '-2' }), GrpcStatus.INVALID_ARGUMENT);
      expect(e.field).to.equal('cas');
      expect((await userdata.getActUserData(key)).cas).to.equal('0');
    });
  });

  describe('auth', () => {
    it('no token -> UNAUTHENTICATED, unknown token -> UNAUTHENTICATED', async () => {
      await expectError(ctx().clientsWithToken(undefined).userdata.getActUserData(nextUser()), GrpcStatus.UNAUTHENTICATED);
      await expectError(ctx().clientsWithToken('hd_forged').userdata.getActUserData(nextUser()), GrpcStatus.UNAUTHENTICATED);
    });

    it('a token without the userdata scope -> PERMISSION_DENIED, and writes nothing', async () => {
      const { clients } = await ctx().clientsWithScopes(['member']);
      const key = nextUser();
      const e = await expectError(clients.userdata.setActUserData({ ...key, data: { a: 1 }, cas: '0' }), GrpcStatus.PERMISSION_DENIED);
      expect(e.reason).to.equal('SCOPE_MISSING');
      expect((await ctx().clients.userdata.getActUserData(key)).cas).to.equal('0');
      const ok = await ctx().clientsWithScopes(['userdata']);
      expect((await ok.clients.userdata.getActUserData(key)).cas).to.equal('0');
    });
  });
});
