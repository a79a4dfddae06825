import type { BenchContext, Scenario } from './scenarios.js';

const USERS = 10_000;

export function userDataScenarios(ctx: BenchContext): Scenario[] {
  const { userdata } = ctx.clients;
  return [
    {
      name: 'GetActUserData (distinct users)',
      async setup() {
        // Seed USERS documents so reads find data.
        for (let start = 0; start < USERS; start += 500) {
          await Promise.all(
            Array.from({ length: 500 }, (_, k) =>
              userdata.setActUserData({ actid: '1', openid: `bench-${start + k}`, data: { score: start + k, tags: ['a', 'b'] }, cas: '-1' }),
            ),
          );
        }
        return (i) => userdata.getActUserData({ actid: '1', openid: `bench-${i % USERS}` });
      },
    },
    {
      name: 'limit: raw SQL SELECT by primary key',
      async setup() {
        return (i) =>
          ctx.pool.query('SELECT data, cas FROM userdata_documents WHERE actid = ? AND openid = ?', [1, `bench-${i % USERS}`]);
      },
    },
    {
      name: 'SetActUserData cas=-1 (distinct users)',
      async setup() {
        return (i) => userdata.setActUserData({ actid: '2', openid: `bench-set-${i}`, data: { i, at: 'now' }, cas: '-1' });
      },
    },
  ];
}
