/**
 * The Redis that `npm test` started (scripts/services.sh), which outage tests may stop and
 * start again on the same port. Refuses to run against a Redis named by REDIS_URL.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RedisControl {
  /** Stops Redis at once (SHUTDOWN NOSAVE). */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it answers PING. */
  start(): Promise<void>;
  /** Starts it again if a test left it stopped. */
  restoreIfStopped(): Promise<void>;
}

export function redisControl(): RedisControl {
  const bin = process.env.HUODONG_TEST_REDIS_SERVER_BIN;
  const port = process.env.HUODONG_TEST_REDIS_PORT;
  const dir = process.env.HUODONG_TEST_REDIS_DIR;
  if (!bin || !port || !dir) {
    throw new Error(
      'this test stops and restarts Redis: run it with `npm test` letting scripts/services.sh start Redis ' +
        '(unset REDIS_URL), which exports HUODONG_TEST_REDIS_SERVER_BIN, HUODONG_TEST_REDIS_PORT and HUODONG_TEST_REDIS_DIR',
    );
  }
  const cli = join(dirname(bin), 'redis-cli');
  let stopped = false;
  const ping = async (): Promise<boolean> => {
    try {
      const { stdout } = await run(cli, ['-h', '127.0.0.1', '-p', port, 'ping']);
      return stdout.trim() === 'PONG';
    } catch {
      return false;
    }
  };
  const control: RedisControl = {
    async stop() {
      stopped = true;
      await run(cli, ['-h', '127.0.0.1', '-p', port, 'shutdown', 'nosave']);
    },
    async start() {
      await run(bin, ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--dir', dir, '--pidfile', join(dir, 'redis.pid'), '--logfile', join(dir, 'redis.log')]);
      for (let i = 0; i < 100 && !(await ping()); i += 1) await sleep(100);
      if (!(await ping())) throw new Error('Redis did not come back');
      stopped = false;
    },
    async restoreIfStopped() {
      if (stopped) await control.start();
    },
  };
  return control;
}
