/**
 * The grant area's enums beside their domain values and seed 004's words, for rpc.ts (proto <->
 * domain) and bridge.ts (legacy words <-> proto). See platform/words.ts.
 */
import { ActivateType, ClaimStatus, IdentityKind } from '../gen/huodong/grant/v1/grant.js';
import { enumWords } from '../platform/words.js';
import type { ActivateType as DomainActivateType, IdentityKind as DomainKind } from './model.js';
import type { ClaimView } from './service.js';

/** What a user identity is. */
export const IDENTITY_KINDS = enumWords<IdentityKind, DomainKind>([
  [IdentityKind.IDENTITY_KIND_PHONE, 'phone'], [IdentityKind.IDENTITY_KIND_EMAIL, 'email'],
  [IdentityKind.IDENTITY_KIND_ENTERPRISE_ACCOUNT, 'enterprise_account'], [IdentityKind.IDENTITY_KIND_LOCK_ASSET_NUMBER, 'lock_asset_number'],
]);

export const CLAIM_STATUSES = enumWords<ClaimStatus, ClaimView['status']>([
  [ClaimStatus.CLAIM_STATUS_PENDING, 'pending'], [ClaimStatus.CLAIM_STATUS_GRANTED, 'granted'], [ClaimStatus.CLAIM_STATUS_REFUSED, 'refused'],
]);

/** Seed 004's activateType: "0" active once granted, "1" activated later. */
export const ACTIVATE_TYPES = enumWords<ActivateType, DomainActivateType>([[ActivateType.ACTIVATE_TYPE_ON_GRANT, 0], [ActivateType.ACTIVATE_TYPE_LATER, 1]]);
