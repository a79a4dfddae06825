import type { Migration } from '../platform/db.js';
import { releasedRoutineMigration, routineMigration } from '../platform/routines.js';
import { createTablesMigration, exactTextMigration } from '../platform/schema.js';
import { GRANT_UNITS } from './routines.js';

export const T = {
  activities: 'grant_activities',
  blocked: 'grant_blocked_identities',
  units: 'grant_sub_activities',
  personCounts: 'grant_person_counts',
  entitlements: 'grant_entitlements',
  nonces: 'grant_nonces',
  claims: 'grant_claims',
} as const;

export const migrations: readonly Migration[] = [
  createTablesMigration('20261122000500_create_grant_activities', {
    [T.activities]: (t) => {
      t.string('id', 32).primary();
      t.string('label', 64).notNullable().unique();
      t.string('name', 128).notNullable();
      t.tinyint('enabled').notNullable();
      t.bigInteger('start_at').notNullable();
      t.bigInteger('end_at').notNullable();
      t.bigInteger('created_at').notNullable();
      t.bigInteger('updated_at').notNullable();
    },
    [T.blocked]: (t) => {
      t.string('activity_id', 32).notNullable();
      t.string('identity', 128).notNullable();
      t.primary(['activity_id', 'identity']);
    },
  }),
  createTablesMigration('20261122000501_create_grant_sub_activities', {
    [T.units]: (t) => {
      t.string('id', 32).primary();
      t.string('activity_id', 32).notNullable().index();
      t.string('name', 128).notNullable();
      t.tinyint('enabled').notNullable();
      t.bigInteger('start_at').nullable();
      t.bigInteger('end_at').nullable();
      t.bigInteger('quota').notNullable();
      // Grants made; only ever moved by `granted = granted + 1 WHERE granted < quota`.
      t.bigInteger('granted').notNullable().defaultTo(0);
      t.integer('per_person_limit').notNullable();
      // JSON: filter rules and products, rewritten whole on save.
      t.text('filters').notNullable();
      t.text('products').notNullable();
      t.bigInteger('seq').notNullable();
      t.bigInteger('created_at').notNullable();
      t.bigInteger('updated_at').notNullable();
    },
    // Per-(unit, identity) grant counter: `count = count + 1 WHERE count < limit`.
    [T.personCounts]: (t) => {
      t.string('sub_activity_id', 32).notNullable();
      t.string('identity', 128).notNullable();
      t.integer('count').notNullable();
      t.primary(['sub_activity_id', 'identity']);
    },
  }),
  createTablesMigration('20261122000502_create_grant_entitlements', {
    [T.entitlements]: (t) => {
      t.bigIncrements('id').primary();
      t.string('identity', 128).notNullable();
      t.string('claim_id', 32).notNullable();
      t.string('activity_id', 32).notNullable();
      t.string('sub_activity_id', 32).notNullable();
      t.string('product_uri', 256).notNullable();
      t.bigInteger('start_at').notNullable();
      t.bigInteger('end_at').notNullable();
      t.tinyint('activate_type').notNullable();
      t.bigInteger('granted_at').notNullable();
      t.index(['identity', 'id']);
      // A claim grants each product of a unit at most once, whatever retries happen.
      t.unique(['claim_id', 'sub_activity_id', 'product_uri']);
    },
  }),
  createTablesMigration('20261122000503_create_grant_claims', {
    [T.nonces]: (t) => {
      t.string('app_id', 36).notNullable();
      t.string('nonce', 128).notNullable();
      t.bigInteger('created_at').notNullable().index();
      t.primary(['app_id', 'nonce']);
    },
    [T.claims]: (t) => {
      t.string('id', 32).primary();
      t.string('app_id', 36).notNullable();
      t.string('identity', 128).notNullable();
      t.string('activity_label', 64).notNullable();
      // JSON of the validated request, so the background worker can complete it.
      t.text('request').notNullable();
      t.string('status', 16).notNullable();
      t.string('result_code', 8).nullable();
      // JSON of the outcome, answered verbatim by GetClaim.
      t.text('outcome', 'mediumtext').nullable();
      t.integer('attempts').notNullable().defaultTo(0);
      t.string('lease_owner', 36).nullable();
      // Epoch ms until which lease_owner holds the claim; a crashed owner's lease runs out.
      t.bigInteger('lease_until').notNullable();
      t.bigInteger('created_at').notNullable();
      t.bigInteger('completed_at').nullable();
      t.index(['status', 'lease_until']);
    },
  }),
  releasedRoutineMigration('20261122000504_create_grant_units_procedure', [
    new URL('./sql/released/20261122000504_grant_units.sql', import.meta.url),
  ]),
  exactTextMigration('20261202000510_grant_exact_text', Object.values(T)),
  routineMigration('20261202070000_recreate_grant_routines', [GRANT_UNITS]),
];
