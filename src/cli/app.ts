/**
 * `npm run app -- <command>`: operator commands for apps.
 *   create --name shop --scopes member,points   creates an app and prints its token once
 *   list                                         lists apps and scopes
 *   remove --name shop                           revokes an app
 */
import { parseArgs } from 'node:util';
import { openStores } from '../app.js';
import { AppStore, parseScopes } from '../platform/auth.js';
import { systemClock } from '../platform/clock.js';
import { loadConfig } from '../platform/config.js';
import { DomainError } from '../platform/errors.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string' }, scopes: { type: 'string' } },
});

const config = loadConfig();
const db = await openStores(config);
const apps = new AppStore(db.knex, systemClock, { devMode: config.dev });
try {
  switch (positionals[0]) {
    case 'create': {
      if (values.name === undefined) throw new Error('--name is required');
      const { app, token } = await apps.create(values.name, parseScopes(values.scopes ?? ''));
      process.stdout.write(`app ${app.name} created with scopes ${[...app.scopes].join(',')}\ntoken (shown once): ${token}\n`);
      break;
    }
    case 'list':
      for (const app of await apps.list()) {
        process.stdout.write(`${app.name}\t${[...app.scopes].join(',')}${app.devOnly === true ? '\tdev-only' : ''}\n`);
      }
      break;
    case 'remove':
      if (values.name === undefined) throw new Error('--name is required');
      process.stdout.write((await apps.remove(values.name)) ? `app ${values.name} removed\n` : `no app ${values.name}\n`);
      break;
    default:
      throw new Error('usage: npm run app -- create --name NAME --scopes a,b | list | remove --name NAME');
  }
} catch (err) {
  process.stderr.write(`${err instanceof DomainError || err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await db.knex.destroy();
}
