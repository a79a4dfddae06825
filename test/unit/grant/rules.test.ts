import { expect } from 'chai';
import { validateActivity, validateSubActivity, type SubActivityInput } from '../../../src/grant/admin.js';
import {
  activityGate,
  classifyIdentity,
  productWindow,
  resolveOutcome,
  unitPrecheck,
  validateParticipate,
  verdict,
} from '../../../src/grant/rules.js';
import type { ActivityDef, UnitDef } from '../../../src/grant/model.js';
import { FakeClock } from '../../support/clock.js';
import { fieldOf } from '../../support/errors.js';

const clock = new FakeClock('2026-06-01T00:00:00Z');
const now = (): number => Math.floor(clock.now().getTime() / 1000);
const DAY = 86_400;

const activity = (over: Partial<ActivityDef> = {}): ActivityDef => ({
  id: 'A'.repeat(32),
  label: 'act',
  name: 'activity',
  enabled: true,
  startAt: now() - DAY,
  endAt: now() + DAY,
  ...over,
});

const unit = (over: Partial<UnitDef> = {}): UnitDef => ({
  id: 'B'.repeat(32),
  activityId: 'A'.repeat(32),
  name: 'unit',
  enabled: true,
  startAt: undefined,
  endAt: undefined,
  quota: 10,
  granted: 0,
  perPersonLimit: 1,
  filters: { sources: [], branches: [], identityKinds: [] },
  products: [{ productUri: 'p', validity: { kind: 'days', days: 7 }, activateType: 0 }],
  ...over,
});

const request = { source: 'gtj', branch: 'ln' };

