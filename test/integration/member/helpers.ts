import { expect } from 'chai';
import { HuodongError } from '@huodong/clients';
import type { TestApp } from '../../support/app.js';

let seq = 0;
/** A uid no other test uses. */
export const newUid = (prefix = 'u'): string => `${prefix}-${process.pid}-${++seq}`;

/** The stored balance (hundredths) and the sum of the user's journal; they must agree. */
export async function expectLedgerBalanced(t: TestApp, uid: string): Promise<number> {
  const knex = t.app.db.knex;
  const user = (await knex('member_users').select('cpoint').where({ uid }).first()) as { cpoint: number | string } | undefined;
  const sum = (await knex('member_journal').where({ uid }).sum({ s: 'amount' }).first()) as { s: number | string | null } | undefined;
  const balance = Number(user?.cpoint ?? 0);
  expect(balance, `balance of ${uid}`).to.be.at.least(0);
  expect(Number(sum?.s ?? 0), `journal of ${uid} sums to its balance`).to.equal(balance);
  return balance;
}

/** Retries a call refused with LOCK_BUSY, as a well-behaved client does with ABORTED. */
export async function retryBusy<T>(call: () => Promise<T>, stats?: { busy: number }): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof HuodongError) || err.reason !== 'LOCK_BUSY') throw err;
      if (stats) stats.busy += 1;
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
    }
  }
}
