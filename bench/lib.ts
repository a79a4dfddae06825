/** Load generation and reporting shared by every benchmark scenario. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface Result {
  readonly name: string;
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The echo limit measured right before this result, when there is one. */
  readonly echo?: Result;
}

export interface LoadOptions {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}

/** Runs `call(i)` from `concurrency` loops for the duration; i is unique per call. */
export async function runLoad(name: string, options: LoadOptions, call: (i: number) => Promise<unknown>): Promise<Result> {
  let next = 0;
  const loop = async (until: number, latencies: number[] | undefined, errors: { n: number }): Promise<void> => {
    while (Date.now() < until) {
      const started = process.hrtime.bigint();
      try {
        await call(next++);
      } catch {
        errors.n += 1;
      }
      latencies?.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  };
  const warmErrors = { n: 0 };
  const warmUntil = Date.now() + options.warmupMs;
  await Promise.all(Array.from({ length: options.concurrency }, () => loop(warmUntil, undefined, warmErrors)));

  const latencies: number[] = [];
  const errors = { n: 0 };
  const start = Date.now();
  await Promise.all(Array.from({ length: options.concurrency }, () => loop(start + options.durationMs, latencies, errors)));
  const seconds = (Date.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    name,
    requests: latencies.length,
    errors: errors.n,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
  };
}

/**
 * Prints every result against its echo limit (the one measured next to it, else `echo`) and,
 * where a scenario names a raw-SQL limit, against the lower of the two (`limits` maps a
 * scenario to its limit's name).
 */
export function printTable(results: readonly Result[], echo: Result, limits: ReadonlyMap<string, string> = new Map()): void {
  const byName = new Map(results.map((r) => [r.name, r]));
  const percent = (rps: number, of: number): string => `${((rps / of) * 100).toFixed(1)}%`;
  const rows = results.map((r) => {
    const limit = byName.get(limits.get(r.name) ?? '');
    const echoRps = (r.echo ?? echo).rps;
    return [
      r.name,
      r.rps.toFixed(0),
      r.p50Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      echoRps.toFixed(0),
      percent(r.rps, echoRps),
      limit === undefined ? '' : percent(r.rps, Math.min(echoRps, limit.rps)),
      String(r.errors),
    ];
  });
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'echo req/s', 'vs echo', 'vs min(echo, raw SQL)', 'errors'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  process.stdout.write(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts a child process and waits until `ready` resolves (polled). */
export async function startChild(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  ready: () => Promise<boolean>,
  cwd?: string,
): Promise<ChildProcess> {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${command} ${args.join(' ')} exited with ${child.exitCode}`);
    if (await ready().catch(() => false)) return child;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`${command} ${args.join(' ')} did not become ready`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
