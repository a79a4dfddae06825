import { expect } from 'chai';
import { legacyCodes } from '@huodong/clients/reasons';
import { areaErrors, DomainError, InvalidArgumentError, LockBusyError } from '../../../src/platform/errors.js';
import { ApiClosedError } from '../../../src/member/errors.js';
import { InsufficientPointsError, PrizeSoldOutError } from '../../../src/points/errors.js';

describe('platform errors: an area binds its name once', () => {
  it('raises the common failures in the bound area', () => {
    const errors = areaErrors('points');
    const invalid = errors.invalid('prize_id', 'is required');
    expect(invalid).to.be.instanceOf(InvalidArgumentError);
    expect(invalid).to.include({ area: 'points', reason: 'INVALID_ARGUMENT', field: 'prize_id', message: 'prize_id: is required' });
    expect(invalid.metadata).to.deep.equal({ field: 'prize_id' });
    expect(errors.keyReused('request_id')).to.include({ area: 'points', reason: 'IDEMPOTENCY_KEY_REUSED', kind: 'ALREADY_EXISTS' });
    expect(errors.conflict('retry')).to.include({ area: 'points', reason: 'CONFLICT', kind: 'ABORTED', message: 'retry' });
    expect(errors.lockBusy()).to.be.instanceOf(LockBusyError).and.include({ area: 'points', legacyCode: undefined });
  });

  it('gives an error the seed code of its area and reason, and no other', () => {
    expect(areaErrors('member').lockBusy().legacyCode).to.equal(String(legacyCodes.member.LOCK_BUSY));
    expect(new LockBusyError().legacyCode).to.equal(undefined);
    expect(new ApiClosedError('ConsumeCpoint').legacyCode).to.equal(String(legacyCodes.member.API_CLOSED));
  });

  it("makes one-line classes: named, instanceof, message and metadata from the class's arguments", () => {
    const err = new InsufficientPointsError('12');
    expect(err).to.be.instanceOf(InsufficientPointsError).and.instanceOf(DomainError);
    expect(err).to.not.be.instanceOf(PrizeSoldOutError);
    expect(err).to.include({ name: 'InsufficientPointsError', kind: 'FAILED_PRECONDITION', reason: 'INSUFFICIENT_POINTS', area: 'points' });
    expect(err.message).to.equal('not enough points: 12 needed');
    expect(err.metadata).to.deep.equal({ needed: '12' });
    expect(new PrizeSoldOutError().metadata).to.deep.equal({});
  });
});
