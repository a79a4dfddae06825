import { expect } from 'chai';
import { InvalidArgumentError } from '../../../src/platform/errors.js';
import { requireIdentifier } from '../../../src/platform/identifier.js';
import { validateUid } from '../../../src/member/service.js';
import { validateOpenid as lotteryOpenid } from '../../../src/lottery/service.js';
import { requireOpenId } from '../../../src/points/rules.js';
import { validateOpenid as userdataOpenid } from '../../../src/userdata/service.js';

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidArgumentError);
    return (err as InvalidArgumentError).message;
  }
  throw new Error('accepted');
}

describe('platform identifier rule (uids, openids, open ids)', () => {
  it('keeps an identifier exactly as sent, refusing edge white space instead of trimming it', () => {
    expect(requireIdentifier('Victim', 'openid')).to.equal('Victim');
    for (const bad of ['victim ', ' victim', '\tvictim', 'victim\u3000']) {
      expect(problem(() => requireIdentifier(bad, 'openid'))).to.match(/^openid: must not start or end with white space/);
    }
    expect(problem(() => requireIdentifier(undefined, 'uid'))).to.equal('uid: is required');
    expect(problem(() => requireIdentifier('   ', 'uid'))).to.equal('uid: is required');
    expect(problem(() => requireIdentifier('a\u0000b', 'uid'))).to.match(/control characters/);
    expect(problem(() => requireIdentifier('x'.repeat(129), 'uid'))).to.match(/at most 128/);
    expect(problem(() => requireIdentifier('用户', 'uid', { ascii: true, max: 64 }))).to.match(/printable ASCII/);
  });

  it('is the one rule of every area: the same edge-space input is refused everywhere, naming its field', () => {
    const input = 'victim ';
    expect(problem(() => validateUid(input))).to.match(/^uid: must not start/);
    expect(problem(() => lotteryOpenid(input))).to.match(/^openid: must not start/);
    expect(problem(() => requireOpenId(input))).to.match(/^open_id: must not start/);
    expect(problem(() => userdataOpenid(input))).to.match(/^openid: must not start/);
  });
});
