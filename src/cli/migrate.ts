/** `npm run migrate`: applies pending migrations to the configured store and exits. */
import { openStores } from '../app.js';
import { loadConfig } from '../platform/config.js';

const config = loadConfig();
const db = await openStores(config);
process.stdout.write(`migrations applied (${db.dialect})\n`);
await db.knex.destroy();
