/**
 * Domain errors know nothing of gRPC or HTTP: they carry a gRPC-neutral kind, a stable reason
 * and optional legacy code. The edges (rpc middleware, REST bridge) translate them.
 *
 * An area binds its name once (`export const errors = areaErrors('points')` in its errors.ts)
 * and raises through that binding: `errors.invalid(field, problem)`, `errors.keyReused(field)`,
 * and its own failures as one-line classes, `class XError extends errors.define({...}) {}`.
 */
import { legacyCodes, type Area, type Reason, type ReasonIn } from '@huodong/clients/reasons';

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

/** Who raises an error: the platform ('common') or a business area; its domain is `huodong.<area>`. */
export type ErrorArea = Exclude<Area, 'bridge'>;

export type ErrorMetadata = Readonly<Record<string, string>>;

export interface DomainErrorInit {
  readonly kind: ErrorKind;
  /** Stable UPPER_SNAKE reason sent to callers; the list is @huodong/clients/reasons. */
  readonly reason: Reason;
  readonly area: ErrorArea;
  readonly message: string;
  /** Defaults to the seed's code for this area and reason (`legacyCodes`), if it has one. */
  readonly legacyCode?: number | string;
  readonly metadata?: ErrorMetadata;
  /** Kept for the log, never sent. */
  readonly cause?: unknown;
}

const seedCodes: Partial<Record<string, Readonly<Record<string, number>>>> = legacyCodes;

export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly reason: Reason;
  readonly area: ErrorArea;
  readonly legacyCode: string | undefined;
  readonly metadata: ErrorMetadata;

  constructor(init: DomainErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.kind = init.kind;
    this.reason = init.reason;
    this.area = init.area;
    const legacyCode = init.legacyCode ?? seedCodes[init.area]?.[init.reason];
    this.legacyCode = legacyCode === undefined ? undefined : String(legacyCode);
    this.metadata = init.metadata ?? {};
  }
}

/** Thrown when a request field is missing or malformed; names the field. */
export class InvalidArgumentError extends DomainError {
  readonly field: string;

  constructor(init: { readonly field: string; readonly problem: string; readonly area?: ErrorArea }) {
    const { field } = init;
    super({ kind: 'INVALID_ARGUMENT', reason: 'INVALID_ARGUMENT', area: init.area ?? 'common', message: `${field}: ${init.problem}`, metadata: { field } });
    this.field = field;
  }
}

/** Thrown when the caller presents no valid app token. */
export class UnauthenticatedError extends DomainError {
  constructor(message = 'a valid app token is required') {
    super({ kind: 'UNAUTHENTICATED', reason: 'UNAUTHENTICATED', area: 'common', message });
  }
}

/** Thrown when the app lacks the scope an RPC needs. */
export class PermissionDeniedError extends DomainError {
  constructor(readonly scope: string) {
    super({ kind: 'PERMISSION_DENIED', reason: 'SCOPE_MISSING', area: 'common', message: `this app lacks the "${scope}" scope`, metadata: { scope } });
  }
}

/** Thrown when a lock could not be had within its short wait; the caller may retry. */
export class LockBusyError extends DomainError {
  constructor(init: { readonly area?: ErrorArea } = {}) {
    super({ kind: 'ABORTED', reason: 'LOCK_BUSY', area: init.area ?? 'common', message: 'the resource is busy, retry shortly' });
  }
}

/** Thrown when a backing store (database, Redis) cannot be reached. */
export class UnavailableError extends DomainError {
  constructor(init: { readonly what: string; readonly cause?: unknown }) {
    super({ kind: 'UNAVAILABLE', reason: 'STORE_UNAVAILABLE', area: 'common', message: `${init.what} is unavailable, retry later`, cause: init.cause });
  }
}

/** Thrown when a caller key is replayed with different parameters. */
export class IdempotencyKeyReusedError extends DomainError {
  constructor(init: { readonly field: string; readonly area?: ErrorArea }) {
    const { field } = init;
    super({
      kind: 'ALREADY_EXISTS',
      reason: 'IDEMPOTENCY_KEY_REUSED',
      area: init.area ?? 'common',
      message: `${field} was already used with different parameters`,
      metadata: { field },
    });
  }
}

/** Thrown when a concurrent writer got in between and outlived the retries; the caller may retry. */
export class ConflictError extends DomainError {
  constructor(init: { readonly message: string; readonly area?: ErrorArea; readonly cause?: unknown }) {
    super({ kind: 'ABORTED', reason: 'CONFLICT', area: init.area ?? 'common', message: init.message, cause: init.cause });
  }
}

/** Thrown when the call's deadline passed before its answer. */
export class DeadlineExceededError extends DomainError {
  constructor() {
    super({ kind: 'DEADLINE_EXCEEDED', reason: 'DEADLINE_EXCEEDED', area: 'common', message: 'deadline exceeded' });
  }
}

/** Stands for a failure the caller is told nothing about (its cause goes to the log only). */
export class InternalError extends DomainError {
  constructor(message = 'internal error') {
    super({ kind: 'INTERNAL', reason: 'INTERNAL', area: 'common', message });
  }
}

/** One failure of an area: its kind and reason, and its message and metadata, fixed or from the class's arguments. */
export interface ErrorSpec<A extends ErrorArea, Args extends unknown[]> {
  readonly kind: ErrorKind;
  readonly reason: ReasonIn<A>;
  readonly message: string | ((...args: Args) => string);
  readonly metadata?: ErrorMetadata | ((...args: Args) => ErrorMetadata);
}

/** The errors of one area, its name bound once. */
export interface AreaErrors<A extends ErrorArea> {
  /** The area's name, as errors and log lines carry it. */
  readonly area: A;
  /** A bad request field (INVALID_ARGUMENT). */
  readonly invalid: (field: string, problem: string) => InvalidArgumentError;
  /** A lock wait that ran out; pass it as `withLock`'s `busy`. */
  readonly lockBusy: () => LockBusyError;
  /** A caller key replayed with other parameters. */
  readonly keyReused: (field: string) => IdempotencyKeyReusedError;
  /** A concurrent writer won; retry. */
  readonly conflict: (message: string) => ConflictError;
  /**
   * The base of one of the area's own error classes, which is then one line:
   * `export class PrizeSoldOutError extends errors.define({ kind, reason, message }) {}`.
   * The class takes the arguments its `message` and `metadata` functions take.
   */
  define<Args extends unknown[] = []>(spec: ErrorSpec<A, Args>): new (...args: Args) => DomainError;
}

export function areaErrors<A extends ErrorArea>(area: A): AreaErrors<A> {
  return {
    area,
    invalid: (field, problem) => new InvalidArgumentError({ area, field, problem }),
    lockBusy: () => new LockBusyError({ area }),
    keyReused: (field) => new IdempotencyKeyReusedError({ area, field }),
    conflict: (message) => new ConflictError({ area, message }),
    define<Args extends unknown[]>(spec: ErrorSpec<A, Args>): new (...args: Args) => DomainError {
      const { kind, reason, message, metadata } = spec;
      return class extends DomainError {
        constructor(...args: Args) {
          super({
            kind,
            reason,
            area,
            message: typeof message === 'string' ? message : message(...args),
            metadata: typeof metadata === 'function' ? metadata(...args) : metadata,
          });
        }
      };
    },
  };
}

/** The platform's own errors (domain `huodong.common`). */
export const commonErrors = areaErrors('common');
