/**
 * `npm run bench -- flood`: gRPC GetCpoint p50 in the server process, quiet and while 8 senders
 * post 1 MiB urlencoded forms of 200,000 keys without a token to the REST bridge of the same
 * process: once to a Bearer route (refused before the body is read) and once to a signed
 * member route (its credential is in the body, so the form is counted against the field cap).
 * Prints each p50 and its ratio to the quiet one (the aim: under 2x).
 *
 * Env: BENCH_DURATION_MS (default 5000), BENCH_CONCURRENCY (default 8: latency, not throughput),
 * MYSQL_URL / REDIS_URL from scripts/bench.sh.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createClients } from '@huodong/clients';
import { freshMysqlDatabase } from '../test/support/app.js';
import { freePort, runLoad, startChild, stopChild, type Result } from './lib.js';

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 5000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SENDERS = 8;
const KEYS = 200_000;

/** 200,000 pairs `xyz=` in 1,000,000 bytes: under the 1 MiB body limit, so it is not a 413. */
function floodForm(): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < KEYS; i++) parts.push(`${(i % 46_656).toString(36).padStart(3, '0')}=`);
  return Buffer.from(parts.join('&'));
}

function post(port: number, path: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/** Runs SENDERS loops posting `body` to `path` until stopped; answers the status counts. */
function flood(port: number, path: string, body: Buffer): { stop(): Promise<Map<number, number>> } {
  let running = true;
  const statuses = new Map<number, number>();
  const loops = Array.from({ length: SENDERS }, async () => {
    while (running) {
      const status = await post(port, path, body);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return statuses;
    },
  };
}

async function main(): Promise<void> {
  const db = await freshMysqlDatabase();
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const token = `bench-${randomBytes(16).toString('hex')}`;
  const env = {
    ...process.env,
    MYSQL_URL: db.url,
    HUODONG_GRPC_HOST: '127.0.0.1',
    HUODONG_GRPC_PORT: String(grpcPort),
    HUODONG_HTTP_PORT: String(httpPort),
    HUODONG_DEV: '1',
    HUODONG_DEV_TOKEN: token,
    HUODONG_JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  const clients = createClients({ address: `127.0.0.1:${grpcPort}`, token });
  const server = await startChild(process.execPath, ['--import', 'tsx', 'src/main.ts'], env, async () => {
    await clients.member.getCpoint({ uid: 'ready' });
    return true;
  });
  const load = { concurrency, durationMs, warmupMs: Math.min(2000, durationMs / 2) };
  const getCpoint = (i: number): Promise<unknown> => clients.member.getCpoint({ uid: `flood-${i % 1000}` });
  const body = floodForm();
  const rows: Array<{ result: Result; statuses?: Map<number, number> }> = [];
  try {
    const quiet = await runLoad('GetCpoint, quiet', load, getCpoint);
    rows.push({ result: quiet });
    for (const [label, path] of [
      ['Bearer route /points/getUserPoints', '/points/getUserPoints'],
      ['signed member route /cm/inner/user/getCpoint', '/cm/inner/user/getCpoint'],
    ] as const) {
      const sending = flood(httpPort, path, body);
      const result = await runLoad(`GetCpoint, 8 senders of 1 MiB / 200k-key forms to the ${label}`, load, getCpoint);
      rows.push({ result, statuses: await sending.stop() });
    }
    const base = quiet.p50Ms;
    process.stdout.write(`\nflood bench: GetCpoint at concurrency ${concurrency}, ${durationMs} ms each, ${SENDERS} senders, ${body.length} bytes, ${KEYS} keys\n\n`);
    process.stdout.write('| load | GetCpoint req/s | p50 ms | p99 ms | p50 vs quiet | flood answers |\n| --- | --- | --- | --- | --- | --- |\n');
    for (const { result, statuses } of rows) {
      const answers = statuses === undefined ? '' : [...statuses].map(([s, n]) => `${n} x ${s}`).join(', ');
      process.stdout.write(
        `| ${result.name} | ${result.rps.toFixed(0)} | ${result.p50Ms.toFixed(2)} | ${result.p99Ms.toFixed(2)} | ${(result.p50Ms / base).toFixed(2)}x | ${answers} |\n`,
      );
    }
  } finally {
    clients.close();
    await stopChild(server);
    await db.drop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`flood bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
