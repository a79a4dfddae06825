import * as grpc from '@grpc/grpc-js';
import { ErrorInfo, Status } from './gen/huodong/common/v1/error.js';
import type { Domain, LegacyCode, Reason } from './reasons.js';

/** The name of a gRPC status code, e.g. "UNAVAILABLE". */
export type GrpcStatusName = keyof typeof grpc.status;

/**
 * What `HuodongError.reason` can be: a reason of huodong's list, or the status name when the
 * failure carried no ErrorInfo (the connection failed, the deadline passed, the call was
 * cancelled).
 */
export type HuodongReason = Reason | GrpcStatusName;

/** Marks HuodongError instances across copies of this package (its ESM and CommonJS builds). */
const BRAND = Symbol.for('@huodong/clients.HuodongError');

/** Thrown for every failed call: the gRPC status plus the ErrorInfo the server attached. */
export class HuodongError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    /** Stable UPPER_SNAKE reason, e.g. CAS_CONFLICT; the status name when the server sent none. */
    readonly reason: HuodongReason,
    /** e.g. huodong.userdata; empty when the server sent no ErrorInfo. */
    readonly domain: Domain | '',
    /** The legacy system's numeric code, where its seed defines one. */
    readonly legacyCode: LegacyCode | undefined,
    readonly metadata: Readonly<Record<string, string>>,
    options: { readonly cause?: unknown } = {},
  ) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'HuodongError';
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** The request field a bad input named, if any. */
  get field(): string | undefined {
    return this.metadata.field;
  }

  /** Recognises a HuodongError from either build of this package (ESM or CommonJS). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }
}

/** True when `err` is a HuodongError with this reason; a misspelt reason does not compile. */
export function hasReason<R extends HuodongReason>(err: unknown, reason: R): err is HuodongError & { readonly reason: R } {
  return err instanceof HuodongError && err.reason === reason;
}

/** Turns a grpc-js failure into a HuodongError, decoding the ErrorInfo in the status details. */
export function decodeError(err: grpc.ServiceError): HuodongError {
  const [bin] = err.metadata?.get('grpc-status-details-bin') ?? [];
  if (bin instanceof Buffer) {
    try {
      const status = Status.decode(bin);
      const detail = status.details.find((d) => d.typeUrl.endsWith('/huodong.common.v1.ErrorInfo'));
      if (detail !== undefined) {
        const info = ErrorInfo.decode(detail.value);
        // The wire carries strings; a newer server may send a reason this list lacks.
        return new HuodongError(
          err.code,
          err.details,
          info.reason as Reason,
          info.domain as Domain,
          info.metadata.legacy_code as LegacyCode | undefined,
          info.metadata,
        );
      }
    } catch {
      // fall through: a status without a readable detail
    }
  }
  return statusError(err.code, err.details);
}

/** A HuodongError for a failure without ErrorInfo, named after its status. */
export function statusError(code: grpc.status, message: string, cause?: unknown): HuodongError {
  const reason = (grpc.status[code] ?? 'UNKNOWN') as GrpcStatusName;
  return new HuodongError(code, message, reason, '', undefined, {}, cause === undefined ? {} : { cause });
}
