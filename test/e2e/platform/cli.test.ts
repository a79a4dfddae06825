import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { openStores } from '../../../src/app.js';
import { AppStore } from '../../../src/platform/auth.js';
import { systemClock } from '../../../src/platform/clock.js';
import { loadConfig } from '../../../src/platform/config.js';
import type { Database } from '../../../src/platform/db.js';

const exec = promisify(execFile);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('npm run app (operator CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  let db: Database;
  let apps: AppStore;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, MYSQL_URL: '', REDIS_URL: '', HUODONG_DATA_DIR: dir });
  // What `npm run app -- ...` runs (package.json), without npm's banner.
  const cli = async (...args: string[]): Promise<Run> => {
    try {
      const { stdout, stderr } = await exec(process.execPath, ['scripts/launch.mjs', 'cli/app', ...args], { env: env() });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const tokenOf = (run: Run): string => /token \(shown once\): (\S+)/.exec(run.stdout)?.[1] ?? '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'huodong-cli-'));
    db = await openStores(loadConfig({ HUODONG_DATA_DIR: dir }));
    // No cache: every authenticate reads the store, as another instance would after its TTL.
    apps = new AppStore(db.knex, systemClock, { cacheTtlMs: 0 });
  });
  after(async () => {
    await db?.knex.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints help with every command and no stack trace', async () => {
    const help = await cli('--help');
    expect(help.code).to.equal(0);
    for (const word of ['create', 'list', 'rotate', 'set-scopes', 'remove', 'HUODONG_AUTH_CACHE_TTL_MS']) expect(help.stdout).to.contain(word);
    const bad = await cli('frobnicate');
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('unknown command').and.not.contain('    at ');
    const badOption = await cli('list', '--colour');
    expect(badOption.code).to.equal(2);
    expect(badOption.stderr).to.contain('--colour').and.not.contain('    at ');
    const missing = await cli('rotate');
    expect(missing.code).to.equal(1);
    expect(missing.stderr.trim()).to.equal('--name is required');
  });

  it('rotate gives a new token and the old one is refused; set-scopes replaces the scopes', async () => {
    const created = await cli('create', '--name', 'shop', '--scopes', 'member');
    expect(created.code).to.equal(0);
    const first = tokenOf(created);
    expect((await apps.authenticate(first)).name).to.equal('shop');

    const rotated = await cli('rotate', '--name', 'shop');
    expect(rotated.code, rotated.stderr).to.equal(0);
    const second = tokenOf(rotated);
    expect(second).to.match(/^hd_/);
    expect(second).to.not.equal(first);
    let refused: unknown;
    await apps.authenticate(first).catch((err: unknown) => (refused = err));
    expect(refused).to.have.property('reason', 'UNAUTHENTICATED');
    expect([...(await apps.authenticate(second)).scopes]).to.deep.equal(['member']);

    const scoped = await cli('set-scopes', '--name', 'shop', '--scopes', 'member,points');
    expect(scoped.code, scoped.stderr).to.equal(0);
    expect([...(await apps.authenticate(second)).scopes]).to.deep.equal(['member', 'points']);
    const unknownScope = await cli('set-scopes', '--name', 'shop', '--scopes', 'everything');
    expect(unknownScope.code).to.equal(1);
    expect(unknownScope.stderr).to.contain('unknown scope').and.not.contain('    at ');

    expect((await cli('rotate', '--name', 'nobody')).stderr.trim()).to.equal('no app nobody');
    expect((await cli('create', '--name', 'shop', '--scopes', 'member')).stderr.trim()).to.equal('an app named shop exists already');
  });
});
