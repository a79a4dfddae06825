import { expect } from 'chai';
import type { member } from '@huodong/clients';
import { STORE_KINDS, startTestApp, type TestApp } from '../../support/app.js';
import { gradeFor } from '../../../src/member/rules.js';
import { newUid } from './helpers.js';

/** Two grade tables that grade the same experience (10.00) differently: 1 and 2. */
const TABLES: ReadonlyArray<Array<{ grade: number; score: string }>> = [
  [
    { grade: 1, score: '5' },
    { grade: 2, score: '20' },
  ],
  [
    { grade: 1, score: '5' },
    { grade: 2, score: '8' },
  ],
];

const task: member.TaskConfig = {
  id: 9100,
  op: 'grade-race',
  name: 'grade race',
  desc: '',
  score: '10',
  cpoint: '1',
  stepScore: '',
  stepCpoint: '',
  status: 0,
  sTime: undefined,
  eTime: undefined,
  sGrade: -1,
  eGrade: -1,
  batch: 1,
  repeat: 1,
  rFlag: 0,
  rRatio: 0,
  rCount: -1,
  rCpoint: '-1',
  rScore: '-1',
  rFilter: 0,
  rStep: 0,
  uTime: undefined,
};

for (const store of STORE_KINDS) {
  describe(`SubmitTask racing UpdateGradeConfigs [${store}]`, function () {
    this.timeout(240_000);
    let t: TestApp;
    before(async () => {
      t = await startTestApp(store);
    });
    after(async () => t?.stop());

    it('480 users submit while the grade table changes under them; every grade matches the final table @stress', async () => {
      const m = t.clients.member;
      await m.updateTaskConfig({ task });
      await m.updateGradeConfigs({ grades: TABLES[0] });
      // Other members, so that each UpdateGradeConfigs (which regrades everyone) takes a while.
      const knex = t.app.db.knex;
      const filler = Array.from({ length: 10_000 }, (_, i) => ({ uid: `grade-filler-${i}`, cpoint: 0, score: (i % 30) * 100, grade: 0, updated_at: 0 }));
      for (let i = 0; i < filler.length; i += 400) await knex('member_users').insert(filler.slice(i, i + 400));
      const uids = Array.from({ length: 480 }, () => newUid('grade-race'));

      // The table changes until half the users are done, and then no more: the submissions in
      // flight across the last change must still grade from it.
      let done = 0;
      let updates = 0;
      let final = TABLES[0] as Array<{ grade: number; score: string }>;
      const updater = (async () => {
        while (done < uids.length / 2) {
          const next = TABLES[(updates + 1) % 2] as Array<{ grade: number; score: string }>;
          await m.updateGradeConfigs({ grades: next });
          final = next;
          updates += 1;
        }
      })();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < uids.length) {
          const uid = uids[next++] as string;
          const res = await m.submitTask({ requestId: `gr-${uid}`, uid, op: task.op }, { deadlineMs: 60_000 });
          expect(res.code, uid).to.equal(0);
          done += 1;
        }
      };
      try {
        await Promise.all(Array.from({ length: 48 }, worker));
      } finally {
        done = uids.length;
        await updater;
      }
      expect(updates, 'the table changed while tasks were submitted').to.be.greaterThan(2);

      const table = final.map((g) => ({ grade: g.grade, score: Math.round(Number(g.score) * 100) }));
      expect((await m.listGradeConfigs({})).grades.map((g) => g.grade)).to.deep.equal([1, 2]);
      const rows = (await t.app.db.knex('member_users').select('uid', 'score', 'grade').whereIn('uid', uids)) as Array<{ uid: string; score: number | string; grade: number | string }>;
      expect(rows).to.have.length(uids.length);
      const stale = rows.filter((r) => Number(r.grade) !== gradeFor(Number(r.score), table)).map((r) => r.uid);
      expect(stale, `${stale.length} of ${rows.length} users graded from a stale table`).to.deep.equal([]);
    });
  });
}
