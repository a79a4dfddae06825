/**
 * Benchmark scenarios per area. Each gets a running huodong (MySQL + Redis), clients with an
 * all-scope token and a raw mysql2 pool on the same database, and returns what to measure.
 * Adding an area's benchmark means adding its file and one line here.
 */
import type { Clients } from '@huodong/clients';
import type { Pool } from 'mysql2/promise';
import { grantScenarios } from './grant.js';
import { lotteryScenarios } from './lottery.js';
import { memberScenarios } from './member.js';
import { pointsScenarios } from './points.js';
import { userDataScenarios } from './userdata.js';

export interface BenchContext {
  readonly clients: Clients;
  readonly pool: Pool;
  readonly concurrency: number;
}

export interface Scenario {
  readonly name: string;
  /**
   * The name of a raw-SQL limit scenario of the same area: the report then also gives this
   * scenario's throughput against the lower of the echo limit and that one (a BENCH_FILTER
   * that picks this scenario runs its limit too).
   */
  readonly limit?: string;
  /** Prepares data; returns the call to measure, given a unique sequence number. */
  setup(ctx: BenchContext): Promise<(i: number) => Promise<unknown>>;
}

export const scenarios: ReadonlyArray<(ctx: BenchContext) => Scenario[]> = [userDataScenarios, memberScenarios, pointsScenarios, lotteryScenarios, grantScenarios];
