/**
 * Writes the frozen dump of a release for the upgrade test (test/fixtures/release-<commit>.sql):
 * check out the release, run its `npm run migrate` on an empty utf8mb4 database, then
 *   MYSQL_URL=mysql://root@127.0.0.1:PORT/that_db npx tsx test/support/dump-release.ts <commit> > test/fixtures/release-<commit>.sql
 * The dump holds the tables, the applied migrations and the routines that release left.
 */
import { dumpOf } from './schema.js';

const url = process.env.MYSQL_URL;
const commit = process.argv[2];
if (url === undefined || commit === undefined) throw new Error('usage: MYSQL_URL=... tsx test/support/dump-release.ts <commit>');
process.stdout.write(
  await dumpOf(
    url,
    `-- huodong as the release of commit ${commit} left a MySQL database after \`npm run migrate\`:
-- tables, applied migrations and stored routines (definer dropped). Frozen: never edit; the
-- upgrade test (test/integration/platform/upgrade.test.ts) builds the old database from it.
-- Written by test/support/dump-release.ts; readable by the mysql client as well.`,
  ),
);
