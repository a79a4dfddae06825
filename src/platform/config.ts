/**
 * Configuration comes from the environment only, and is validated once at start so a bad
 * variable stops the process with a message naming it instead of failing on first use.
 */
import { join } from 'node:path';

export interface Config {
  readonly grpcHost: string;
  readonly grpcPort: number;
  /** REST bridge port; 0 picks a free port, -1 disables the bridge. */
  readonly httpPort: number;
  readonly mysqlUrl: string | undefined;
  /** Independent Redis masters for Redlock; empty means in-process locks. */
  readonly redisUrls: readonly string[];
  readonly dataDir: string;
  readonly timeZone: string;
  /** Dev mode creates an app with every scope (token printed once, or HUODONG_DEV_TOKEN). */
  readonly dev: boolean;
  readonly devToken: string | undefined;
  readonly jwtSecret: string | undefined;
  readonly logLevel: string;
  /** How long in-flight calls may drain after SIGTERM before the server is closed by force. */
  readonly shutdownGraceMs: number;
  readonly production: boolean;

  // ---- production runtime (issue 17): pool, caches, metrics, health ----
  /** Connections per instance to MySQL (HUODONG_MYSQL_POOL_MAX). */
  readonly mysqlPoolMax: number;
  /** How long a token's app is cached; a removed or re-keyed app is refused elsewhere within this. */
  readonly authCacheTtlMs: number;
  /** Default wait for a held lock before LOCK_BUSY, where a call does not set its own. */
  readonly lockWaitMs: number;
  /** Prometheus metrics on; off makes every recording a no-op and /metrics 404. */
  readonly metrics: boolean;
  /** A port of its own for /metrics, /healthz and /readyz; undefined: only on the bridge's port. */
  readonly metricsPort: number | undefined;
  /** How often the health monitor checks the database and Redis. */
  readonly healthIntervalMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const port = (name: string, fallback: number, min = 0): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > 65535) {
      problems.push(`${name} must be an integer port between ${min} and 65535, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const url = (name: string, raw: string, protocols: readonly string[]): void => {
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
      }
    } catch {
      problems.push(`${name} is not a valid URL`);
    }
  };

  const mysqlUrl = text('MYSQL_URL');
  if (mysqlUrl !== undefined) url('MYSQL_URL', mysqlUrl, ['mysql:']);

  const redisUrls = (text('REDIS_URL') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const redisUrl of redisUrls) url('REDIS_URL', redisUrl, ['redis:', 'rediss:']);

  const timeZone = text('HUODONG_TZ') ?? 'Asia/Shanghai';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    problems.push(`HUODONG_TZ must be an IANA time zone such as Asia/Shanghai, got "${timeZone}"`);
  }

  const logLevel = text('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  const production = text('NODE_ENV') === 'production';
  const devFlag = text('HUODONG_DEV');
  if (devFlag !== undefined && devFlag !== '0' && devFlag !== '1') {
    problems.push(`HUODONG_DEV must be 0 or 1, got "${devFlag}"`);
  }
  // The embedded store is a single-node developer setup, so it is dev mode unless said otherwise.
  const dev = !production && (devFlag === '1' || (devFlag === undefined && mysqlUrl === undefined));
  if (production && devFlag === '1') {
    problems.push('HUODONG_DEV=1 is refused when NODE_ENV=production');
  }

  const devToken = text('HUODONG_DEV_TOKEN');
  if (devToken !== undefined && devToken.length < 16) {
    problems.push('HUODONG_DEV_TOKEN must be at least 16 characters');
  }
  const jwtSecret = text('HUODONG_JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    problems.push('HUODONG_JWT_SECRET must be at least 32 characters');
  }

  const graceRaw = text('HUODONG_SHUTDOWN_GRACE_MS');
  const shutdownGraceMs = graceRaw === undefined ? 10_000 : Number(graceRaw);
  if (!Number.isInteger(shutdownGraceMs) || shutdownGraceMs < 0) {
    problems.push(`HUODONG_SHUTDOWN_GRACE_MS must be a non-negative integer, got "${graceRaw}"`);
  }

  const httpPort = text('HUODONG_HTTP_PORT') === '-1' ? -1 : port('HUODONG_HTTP_PORT', 8080);

  // ---- production runtime (issue 17) ----
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const mysqlPoolMax = integer('HUODONG_MYSQL_POOL_MAX', 20, 1, 1000);
  const authCacheTtlMs = integer('HUODONG_AUTH_CACHE_TTL_MS', 10_000, 0, 300_000);
  const lockWaitMs = integer('HUODONG_LOCK_WAIT_MS', 2_000, 0, 60_000);
  const metricsFlag = text('HUODONG_METRICS');
  if (metricsFlag !== undefined && metricsFlag !== '0' && metricsFlag !== '1') {
    problems.push(`HUODONG_METRICS must be 0 or 1, got "${metricsFlag}"`);
  }
  const grpcPort = port('HUODONG_GRPC_PORT', 50051);
  const metricsPort = text('HUODONG_METRICS_PORT') === undefined ? undefined : port('HUODONG_METRICS_PORT', 0);
  if (metricsPort !== undefined && metricsPort !== 0 && (metricsPort === httpPort || metricsPort === grpcPort)) {
    problems.push(`HUODONG_METRICS_PORT must differ from the gRPC and HTTP ports, got "${metricsPort}"`);
  }
  const healthIntervalMs = integer('HUODONG_HEALTH_INTERVAL_MS', 5_000, 100, 600_000);
  const config: Config = {
    grpcHost: text('HUODONG_GRPC_HOST') ?? '0.0.0.0',
    grpcPort,
    httpPort,
    mysqlUrl,
    redisUrls,
    dataDir: text('HUODONG_DATA_DIR') ?? join(process.cwd(), 'data'),
    timeZone,
    dev,
    devToken,
    jwtSecret,
    logLevel,
    shutdownGraceMs,
    production,
    mysqlPoolMax,
    authCacheTtlMs,
    lockWaitMs,
    metrics: metricsFlag !== '0',
    metricsPort,
    healthIntervalMs,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
