/**
 * Who owns an idempotency key. Orders, request ids and draw keys belong to the app that used
 * them: another app neither sees nor changes them, and the same key used by two apps is two
 * operations. The owner is the calling app's id, or `legacy:<name>` when a caller allowed to
 * act for legacy principals (the area's `.admin` scope, e.g. the REST bridge, which checked
 * the legacy app's signature itself) names one in the `huodong-on-behalf-of` header.
 *
 * Rows written before keys had owners carry LEGACY_OWNER (''). They are history: only apps
 * holding the area's `.admin` scope (which may see everything) read them, and no new operation
 * ever joins one, so a key of those days used again is a new operation of the app using it.
 */
import type { App } from './auth.js';
import { commonErrors, InternalError, PermissionDeniedError } from './errors.js';
import type { Scope } from './scopes.js';

/** The owner of every row written before keys had owners. */
export const LEGACY_OWNER = '';

/** The metadata header naming the legacy principal a trusted caller acts for. */
export const ON_BEHALF_OF_HEADER = 'huodong-on-behalf-of';

/** The width of the owner columns: an app id (36) or `legacy:` and a 1..64 character name. */
export const OWNER_WIDTH = 80;

export interface KeyOwner {
  /** Stored with each key; part of every unique key on it. */
  readonly id: string;
  /** May read the rows of LEGACY_OWNER. */
  readonly seesLegacy: boolean;
}

const LEGACY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The owner of the keys a call uses. `onBehalfOf` is the raw header value; naming a principal
 * needs `adminScope`, since such a caller could act for any of them (a `member.admin` app can
 * already read every legacy app's signing secret).
 */
export function keyOwner(call: { readonly app: App; readonly onBehalfOf: string | undefined }, adminScope: Scope): KeyOwner {
  const admin = call.app.scopes.has(adminScope);
  if (call.onBehalfOf === undefined) {
    if (call.app.id === LEGACY_OWNER) throw new InternalError('an app without an id');
    return { id: call.app.id, seesLegacy: admin };
  }
  if (!admin) throw new PermissionDeniedError(adminScope);
  if (!LEGACY_NAME.test(call.onBehalfOf)) {
    throw commonErrors.invalid(ON_BEHALF_OF_HEADER, 'must be 1..64 letters, digits, "_", "." or "-"');
  }
  // A legacy principal is not allowed to see everything, whoever relays it.
  return { id: `legacy:${call.onBehalfOf}`, seesLegacy: false };
}
