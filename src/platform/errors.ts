/**
 * Domain errors know nothing of gRPC or HTTP: they carry a gRPC-neutral kind, a stable reason
 * and optional legacy code. The edges (rpc middleware, REST bridge) translate them.
 */
import type { Reason } from '@huodong/clients/reasons';

export type ErrorKind =
  | 'INVALID_ARGUMENT'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL';

export interface DomainErrorOptions {
  readonly legacyCode?: number | string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

export class DomainError extends Error {
  readonly legacyCode: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;

  constructor(
    readonly kind: ErrorKind,
    /** Stable UPPER_SNAKE reason sent to callers; the list is @huodong/clients/reasons. */
    readonly reason: Reason,
    /** The area raising it, e.g. "userdata"; becomes the domain "huodong.userdata". */
    readonly area: string,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.legacyCode = options.legacyCode === undefined ? undefined : String(options.legacyCode);
    this.metadata = options.metadata ?? {};
  }
}

/** Thrown when a request field is missing or malformed; names the field. */
export class InvalidArgumentError extends DomainError {
  constructor(
    readonly field: string,
    problem: string,
    area = 'common',
    options: DomainErrorOptions = {},
  ) {
    super('INVALID_ARGUMENT', 'INVALID_ARGUMENT', area, `${field}: ${problem}`, {
      ...options,
      metadata: { field, ...options.metadata },
    });
  }
}

/** Thrown when the caller presents no valid app token. */
export class UnauthenticatedError extends DomainError {
  constructor(message = 'a valid app token is required') {
    super('UNAUTHENTICATED', 'UNAUTHENTICATED', 'common', message);
  }
}

/** Thrown when the app lacks the scope an RPC needs. */
export class PermissionDeniedError extends DomainError {
  constructor(readonly scope: string) {
    super('PERMISSION_DENIED', 'SCOPE_MISSING', 'common', `this app lacks the "${scope}" scope`, {
      metadata: { scope },
    });
  }
}

/** Thrown when a lock could not be had within its short wait; the caller may retry. */
export class LockBusyError extends DomainError {
  constructor(area: string, legacyCode?: number) {
    super('ABORTED', 'LOCK_BUSY', area, 'the resource is busy, retry shortly', {
      ...(legacyCode === undefined ? {} : { legacyCode }),
    });
  }
}

/** Thrown when a backing store (database, Redis) cannot be reached. */
export class UnavailableError extends DomainError {
  constructor(what: string, cause?: unknown) {
    super('UNAVAILABLE', 'STORE_UNAVAILABLE', 'common', `${what} is unavailable, retry later`, {
      cause,
    });
  }
}

/** Thrown when a caller key is replayed with different parameters. */
export class IdempotencyKeyReusedError extends DomainError {
  constructor(area: string, field: string) {
    super(
      'ALREADY_EXISTS',
      'IDEMPOTENCY_KEY_REUSED',
      area,
      `${field} was already used with different parameters`,
      { metadata: { field } },
    );
  }
}
