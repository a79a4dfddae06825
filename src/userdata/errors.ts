import { areaErrors } from '../platform/errors.js';

export const errors = areaErrors('userdata');

/** Thrown when SetActUserData's cas is not the stored one (or 0 for an existing document). */
export class CasConflictError extends errors.define({ kind: 'ABORTED', reason: 'CAS_CONFLICT', message: 'the data changed since it was read; read it again and retry', metadata: { field: 'cas' } }) {}
