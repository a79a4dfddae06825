import { expect } from 'chai';
import { classifyStoreError, retryConflicts } from '../../../src/platform/db.js';
import { DomainError, UnavailableError } from '../../../src/platform/errors.js';

const storeError = (code: string): Error => Object.assign(new Error(code), { code });

describe('store errors', () => {
  it('runs a transaction again after a deadlock or lock-wait timeout, and answers the retry', async () => {
    const thrown = [storeError('ER_LOCK_DEADLOCK'), storeError('ER_LOCK_WAIT_TIMEOUT')];
    let calls = 0;
    const value = await retryConflicts(() => {
      calls += 1;
      const err = thrown.shift();
      return err === undefined ? Promise.resolve('done') : Promise.reject(err);
    });
    expect(value).to.equal('done');
    expect(calls).to.equal(3);
  });

  it('gives up after its attempts with the last conflict, and never retries other errors', async () => {
    let calls = 0;
    const deadlock = storeError('ER_LOCK_DEADLOCK');
    const failing = retryConflicts(() => {
      calls += 1;
      return Promise.reject(deadlock);
    }, 3);
    await failing.then(
      () => expect.fail('should have failed'),
      (err: unknown) => expect(err).to.equal(deadlock),
    );
    expect(calls).to.equal(3);

    calls = 0;
    const duplicate = storeError('ER_DUP_ENTRY');
    await retryConflicts(() => {
      calls += 1;
      return Promise.reject(duplicate);
    }).then(
      () => expect.fail('should have failed'),
      (err: unknown) => expect(err).to.equal(duplicate),
    );
    expect(calls).to.equal(1);
  });

  it('answers a conflict that outlived its retries as ABORTED CONFLICT and an outage as UNAVAILABLE', () => {
    const conflict = classifyStoreError(storeError('ER_LOCK_DEADLOCK'));
    expect(conflict).to.be.instanceOf(DomainError);
    expect(conflict).to.include({ kind: 'ABORTED', reason: 'CONFLICT' });
    expect(classifyStoreError(storeError('ECONNREFUSED'))).to.be.instanceOf(UnavailableError);
    const other = storeError('ER_PARSE_ERROR');
    expect(classifyStoreError(other)).to.equal(other);
  });
  it('answers every kind of connection loss UNAVAILABLE, and leaves statement errors alone', () => {
    const shapes: unknown[] = [
      Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true }),
      new Error("Can't add new command when connection is in closed state"),
      Object.assign(new Error('Connection lost: The server closed the connection.'), { fatal: true, code: 'PROTOCOL_CONNECTION_LOST' }),
      storeError('ECONNRESET'),
      storeError('ETIMEDOUT'),
      storeError('ER_SERVER_SHUTDOWN'),
      storeError('ER_CONNECTION_KILLED'),
      storeError('SQLITE_BUSY_SNAPSHOT'),
      Object.assign(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'), { name: 'KnexTimeoutError' }),
      new Error('transaction failed', { cause: storeError('ECONNREFUSED') }),
    ];
    for (const shape of shapes) expect(classifyStoreError(shape), String(shape)).to.be.instanceOf(UnavailableError);
    for (const code of ['ER_DUP_ENTRY', 'ER_PARSE_ERROR', 'ER_NO_SUCH_TABLE']) {
      expect(classifyStoreError(storeError(code)), code).to.not.be.instanceOf(DomainError);
    }
  });
});
