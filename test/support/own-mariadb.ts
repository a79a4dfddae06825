/**
 * A MariaDB of the test's own (not the one `npm test` shares with every suite), which a test may
 * stop and start again on the same port and data: for outage tests. Uses the binaries that
 * scripts/services.sh installs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function findBin(...candidates: string[]): string {
  for (const c of candidates) {
    for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
      if (existsSync(join(dir, c))) return join(dir, c);
    }
  }
  throw new Error(`none of ${candidates.join(', ')} found: install mariadb-server (npm test does when root)`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface OwnMariadb {
  /** mysql://root@127.0.0.1:<port>/huodong */
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

export async function startOwnMariadb(): Promise<OwnMariadb> {
  const mariadbd = findBin('mariadbd', 'mysqld');
  const installDb = findBin('mariadb-install-db', 'mysql_install_db');
  const dir = mkdtempSync(join(tmpdir(), 'huodong-own-mariadb-'));
  const root = process.getuid?.() === 0 ? ['--user=root'] : [];
  await run(installDb, ['--no-defaults', `--datadir=${join(dir, 'data')}`, ...root, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve']);
  const port = await freePort();
  let child: ChildProcess | undefined;
  const ping = async (): Promise<boolean> => {
    try {
      const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
      await conn.end();
      return true;
    } catch {
      return false;
    }
  };
  const own: OwnMariadb = {
    url: `mysql://root@127.0.0.1:${port}/huodong`,
    async start() {
      child = spawn(
        mariadbd,
        [
          '--no-defaults',
          `--datadir=${join(dir, 'data')}`,
          `--socket=${join(dir, 'mysql.sock')}`,
          `--pid-file=${join(dir, 'mariadb.pid')}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          ...root,
          '--skip-name-resolve',
          '--skip-log-bin',
          '--character-set-server=utf8mb4',
          '--innodb-buffer-pool-size=32M',
          '--innodb-log-file-size=16M',
          '--skip-performance-schema',
        ],
        { stdio: 'ignore' },
      );
      const started = child;
      for (let i = 0; i < 600 && started.exitCode === null; i += 1) {
        if (await ping()) return;
        await sleep(100);
      }
      throw new Error('the test MariaDB did not start');
    },
    async stop() {
      const current = child;
      child = undefined;
      if (current === undefined || current.exitCode !== null) return;
      const exited = new Promise((resolve) => current.once('exit', resolve));
      current.kill('SIGKILL'); // an outage, not a shutdown: connections drop at once
      await exited;
    },
    async destroy() {
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  const admin = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' });
  await admin.query('CREATE DATABASE IF NOT EXISTS huodong CHARACTER SET utf8mb4');
  await admin.end();
  return own;
}
