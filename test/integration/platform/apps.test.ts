import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { createClients, GrpcStatus } from '@huodong/clients';
import { startTestApp } from '../../support/app.js';
import { expectError } from '../../support/errors.js';

const run = promisify(execFile);

describe('apps and credentials', () => {
  it('the operator command creates an app, prints its token once, and stores only its hash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'huodong-cli-'));
    const env = { ...process.env, HUODONG_DATA_DIR: dir, MYSQL_URL: '', REDIS_URL: '', LOG_LEVEL: 'silent' };
    try {
      const created = await run(process.execPath, ['--import', 'tsx', 'src/cli/app.ts', 'create', '--name', 'shop', '--scopes', 'userdata,member'], { env });
      const token = /token \(shown once\): (\S+)/.exec(created.stdout)?.[1];
      expect(token).to.be.a('string');

      const bad = await run(process.execPath, ['--import', 'tsx', 'src/cli/app.ts', 'create', '--name', 'x', '--scopes', 'userdata,root'], { env }).catch(
        (err: { stderr: string; code: number }) => err,
      );
      expect((bad as { code: number }).code).to.equal(1);
      expect((bad as { stderr: string }).stderr).to.contain('unknown scope "root"');

      const t = await startTestApp('sqlite+local', { dataDir: dir, env: { HUODONG_DEV: '0' } });
      try {
        const rows = await t.app.db.knex('huodong_apps').where({ name: 'shop' }).select('token_hash', 'scopes');
        expect(rows).to.have.lengthOf(1);
        expect(JSON.stringify(rows)).to.not.contain(token);
        const shop = createClients({ address: t.grpcAddress, token: token as string });
        expect((await shop.userdata.getActUserData({ actid: '1', openid: 'o' })).cas).to.equal('0');
        shop.close();
        // dev mode off: the test's dev token is not an app
        await expectError(t.clients.userdata.getActUserData({ actid: '1', openid: 'o' }), GrpcStatus.UNAUTHENTICATED);
      } finally {
        await t.stop();
      }
      const removed = await run(process.execPath, ['--import', 'tsx', 'src/cli/app.ts', 'remove', '--name', 'shop'], { env });
      expect(removed.stdout).to.contain('app shop removed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
