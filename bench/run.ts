/**
 * `npm run bench`: measures the limits of this machine in the same run (a bare grpc-js echo
 * server, raw SQL on the same database) and then huodong's RPCs, and prints each as a ratio
 * of the echo limit, so the figures survive noisy machines.
 *
 * Env: BENCH_DURATION_MS (default 5000), BENCH_CONCURRENCY (64), BENCH_FILTER (substring of
 * scenario names; several separated by |), BENCH_SERVER_NODE_ARGS (extra node flags for the server, e.g. --cpu-prof).
 * MYSQL_URL / REDIS_URL come from scripts/bench.sh.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createClients } from '@huodong/clients';
import mysql from 'mysql2/promise';
import { DEFAULT_POOL_MAX } from '../src/platform/db.js';
import { freshMysqlDatabase } from '../test/support/app.js';
import { ECHO_CHANNEL_OPTIONS, ECHO_PATH } from './echo.js';
import { freePort, printTable, runLoad, startChild, stopChild, type Result } from './lib.js';
import { reports } from './reports.js';
import { scenarios } from './scenarios.js';

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 5000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 64);
const filters = process.env.BENCH_FILTER?.split('|').filter((f) => f !== '');
const load = { concurrency, durationMs, warmupMs: Math.min(2000, durationMs / 2) };
const tsx = ['--import', 'tsx'];

async function measureEcho(): Promise<Result> {
  const port = await freePort();
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), ECHO_CHANNEL_OPTIONS);
  const payload = Buffer.from(randomBytes(48));
  const echo = (): Promise<Buffer> =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(ECHO_PATH, (b: Buffer) => b, (b: Buffer) => b, payload, (err, value) =>
        err || value === undefined ? reject(err ?? new Error('empty')) : resolve(value),
      ),
    );
  const child = await startChild(process.execPath, [...tsx, 'bench/echo-server.ts', String(port)], process.env, async () => {
    await echo();
    return true;
  });
  try {
    return await runLoad('limit: bare grpc-js echo', load, echo);
  } finally {
    client.close();
    await stopChild(child);
  }
}

/**
 * Waits (at most 30 s) until InnoDB has purged what earlier scenarios left behind, so a
 * scenario is not measured while the database still cleans up after the one before.
 */
async function settle(pool: mysql.Pool): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const [rows] = await pool.query('SHOW ENGINE INNODB STATUS');
    const status = String((rows as Array<{ Status?: unknown }>)[0]?.Status ?? '');
    const history = Number(/History list length (\d+)/.exec(status)?.[1] ?? 0);
    if (history < 1000 || Date.now() > until) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function main(): Promise<void> {
  process.stdout.write(`huodong bench: concurrency ${concurrency}, ${durationMs} ms per scenario\n`);
  const echo = await measureEcho();
  process.stdout.write(`echo: ${echo.rps.toFixed(0)} req/s\n`);

  const db = await freshMysqlDatabase();
  const grpcPort = await freePort();
  const token = `bench-${randomBytes(16).toString('hex')}`;
  const env = {
    ...process.env,
    MYSQL_URL: db.url,
    HUODONG_GRPC_HOST: '127.0.0.1',
    HUODONG_GRPC_PORT: String(grpcPort),
    HUODONG_HTTP_PORT: '-1',
    HUODONG_DEV: '1',
    HUODONG_DEV_TOKEN: token,
    HUODONG_JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
  const clients = createClients({ address: `127.0.0.1:${grpcPort}`, token });
  // The raw-SQL limit gets the same number of connections as the server's pool.
  const pool = mysql.createPool({ uri: db.url, connectionLimit: DEFAULT_POOL_MAX });
  // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the server.
  const serverArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const server = await startChild(process.execPath, [...serverArgs, ...tsx, 'src/main.ts'], env, async () => {
    await clients.userdata.getActUserData({ actid: '1', openid: 'ready' });
    return true;
  });
  const results: Result[] = [echo];
  const limits = new Map<string, string>();
  const reported: string[] = [];
  const ctx = { clients, pool, concurrency };
  try {
    const all = scenarios.flatMap((make) => make(ctx));
    const picked = new Set(all.filter((s) => filters === undefined || filters.some((f) => s.name.includes(f))).flatMap((s) => [s.name, s.limit ?? s.name]));
    for (const scenario of all) {
      if (scenario.limit !== undefined) limits.set(scenario.name, scenario.limit);
      if (!picked.has(scenario.name)) continue;
      const call = await scenario.setup(ctx);
      await settle(pool);
      // The echo limit is measured again next to each scenario, so a machine that slows down
      // or speeds up during a long run does not skew the ratios.
      const adjacentEcho = await measureEcho();
      const result = { ...(await runLoad(scenario.name, load, call)), echo: adjacentEcho };
      process.stdout.write(`${scenario.name}: ${result.rps.toFixed(0)} req/s (echo ${adjacentEcho.rps.toFixed(0)})\n`);
      results.push(result);
    }
    for (const report of reports) {
      if (filters !== undefined && !filters.some((f) => report.name.includes(f))) continue;
      await settle(pool);
      const lines = await report.run(ctx, () => settle(pool));
      reported.push('', ...lines);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  } finally {
    clients.close();
    await pool.end();
    await stopChild(server);
    await db.drop();
  }
  printTable(results, echo, limits);
  if (reported.length > 0) process.stdout.write(`${reported.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