describe('grant rules', () => {
  it('tells identity kinds apart and refuses unknown forms', () => {
    expect(classifyIdentity('13812345678')).to.equal('phone');
    expect(classifyIdentity('someone@glodon.com')).to.equal('email');
    expect(classifyIdentity('GLD_corp.01')).to.equal('enterprise_account');
    expect(classifyIdentity('2041123456')).to.equal('lock_asset_number');
    expect(classifyIdentity('12812345678')).to.equal('lock_asset_number');
    for (const bad of ['', '12345', 'ab', 'a b c', '@glodon.com', 'x@y', '_corp', '中文账号', '1'.repeat(21)]) {
      expect(classifyIdentity(bad), bad).to.equal(undefined);
    }
  });

  it('validates Participate, naming the first bad parameter, and picks the mode', () => {
    const ok = { identity: '13812345678', activityLabel: 'a', source: 's', nonce: 'n1' };
    const good = validateParticipate(ok);
    expect(good.ok && good.value.mode).to.equal('async');
    const sync = validateParticipate({ ...ok, extParams: { mode: 'SYNC' } });
    expect(sync.ok && sync.value.mode).to.equal('sync');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ identity: undefined }, 'identity'],
      [{ identity: '  ' }, 'identity'],
      [{ identity: 'a\u0000b' }, 'identity'],
      [{ activityLabel: 'x'.repeat(65) }, 'activity_label'],
      [{ source: '' }, 'source'],
      [{ branch: 'b'.repeat(65) }, 'branch'],
      [{ extParams: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) }, 'ext_params'],
      [{ extParams: { k: 'v'.repeat(257) } }, 'ext_params.k'],
      [{ extParams: { mode: 'fast' } }, 'ext_params.mode'],
      [{ nonce: '' }, 'nonce'],
      [{ nonce: 'ü' }, 'nonce'],
    ];
    for (const [patch, field] of cases) {
      const r = validateParticipate({ ...ok, ...patch });
      expect(r.ok ? '' : r.field, field).to.equal(field);
    }
  });

  it('the activity gate: disabled, not started, ended (end exclusive)', () => {
    expect(activityGate(activity(), now())).to.equal(0);
    expect(activityGate(activity({ enabled: false }), now())).to.equal(14103);
    expect(activityGate(activity({ startAt: now() + 1 }), now())).to.equal(14101);
    expect(activityGate(activity({ startAt: now() }), now())).to.equal(0);
    expect(activityGate(activity({ endAt: now() }), now())).to.equal(14102);
  });

  it('unit prechecks: filters first, then status, then the narrower of both windows', () => {
    const a = activity();
    expect(unitPrecheck(unit(), a, request, 'phone', now())).to.equal(0);
    expect(unitPrecheck(unit({ filters: { sources: ['x'], branches: [], identityKinds: [] }, enabled: false }), a, request, 'phone', now())).to.equal(14006);
    expect(unitPrecheck(unit({ filters: { sources: ['gtj'], branches: ['bj'], identityKinds: [] } }), a, request, 'phone', now())).to.equal(14007);
    expect(unitPrecheck(unit({ filters: { sources: [], branches: [], identityKinds: ['email'] } }), a, request, 'phone', now())).to.equal(14008);
    expect(unitPrecheck(unit({ enabled: false }), a, request, 'phone', now())).to.equal(14003);
    expect(unitPrecheck(unit({ startAt: now() + 10 }), a, request, 'phone', now())).to.equal(14001);
    expect(unitPrecheck(unit({ endAt: now() }), a, request, 'phone', now())).to.equal(14002);
    // A unit window wider than its activity's is cut to the activity's.
    const late = activity({ startAt: now() + 5 });
    expect(unitPrecheck(unit({ startAt: now() - 100 }), late, request, 'phone', now())).to.equal(14001);
    clock.advance(DAY * 1000);
    expect(unitPrecheck(unit({ endAt: now() + DAY }), a, request, 'phone', now())).to.equal(14002);
    clock.set('2026-06-01T00:00:00Z');
  });

  it('product windows: fixed as configured, N days from the grant across a year end', () => {
    const fixed = { productUri: 'p', validity: { kind: 'fixed' as const, startAt: 100, endAt: 200 }, activateType: 1 as const };
    expect(productWindow(fixed, now())).to.deep.equal({ startAt: 100, endAt: 200 });
    clock.set('2026-12-31T23:00:00Z');
    const days = { productUri: 'p', validity: { kind: 'days' as const, days: 2 }, activateType: 0 as const };
    const w = productWindow(days, now());
    expect(new Date(w.startAt * 1000).toISOString()).to.equal('2026-12-31T23:00:00.000Z');
    expect(new Date(w.endAt * 1000).toISOString()).to.equal('2027-01-02T23:00:00.000Z');
    clock.set('2026-06-01T00:00:00Z');
  });

  it('resolves 0000 when any unit granted, 2001 when every unit was filtered, else 3002', () => {
    const a = activity();
    const u1 = { id: '1', name: 'one' };
    const u2 = { id: '2', name: 'two' };
    expect(resolveOutcome(a, [verdict(u1, 14005), verdict(u2, 0)], []).resultCode).to.equal('0000');
    const filtered = resolveOutcome(a, [verdict(u1, 14007), verdict(u2, 14006)], []);
    expect([filtered.resultCode, filtered.filterRule]).to.deep.equal(['2001', 'branch']);
    const mixed = resolveOutcome(a, [verdict(u1, 14006), verdict(u2, 14004)], []);
    expect(mixed.resultCode).to.equal('3002');
    expect(mixed.activities[0]?.units.map((u) => [u.errorCode, u.errorMessage])).to.deep.equal([
      [14006, '来源不在活动单元允许范围内'],
      [14004, '活动单元名额已领完'],
    ]);
    expect(resolveOutcome(a, [verdict(u1, 14005)], []).activities[0]?.units[0]?.errorMessage).to.equal('个人领取次数超限');
  });

  it('admin validation names the field for every bad input', () => {
    const start = new Date('2026-01-01T00:00:00Z');
    const end = new Date('2026-02-01T00:00:00Z');
    const base = { id: '', label: 'l', name: 'n', status: 'enabled' as const, startTime: start, endTime: end, blockedIdentities: [] };
    expect(validateActivity(base).enabled).to.equal(true);
    expect(fieldOf(() => validateActivity({ ...base, startTime: new Date(-1000) }))).to.equal('activity.start_time');
    expect(fieldOf(() => validateActivity({ ...base, endTime: new Date(Number.NaN) }))).to.equal('activity.end_time');
    const unitBase: SubActivityInput = {
      id: '',
      activityId: 'A'.repeat(32),
      name: 'u',
      status: 'unspecified',
      startTime: undefined,
      endTime: undefined,
      quota: '5',
      perPersonLimit: 1,
      allowedSources: [],
      allowedBranches: [],
      identityKinds: [],
      products: [{ productUri: 'p', validity: { kind: 'days', days: 1 }, activateType: 0 }],
    };
    expect(validateSubActivity(unitBase).enabled).to.equal(true);
    expect(fieldOf(() => validateSubActivity({ ...unitBase, quota: '1.5' }))).to.equal('sub_activity.quota');
    expect(fieldOf(() => validateSubActivity({ ...unitBase, quota: '99999999999999999999' }))).to.equal('sub_activity.quota');
    expect(fieldOf(() => validateSubActivity({ ...unitBase, perPersonLimit: 1.5 }))).to.equal('sub_activity.per_person_limit');
    expect(fieldOf(() => validateSubActivity({ ...unitBase, allowedSources: Array.from({ length: 101 }, (_, i) => `s${i}`) }))).to.equal(
      'sub_activity.filter_rules.allowed_sources',
    );
    expect(fieldOf(() => validateSubActivity({ ...unitBase, allowedBranches: [''] }))).to.equal('sub_activity.filter_rules.allowed_branches');
    expect(fieldOf(() => validateSubActivity({ ...unitBase, activityId: 'a'.repeat(32) }))).to.equal('sub_activity.activity_id');
  });
});
