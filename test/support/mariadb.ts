/**
 * A MariaDB of the test's own (its own data directory and port), for tests that kill the
 * database mid-call: the suite's shared MariaDB is never touched.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const run = promisify(execFile);

export interface PrivateMariadb {
  /** mysql://root@127.0.0.1:<port>/huodong */
  readonly url: string;
  /** SIGKILL: the server dies mid-statement, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same data and port, and waits until it answers. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  destroy(): Promise<void>;
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

export async function startPrivateMariadb(): Promise<PrivateMariadb> {
  const dir = mkdtempSync(join(tmpdir(), 'huodong-own-mariadb-'));
  const root = process.getuid?.() === 0 ? ['--user=root'] : [];
  await run('mariadb-install-db', ['--no-defaults', `--datadir=${dir}/data`, ...root, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve']);
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
  const start = async (): Promise<void> => {
    const server = spawn(
      'mariadbd',
      ['--no-defaults', `--datadir=${dir}/data`, `--socket=${dir}/mysql.sock`, `--pid-file=${dir}/mariadb.pid`, `--port=${port}`, '--bind-address=127.0.0.1', ...root, '--skip-name-resolve', '--skip-log-bin', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci', '--innodb-buffer-pool-size=64M', '--innodb-flush-log-at-trx-commit=2', '--skip-performance-schema'],
      { stdio: 'ignore' },
    );
    child = server;
    for (let i = 0; i < 600 && !(await ping()); i += 1) {
      if (server.exitCode !== null) throw new Error(`mariadbd exited with ${server.exitCode}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!(await ping())) throw new Error('mariadbd did not answer');
  };
  const kill = async (): Promise<void> => {
    const server = child;
    if (server === undefined || server.exitCode !== null) return;
    const gone = new Promise((r) => server.once('exit', r));
    server.kill('SIGKILL');
    await gone;
  };
  await start();
  const admin = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' });
  await admin.query('CREATE DATABASE IF NOT EXISTS huodong CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci');
  await admin.end();
  return {
    url: `mysql://root@127.0.0.1:${port}/huodong`,
    kill,
    start,
    async destroy() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
