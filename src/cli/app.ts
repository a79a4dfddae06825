/**
 * `npm run app -- <command>`: operator commands for apps, on the store the environment names
 * (MYSQL_URL, or the embedded file under HUODONG_DATA_DIR).
 */
import { parseArgs } from 'node:util';
import { openStores } from '../app.js';
import { AppStore, parseScopes } from '../platform/auth.js';
import { systemClock } from '../platform/clock.js';
import { ConfigError, loadConfig } from '../platform/config.js';
import { isUniqueViolation } from '../platform/db.js';
import { DomainError } from '../platform/errors.js';
import { ALL_SCOPES } from '../platform/scopes.js';

const USAGE = `usage: npm run app -- <command> [options]

commands:
  create --name NAME --scopes a,b     create an app; prints its token once
  list                                list apps and their scopes
  rotate --name NAME                  give an app a new token (printed once); the old one is refused
  set-scopes --name NAME --scopes a,b replace an app's scopes
  remove --name NAME                  revoke an app

scopes: ${ALL_SCOPES.join(', ')}

A change takes effect at once on this store; a running server that had the app's token cached
sees it within HUODONG_AUTH_CACHE_TTL_MS (10 s by default).
`;

/** A usage mistake: the message and the usage text, no stack. */
class UsageError extends Error {}

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { name: { type: 'string' }, scopes: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
} catch (err) {
  fail(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`, 2);
}
const { positionals, values } = parsed;
const command = positionals[0];
if (values.help === true || command === undefined || command === 'help') {
  process.stdout.write(USAGE);
  process.exit(command === undefined && values.help !== true ? 2 : 0);
}
if (!['create', 'list', 'rotate', 'set-scopes', 'remove'].includes(command)) fail(`unknown command "${command}"\n\n${USAGE}`, 2);

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(`huodong: ${err.message}`, 2);
  throw err;
}

const name = (): string => {
  if (values.name === undefined) throw new UsageError('--name is required');
  return values.name;
};
const scopes = (): ReturnType<typeof parseScopes> => {
  if (values.scopes === undefined) throw new UsageError('--scopes is required');
  return parseScopes(values.scopes);
};

const db = await openStores(config);
const apps = new AppStore(db.knex, systemClock, { devMode: config.dev });
try {
  switch (command) {
    case 'create': {
      const { app, token } = await apps.create(name(), scopes());
      process.stdout.write(`app ${app.name} created with scopes ${[...app.scopes].join(',')}\ntoken (shown once): ${token}\n`);
      break;
    }
    case 'list':
      for (const app of await apps.list()) {
        process.stdout.write(`${app.name}\t${[...app.scopes].join(',')}${app.devOnly === true ? '\tdev-only' : ''}\n`);
      }
      break;
    case 'rotate': {
      const rotated = await apps.rotate(name());
      if (rotated === undefined) throw new UsageError(`no app ${name()}`);
      process.stdout.write(`app ${rotated.app.name} has a new token; the old one is refused\ntoken (shown once): ${rotated.token}\n`);
      break;
    }
    case 'set-scopes': {
      const app = await apps.setScopes(name(), scopes());
      if (app === undefined) throw new UsageError(`no app ${name()}`);
      process.stdout.write(`app ${app.name} now has scopes ${[...app.scopes].join(',')}\n`);
      break;
    }
    case 'remove':
      if (!(await apps.remove(name()))) throw new UsageError(`no app ${name()}`);
      process.stdout.write(`app ${name()} removed\n`);
      break;
  }
} catch (err) {
  // Operator mistakes and refusals are one line; anything else keeps its stack for a bug report.
  const known = err instanceof UsageError || err instanceof DomainError;
  if (isUniqueViolation(err)) process.stderr.write(`an app named ${values.name ?? ''} exists already\n`);
  else process.stderr.write(`${known ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await db.knex.destroy();
}
