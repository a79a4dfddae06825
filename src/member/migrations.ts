import type { Migration } from '../platform/db.js';
import { releasedRoutineMigration, routineMigration } from '../platform/routines.js';
import {
  createTablesMigration,
  exactTextMigration,
  keepLegacyRows,
  keyOwnersMigration,
  plainIndex,
  primaryKey,
  uniqueKey,
} from '../platform/schema.js';
import { PAY_ORDER } from './routines.js';

export const T = {
  users: 'member_users',
  journal: 'member_journal',
  orders: 'member_orders',
  requests: 'member_requests',
  tasks: 'member_tasks',
  progress: 'member_task_progress',
  targets: 'member_task_targets',
  grades: 'member_grades',
  switches: 'member_api_switches',
  legacyApps: 'member_legacy_apps',
} as const;

/**
 * member_orders.status. ORDER_UNPAID is an order refused for lack of c-points: that refusal is
 * the order id's final answer (since 2026-12-02; before, a later call could pay it).
 */
export const ORDER_UNPAID = 1;
export const ORDER_CONSUMED = 2;
export const ORDER_REVOKED = 3;

export const migrations: readonly Migration[] = [
  createTablesMigration('20261122000200_create_member_users', {
    [T.users]: (t) => {
      t.string('uid', 64).primary();
      // Hundredths; never written from a value computed in application code.
      t.bigInteger('cpoint').notNullable().defaultTo(0);
      t.bigInteger('score').notNullable().defaultTo(0);
      t.integer('grade').notNullable().defaultTo(0);
      t.bigInteger('updated_at').notNullable();
      // ListUsersSorted walks one of these; uid breaks ties so pages are stable.
      t.index(['score', 'uid'], 'member_users_score_uid');
      t.index(['cpoint', 'uid'], 'member_users_cpoint_uid');
      t.index(['grade', 'uid'], 'member_users_grade_uid');
    },
  }),
  createTablesMigration('20261122000201_create_member_journal', {
    [T.journal]: (t) => {
      t.bigIncrements('id').primary();
      t.string('uid', 64).notNullable();
      t.bigInteger('amount').notNullable();
      t.bigInteger('score').notNullable().defaultTo(0);
      t.bigInteger('balance_after').notNullable();
      t.string('kind', 16).notNullable();
      t.string('ref', 160).notNullable();
      t.string('source', 64).notNullable();
      t.string('operator', 64).notNullable().defaultTo('');
      t.string('note', 255).notNullable().defaultTo('');
      t.bigInteger('created_at').notNullable();
      // One journal row per order payment, refund, admin request or task request.
      t.unique(['kind', 'ref'], { indexName: 'member_journal_kind_ref' });
      t.index(['uid', 'id'], 'member_journal_uid_id');
    },
  }),
  createTablesMigration('20261122000202_create_member_orders', {
    [T.orders]: (t) => {
      t.bigIncrements('id').primary();
      t.string('order_id', 128).notNullable().unique({ indexName: 'member_orders_order_id' });
      t.string('uid', 64).notNullable();
      t.bigInteger('cpoint').notNullable();
      // ORDER_UNPAID, ORDER_CONSUMED or ORDER_REVOKED
      t.tinyint('status').notNullable();
      t.bigInteger('revoked_cpoint').notNullable().defaultTo(0);
      t.bigInteger('balance_after').nullable();
      t.bigInteger('created_at').notNullable();
      t.bigInteger('updated_at').notNullable();
      t.index(['uid', 'id'], 'member_orders_uid_id');
    },
  }),
  createTablesMigration('20261122000203_create_member_requests', {
    [T.requests]: (t) => {
      t.string('kind', 16).notNullable();
      t.string('request_id', 160).notNullable();
      t.string('fingerprint', 512).notNullable();
      t.text('response').notNullable();
      t.bigInteger('created_at').notNullable();
      t.primary(['kind', 'request_id']);
    },
  }),
  createTablesMigration('20261122000204_create_member_tasks', {
    [T.tasks]: (t) => {
      t.integer('id').primary();
      t.string('op', 64).notNullable().unique({ indexName: 'member_tasks_op' });
      t.string('name', 128).notNullable();
      t.string('desc', 512).notNullable();
      t.bigInteger('score').notNullable();
      t.bigInteger('cpoint').notNullable();
      t.string('step_score', 2048).notNullable();
      t.string('step_cpoint', 2048).notNullable();
      t.integer('status').notNullable();
      t.bigInteger('s_time').notNullable();
      t.bigInteger('e_time').notNullable();
      t.integer('s_grade').notNullable();
      t.integer('e_grade').notNullable();
      t.integer('batch').notNullable();
      t.integer('repeat').notNullable();
      t.integer('r_flag').notNullable();
      t.integer('r_ratio').notNullable();
      t.integer('r_count').notNullable();
      t.bigInteger('r_cpoint').notNullable();
      t.bigInteger('r_score').notNullable();
      t.integer('r_filter').notNullable();
      t.integer('r_step').notNullable();
      t.bigInteger('u_time').notNullable();
    },
    [T.progress]: (t) => {
      t.string('uid', 64).notNullable();
      t.integer('task_id').notNullable();
      // The cycle number; ALL_TIME (store.ts) holds the all-time totals.
      t.bigInteger('cycle').notNullable();
      t.bigInteger('count').notNullable().defaultTo(0);
      t.bigInteger('cpoint').notNullable().defaultTo(0);
      t.bigInteger('score').notNullable().defaultTo(0);
      t.primary(['uid', 'task_id', 'cycle']);
    },
    [T.targets]: (t) => {
      t.string('uid', 64).notNullable();
      t.integer('task_id').notNullable();
      t.bigInteger('cycle').notNullable();
      t.string('target', 128).notNullable();
      t.primary(['uid', 'task_id', 'cycle', 'target']);
    },
    [T.grades]: (t) => {
      t.integer('grade').primary();
      t.bigInteger('score').notNullable();
    },
  }),
  createTablesMigration('20261122000205_create_member_api_switches', {
    [T.switches]: (t) => {
      t.string('method', 64).primary();
      t.boolean('closed').notNullable();
      t.string('updated_by', 64).notNullable();
      t.bigInteger('updated_at').notNullable();
    },
    [T.legacyApps]: (t) => {
      t.string('app_name', 64).primary();
      t.string('secret', 64).notNullable();
      t.boolean('admin').notNullable();
      t.bigInteger('created_at').notNullable();
    },
  }),
  releasedRoutineMigration('20261122000206_create_member_pay_order_procedure', [
    new URL('./sql/released/20261122000206_member_pay_order.sql', import.meta.url),
  ]),
  exactTextMigration('20261202000210_member_exact_text', Object.values(T)),
  routineMigration('20261202070000_recreate_member_routines', [PAY_ORDER]),
  // Orders, request ids and journal refs belong to an owner; rows from before are LEGACY_OWNER.
  keyOwnersMigration(
    '20261202080000_add_member_key_owners',
    [
      {
        table: T.orders,
        drop: [uniqueKey(['order_id'], 'member_orders_order_id')],
        add: [uniqueKey(['owner', 'order_id'], 'member_orders_owner_order_id'), plainIndex(['owner', 'uid', 'id'], 'member_orders_owner_uid_id')],
      },
      { table: T.journal, drop: [uniqueKey(['kind', 'ref'], 'member_journal_kind_ref')], add: [uniqueKey(['owner', 'kind', 'ref'], 'member_journal_owner_kind_ref')] },
      { table: T.requests, drop: [primaryKey(['kind', 'request_id'])], add: [primaryKey(['owner', 'kind', 'request_id'])] },
    ],
    // Keys two owners share cannot go back to one unique key: only the legacy rows are kept.
    keepLegacyRows([T.orders, T.journal, T.requests]),
  ),
  // member_pay_order with owners, and its refusal stored as the order's final answer.
  routineMigration('20261202080100_recreate_member_routines', [PAY_ORDER]),
];
