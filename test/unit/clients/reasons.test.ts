/**
 * The reasons list of @huodong/clients is the one the server raises from: every domain error
 * class of every area carries a reason of its own area's list (or a common one), and the
 * legacy codes the server sends are the ones the clients export.
 */
import { expect } from 'chai';
import { isKnownReason, legacyCodes, reasons, type Area } from '@huodong/clients/reasons';
import * as grantErrors from '../../../src/grant/errors.js';
import * as lotteryErrors from '../../../src/lottery/errors.js';
import * as memberErrors from '../../../src/member/errors.js';
import * as platformErrors from '../../../src/platform/errors.js';
import * as pointsErrors from '../../../src/points/errors.js';
import * as userdataErrors from '../../../src/userdata/errors.js';

const { DomainError } = platformErrors;
type AnyDomainError = InstanceType<typeof DomainError>;

/** One instance of every DomainError subclass a module exports (string arguments suffice). */
function instances(module: Record<string, unknown>): AnyDomainError[] {
  return Object.values(module).flatMap((value) => {
    if (typeof value !== 'function' || value === DomainError) return [];
    if (!((value as { readonly prototype: unknown }).prototype instanceof DomainError)) return [];
    const make = value as new (...args: string[]) => AnyDomainError;
    return [new make('x', 'y', 'member')];
  });
}

describe('clients: the reasons list the server uses', () => {
  const areas: [Area, Record<string, unknown>][] = [
    ['userdata', userdataErrors],
    ['member', memberErrors],
    ['points', pointsErrors],
    ['lottery', lotteryErrors],
    ['grant', grantErrors],
  ];

  for (const [area, module] of areas) {
    it(`${area}: every error class raises a reason of ${area} or common, under its domain`, () => {
      const errors = instances(module);
      expect(errors.length).to.be.greaterThan(0);
      const allowed: readonly string[] = [...reasons[area], ...reasons.common];
      for (const err of errors) {
        expect(allowed, `${err.name} (${err.reason})`).to.include(err.reason);
        expect(err.area).to.equal(area);
      }
    });
  }

  it('platform: its error classes raise common reasons', () => {
    const errors = instances(platformErrors);
    expect(errors.length).to.be.greaterThan(3);
    for (const err of errors) expect(reasons.common, err.name).to.include(err.reason);
  });

  it('every listed reason is UPPER_SNAKE and listed once per area; the legacy codes are the servers', () => {
    for (const list of Object.values(reasons)) {
      expect(new Set(list).size).to.equal(list.length);
      for (const reason of list) {
        expect(reason).to.match(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
        expect(isKnownReason(reason)).to.equal(true);
      }
    }
    expect(isKnownReason('CAS_CONFLCT')).to.equal(false);
    expect(memberErrors.LEGACY).to.equal(legacyCodes.member);
    expect(new grantErrors.NonceReplayedError().legacyCode).to.equal(String(legacyCodes.grant.NONCE_REPLAYED));
    expect(new memberErrors.InsufficientCpointError().legacyCode).to.equal(String(legacyCodes.member.INSUFFICIENT_CPOINT));
    for (const reason of Object.keys(legacyCodes.member)) {
      expect([...reasons.member, ...reasons.common]).to.include(reason);
    }
  });
});
