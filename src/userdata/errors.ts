import { DomainError } from '../platform/errors.js';

export const AREA = 'userdata';

/** Thrown when SetActUserData's cas is not the stored one (or 0 for an existing document). */
export class CasConflictError extends DomainError {
  constructor(readonly expected: string) {
    super('ABORTED', 'CAS_CONFLICT', AREA, 'the data changed since it was read; read it again and retry', {
      metadata: { field: 'cas' },
    });
  }
}
