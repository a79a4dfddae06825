/** Shared set-up for the grant suites: activities, units, identities and nonces. */
import { randomBytes } from 'node:crypto';
import { grant, type Clients } from '@huodong/clients';
import { areas } from '../../../src/areas.js';
import { grantArea } from '../../../src/grant/index.js';
import { grantRpc } from '../../../src/grant/rpc.js';
import { GrantService, type GrantOptions } from '../../../src/grant/service.js';
import { GrantStore } from '../../../src/grant/store.js';
import { startGrantWorker } from '../../../src/grant/worker.js';
import type { Area } from '../../../src/platform/area.js';

/** Every area, the grant area's service with these options (grantArea's wiring otherwise). */
export function areasWithGrant(options: GrantOptions): Area[] {
  const tuned: Area = {
    ...grantArea,
    create: ({ db, clock, locks, logger }) => {
      const service = new GrantService({ store: new GrantStore(db), clock, locks, logger, options });
      return { services: [grantRpc(service)], start: () => Promise.resolve(startGrantWorker({ service, logger })) };
    },
  };
  return areas.map((a) => (a.name === grantArea.name ? tuned : a));
}

const base = randomBytes(3).readUIntBE(0, 3) * 100;
let counter = 0;

/** A distinct mainland mobile number (IDENTITY_KIND_PHONE). */
export function phone(): string {
  counter += 1;
  return `13${String((base + counter) % 1_000_000_000).padStart(9, '0')}`;
}

export function nonce(): string {
  return `n-${randomBytes(12).toString('hex')}`;
}

export function label(prefix = 'act'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

const DAY_MS = 86_400_000;

export interface ActivityOptions {
  readonly label?: string;
  readonly status?: grant.ActivityStatus;
  readonly startTime?: Date;
  readonly endTime?: Date;
  readonly blockedIdentities?: string[];
}

export async function createActivity(clients: Clients, options: ActivityOptions = {}): Promise<grant.Activity> {
  const now = Date.now();
  const res = await clients.grant.saveActivity({
    activity: grant.Activity.fromPartial({
      label: options.label ?? label(),
      name: '辽宁极限任务挑战赛-徐佳傲',
      status: options.status ?? grant.ActivityStatus.ACTIVITY_STATUS_ENABLED,
      startTime: options.startTime ?? new Date(now - DAY_MS),
      endTime: options.endTime ?? new Date(now + 30 * DAY_MS),
      blockedIdentities: options.blockedIdentities ?? [],
    }),
  });
  if (res.activity === undefined) throw new Error('no activity answered');
  return res.activity;
}

export type UnitOptions = Partial<Omit<grant.SubActivity, 'activityId'>>;

export const FIXED_START = new Date('2026-01-01T00:00:00Z');
export const FIXED_END = new Date('2027-01-01T00:00:00Z');

export function defaultProducts(): grant.Product[] {
  return [
    {
      productUri: 'product://gtj/2026',
      validity: { $case: 'days', value: 365 },
      activateType: grant.ActivateType.ACTIVATE_TYPE_ON_GRANT,
    },
    {
      productUri: 'product://gcl/2026',
      validity: { $case: 'fixedWindow', value: { startTime: FIXED_START, endTime: FIXED_END } },
      activateType: grant.ActivateType.ACTIVATE_TYPE_LATER,
    },
  ];
}

export async function createUnit(clients: Clients, activityId: string, options: UnitOptions = {}): Promise<grant.SubActivity> {
  const res = await clients.grant.saveSubActivity({
    subActivity: grant.SubActivity.fromPartial({
      name: '辽宁极限任务挑战赛活动',
      status: grant.ActivityStatus.ACTIVITY_STATUS_ENABLED,
      quota: '1000',
      perPersonLimit: 1,
      products: defaultProducts(),
      ...options,
      activityId,
    }),
  });
  if (res.subActivity === undefined) throw new Error('no sub-activity answered');
  return res.subActivity;
}

/** An activity with one open unit; returns both. */
export async function openActivity(
  clients: Clients,
  unit: UnitOptions = {},
): Promise<{ activity: grant.Activity; unit: grant.SubActivity }> {
  const activity = await createActivity(clients);
  return { activity, unit: await createUnit(clients, activity.id, unit) };
}

export const SYNC = { mode: 'sync' } as const;

export async function participateSync(
  clients: Clients,
  request: { identity: string; activityLabel: string; source?: string; branch?: string; nonce?: string },
): Promise<grant.Claim> {
  const res = await clients.grant.participate({
    source: 'bench.glodon.com',
    branch: 'liaoning',
    nonce: nonce(),
    extParams: SYNC,
    ...request,
  });
  if (res.claim === undefined) throw new Error('no claim answered');
  return res.claim;
}

/** Polls GetClaim until the claim is no longer pending. */
export async function settled(clients: Clients, claimId: string, timeoutMs = 20_000): Promise<grant.Claim> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await clients.grant.getClaim({ claimId });
    if (res.claim === undefined) throw new Error('no claim answered');
    if (res.claim.status !== grant.ClaimStatus.CLAIM_STATUS_PENDING) return res.claim;
    if (Date.now() > until) throw new Error(`claim ${claimId} still pending after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
