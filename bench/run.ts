/**
 * `npm run bench`: measures the limits of this machine in the same run (a bare grpc-js echo
 * server, raw SQL on the same database) and then huodong's RPCs, and prints each as a ratio
 * of the echo limit, so the figures survive noisy machines.
 *
 * Env: BENCH_DURATION_MS (default 5000), BENCH_CONCURRENCY (64), BENCH_FILTER (substring of
 * scenario names; several separated by |), BENCH_SERVER_NODE_ARGS (extra node flags for the server, e.g. --cpu-prof).
 * BENCH_AB_ENV (e.g. "HUODONG_METRICS=0") runs an A/B instead: two servers on the same
 * database, A as configured and B with those variables, each picked scenario measured in
 * BENCH_AB_ROUNDS (3) alternating rounds per side; it prints the median of each side and the
 * median (and range) of the rounds' A/B ratios.
 * BENCH_AB_DIR (a checkout of another commit, its `npm ci` and `npm run generate` done) runs
 * server B from that checkout instead, on a database of its own (its migrations are its own):
 * before/after a change in one run, the rounds of both sides interleaved.
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

/** Variables for server B, from "A=1 B=2". */
function parseAbEnv(raw: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of raw.split(/\s+/).filter((p) => p !== '')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`BENCH_AB_ENV: "${pair}" is not NAME=value`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function abMain(abEnvRaw: string, abDir: string | undefined): Promise<void> {
  const rounds = Number(process.env.BENCH_AB_ROUNDS ?? 3);
  const overrides = parseAbEnv(abEnvRaw);
  const bLabel = [abDir === undefined ? '' : `server from ${abDir}`, abEnvRaw.trim()].filter((p) => p !== '').join(', ');
  process.stdout.write(`huodong A/B bench: B = ${bLabel}; concurrency ${concurrency}, ${durationMs} ms x ${rounds} rounds per side\n`);
  const db = await freshMysqlDatabase();
  // Another checkout's server gets a database of its own: its migrations are not these.
  const dbB = abDir === undefined ? db : await freshMysqlDatabase();
  const token = `bench-${randomBytes(16).toString('hex')}`;
  const baseEnv = {
    ...process.env,
    HUODONG_GRPC_HOST: '127.0.0.1',
    HUODONG_HTTP_PORT: '-1',
    HUODONG_DEV: '1',
    HUODONG_DEV_TOKEN: token,
    HUODONG_JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
  const pool = mysql.createPool({ uri: db.url, connectionLimit: DEFAULT_POOL_MAX });
  const poolB = dbB === db ? pool : mysql.createPool({ uri: dbB.url, connectionLimit: DEFAULT_POOL_MAX });
  const sides: Array<{ label: string; clients: ReturnType<typeof createClients>; server: Awaited<ReturnType<typeof startChild>>; pool: mysql.Pool }> = [];
  try {
    const plans = [
      { label: 'A', extra: {}, url: db.url, pool, cwd: undefined },
      { label: 'B', extra: overrides, url: dbB.url, pool: poolB, cwd: abDir },
    ];
    for (const { label, extra, url, pool: sidePool, cwd } of plans) {
      const port = await freePort();
      const clients = createClients({ address: `127.0.0.1:${port}`, token });
      // One after the other: both apply migrations to the same database (unless B has its own).
      const env = { ...baseEnv, MYSQL_URL: url, ...extra, HUODONG_GRPC_PORT: String(port) };
      const server = await startChild(process.execPath, [...tsx, 'src/main.ts'], env, async () => {
        await clients.userdata.getActUserData({ actid: '1', openid: 'ready' });
        return true;
      }, cwd);
      sides.push({ label, clients, server, pool: sidePool });
    }
    const perSide = sides.map((side) => scenarios.flatMap((make) => make({ clients: side.clients, pool: side.pool, concurrency })));
    const names = (perSide[0] ?? []).map((s) => s.name).filter((n) => !n.startsWith('limit') && !n.includes(' limit:') && (filters === undefined || filters.some((f) => n.includes(f))));
    const rows: string[] = [];
    for (const name of names) {
      const calls: Array<(i: number) => Promise<unknown>> = [];
      for (const [index, side] of sides.entries()) {
        const scenario = perSide[index]?.find((s) => s.name === name);
        if (scenario === undefined) throw new Error(`no scenario ${name}`);
        calls.push(await scenario.setup({ clients: side.clients, pool: side.pool, concurrency }));
      }
      const results: Result[][] = sides.map(() => []);
      // Each side's sequence numbers go on from round to round, as in one long run: a
      // scenario's keys stay fresh (no replays) and inside the range it seeded.
      const next = sides.map(() => 0);
      for (let round = 0; round < rounds; round += 1) {
        // ABBA order, so a machine that drifts during the round favours neither side.
        const order = round % 2 === 0 ? [0, 1] : [1, 0];
        for (const side of order) {
          const call = calls[side] as (i: number) => Promise<unknown>;
          await settle(pool);
          const result = await runLoad(`${name} [${sides[side]?.label}]`, load, () => call((next[side] = (next[side] ?? 0) + 1) - 1));
          process.stdout.write(`${result.name} round ${round + 1}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, errors ${result.errors}\n`);
          results[side]?.push(result);
        }
      }
      const [a, b] = results.map((r) => ({
        rps: median(r.map((x) => x.rps)),
        p50: median(r.map((x) => x.p50Ms)),
        p99: median(r.map((x) => x.p99Ms)),
        errors: r.reduce((sum, x) => sum + x.errors, 0),
      }));
      if (a === undefined || b === undefined) continue;
      // Each round's A against the B measured next to it: the drift of a shared machine
      // cancels within a pair better than between the two sides' medians.
      const pairs = (results[0] ?? []).map((x, r) => x.rps / (results[1]?.[r]?.rps ?? Number.NaN) - 1);
      const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
      rows.push(
        `| ${name} | ${a.rps.toFixed(0)} | ${b.rps.toFixed(0)} | ${pct(a.rps / b.rps - 1)} | ${pct(median(pairs))} (${pct(Math.min(...pairs))} .. ${pct(Math.max(...pairs))}) | ${a.p50.toFixed(1)} / ${b.p50.toFixed(1)} | ${a.p99.toFixed(1)} / ${b.p99.toFixed(1)} | ${a.errors} / ${b.errors} |`,
      );
    }
    // A failed call counts as a request in req/s: a row with errors is not a measurement.
    process.stdout.write(
      `\n| scenario | A req/s | B req/s (${bLabel}) | A vs B (medians) | A vs B (median of rounds; range) | p50 ms A / B | p99 ms A / B | errors A / B |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n${rows.join('\n')}\n`,
    );
  } finally {
    for (const side of sides) {
      side.clients.close();
      await stopChild(side.server);
    }
    await pool.end();
    await db.drop();
    if (dbB !== db) {
      await poolB.end();
      await dbB.drop();
    }
  }
}

const abEnv = process.env.BENCH_AB_ENV ?? '';
const abDir = process.env.BENCH_AB_DIR === undefined || process.env.BENCH_AB_DIR === '' ? undefined : process.env.BENCH_AB_DIR;
(abEnv.trim() === '' && abDir === undefined ? main() : abMain(abEnv, abDir)).catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
