/**
 * The member area's domain types: what the store answers and the service, the rules and the
 * RPC layer speak. Amounts are hundredths (money.ts). Column names stay in store.ts.
 */

/** From the `from`-th completion on, each completion is worth `value` hundredths. */
export interface Step {
  readonly from: number;
  readonly value: number;
}

export interface Task {
  readonly id: number;
  readonly op: string;
  readonly name: string;
  readonly desc: string;
  /** Experience per completion, hundredths. */
  readonly score: number;
  /** c-points per completion, hundredths. */
  readonly cpoint: number;
  readonly stepScore: readonly Step[];
  readonly stepCpoint: readonly Step[];
  /** 0 open, 1 closed. */
  readonly status: number;
  /** Unix seconds; 0 = no bound. */
  readonly sTime: number;
  readonly eTime: number;
  /** -1 = open. */
  readonly sGrade: number;
  readonly eGrade: number;
  readonly batch: number;
  readonly repeat: number;
  /** 0 none, 1 days, 2 weeks. */
  readonly rFlag: number;
  readonly rRatio: number;
  /** -1 = unlimited. */
  readonly rCount: number;
  /** Hundredths per cycle; -1 = unlimited. */
  readonly rCpoint: number;
  readonly rScore: number;
  readonly rFilter: number;
  readonly rStep: number;
  readonly uTime: number;
}

export interface Grade {
  readonly grade: number;
  /** Experience needed, hundredths. */
  readonly score: number;
}

/** A member's balances, in hundredths, and grade. */
export interface User {
  readonly uid: string;
  readonly cpoint: number;
  readonly score: number;
  readonly grade: number;
}

/** An order paid in c-points; amounts in hundredths, times in Unix seconds. */
export interface CpointOrder {
  readonly id: number;
  readonly orderId: string;
  readonly uid: string;
  readonly cpoint: number;
  /** ORDER_UNPAID, ORDER_CONSUMED or ORDER_REVOKED (migrations.ts). */
  readonly status: number;
  readonly revokedCpoint: number;
  readonly balanceAfter: number | undefined;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** An operator kill switch of one RPC. */
export interface ApiSwitch {
  readonly method: string;
  readonly closed: boolean;
  readonly updatedBy: string;
  readonly updatedAt: number;
}

/** A legacy app that signs member requests with its secret. */
export interface LegacyApp {
  readonly appName: string;
  readonly secret: string;
  readonly admin: boolean;
}

/** Who moved value, for the journal. */
export interface Actor {
  readonly source: string;
  readonly operator: string;
  readonly note: string;
}
