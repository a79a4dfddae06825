/**
 * `npm run migrate`: applies pending migrations to the configured store, re-creates every stored
 * routine whose installed definition differs from its file, and exits.
 */
import { prepareStores } from '../app.js';
import { loadConfig } from '../platform/config.js';

const config = loadConfig();
const { db, migrated, recreated } = await prepareStores(config, undefined, { routines: 'repair' });
for (const name of migrated) process.stdout.write(`applied ${name}\n`);
for (const { name, drift } of recreated) process.stdout.write(`re-created routine ${name} (${drift})\n`);
process.stdout.write(`migrations applied (${db.dialect}): ${migrated.length} migrations, ${recreated.length} routines re-created\n`);
await db.knex.destroy();
