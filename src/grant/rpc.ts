/** Proto <-> domain for ActivityGrantService; no rules here. */
import {
  Activity,
  ActivityGrantServiceDefinition,
  ActivityStatus,
  FilterRules,
  SubActivity,
  type Claim,
  type GrantedProduct as GrantedProductPb,
  type Product,
} from '../gen/huodong/grant/v1/grant.js';
import { defineService, type ServiceRegistration } from '../platform/rpc.js';
import type { ProductInput, StatusInput } from './admin.js';
import type {
  ActivityRecord,
  GrantedProduct,
  ProductDef,
  SubActivityRecord,
} from './model.js';
import type { ClaimView, GrantService } from './service.js';
import { ACTIVATE_TYPES, CLAIM_STATUSES, IDENTITY_KINDS } from './words.js';

function statusIn(status: ActivityStatus): StatusInput {
  if (status === ActivityStatus.ACTIVITY_STATUS_DISABLED) return 'disabled';
  if (status === ActivityStatus.ACTIVITY_STATUS_ENABLED) return 'enabled';
  return 'unspecified';
}

const statusOut = (enabled: boolean): ActivityStatus =>
  enabled ? ActivityStatus.ACTIVITY_STATUS_ENABLED : ActivityStatus.ACTIVITY_STATUS_DISABLED;

const dateOf = (seconds: number): Date => new Date(seconds * 1000);
const optionalDate = (seconds: number | undefined): Date | undefined => (seconds === undefined ? undefined : dateOf(seconds));

function productIn(p: Product): ProductInput {
  const v = p.validity;
  return {
    productUri: p.productUri,
    validity:
      v?.$case === 'days'
        ? { kind: 'days', days: v.value }
        : v?.$case === 'fixedWindow'
          ? { kind: 'fixed', startTime: v.value.startTime, endTime: v.value.endTime }
          : undefined,
    activateType: ACTIVATE_TYPES.toDomain(p.activateType),
  };
}

function productOut(p: ProductDef): Product {
  return {
    productUri: p.productUri,
    validity:
      p.validity.kind === 'days'
        ? { $case: 'days', value: p.validity.days }
        : { $case: 'fixedWindow', value: { startTime: dateOf(p.validity.startAt), endTime: dateOf(p.validity.endAt) } },
    activateType: ACTIVATE_TYPES.toProto(p.activateType),
  };
}

function activityOut(a: ActivityRecord): Activity {
  return {
    id: a.id,
    label: a.label,
    name: a.name,
    status: statusOut(a.enabled),
    startTime: dateOf(a.startAt),
    endTime: dateOf(a.endAt),
    blockedIdentities: [...a.blockedIdentities],
  };
}

function subActivityOut(u: SubActivityRecord & { granted: number }): SubActivity {
  return {
    id: u.id,
    activityId: u.activityId,
    name: u.name,
    status: statusOut(u.enabled),
    startTime: optionalDate(u.startAt),
    endTime: optionalDate(u.endAt),
    quota: String(u.quota),
    perPersonLimit: u.perPersonLimit,
    filterRules: {
      allowedSources: [...u.filters.sources],
      allowedBranches: [...u.filters.branches],
      identityKinds: u.filters.identityKinds.map((k) => IDENTITY_KINDS.toProto(k)),
    },
    products: u.products.map(productOut),
    grantedCount: String(u.granted),
  };
}

function grantedOut(p: GrantedProduct): GrantedProductPb {
  return {
    activityId: p.activityId,
    subActivityId: p.subActivityId,
    productUri: p.productUri,
    limitStartTime: dateOf(p.startAt),
    limitEndTime: dateOf(p.endAt),
    activateType: ACTIVATE_TYPES.toProto(p.activateType),
    claimId: p.claimId,
    grantTime: dateOf(p.grantedAt),
  };
}

function claimOut(view: ClaimView): Claim {
  const o = view.outcome;
  return {
    claimId: view.claimId,
    status: CLAIM_STATUSES.toProto(view.status),
    resultCode: o?.resultCode ?? '',
    resultMessage: o?.resultMessage ?? '',
    products: (o?.products ?? []).map(grantedOut),
    activities: (o?.activities ?? []).map((a) => ({
      id: a.id,
      name: a.name,
      participateResult: a.participateResult,
      errorCode: a.errorCode,
      errorMessage: a.errorMessage,
      subActivities: a.units.map((u) => ({ ...u })),
    })),
    invalidField: o?.invalidField ?? '',
    filterRule: o?.filterRule ?? '',
    identity: view.identity,
    activityLabel: view.activityLabel,
    createTime: view.createdAtMs === undefined ? undefined : new Date(view.createdAtMs),
    completeTime: view.completedAtMs === undefined ? undefined : new Date(view.completedAtMs),
  };
}

export function grantRpc(service: GrantService): ServiceRegistration {
  return defineService({
    definition: ActivityGrantServiceDefinition,
    scopes: {
      participate: 'grant',
      getClaim: 'grant',
      saveActivity: 'grant.admin',
      saveSubActivity: 'grant.admin',
      listEntitlements: 'grant.admin',
    },
    handlers: {
      async participate(request, context) {
        const view = await service.participate(context.app.id, request);
        return { claim: claimOut(view) };
      },
      async getClaim(request, context) {
        return { claim: claimOut(await service.getClaim(context.app.id, request.claimId)) };
      },
      async saveActivity({ activity = Activity.create() }) {
        // SaveActivity's input is the message but for its status.
        const saved = await service.saveActivity({ ...activity, status: statusIn(activity.status) });
        return { activity: activityOut(saved) };
      },
      async saveSubActivity({ subActivity: u = SubActivity.create() }) {
        const filters = u.filterRules ?? FilterRules.create();
        const saved = await service.saveSubActivity({
          id: u.id,
          activityId: u.activityId,
          name: u.name,
          status: statusIn(u.status),
          startTime: u.startTime,
          endTime: u.endTime,
          quota: u.quota,
          perPersonLimit: u.perPersonLimit,
          allowedSources: filters.allowedSources,
          allowedBranches: filters.allowedBranches,
          identityKinds: filters.identityKinds.map((k) => IDENTITY_KINDS.toDomain(k)),
          products: u.products.map(productIn),
        });
        return { subActivity: subActivityOut(saved) };
      },
      async listEntitlements(request) {
        const page = await service.listEntitlements(request.identity, request.pageSize, request.pageToken);
        return { products: page.products.map(grantedOut), nextPageToken: page.nextPageToken };
      },
    },
  });
}
