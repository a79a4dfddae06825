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
  /** After SIGTERM, how long health says NOT_SERVING while calls are still served, before draining. */
  readonly shutdownDelayMs: number;
  /** How long a call waits for a held lock before LOCK_BUSY, unless its area sets its own. */
  readonly lockWaitMs: number;
  readonly production: boolean;
  /** Lottery bridge: enter with a bare openid, no signature (HUODONG_LOTTERY_TRUST_OPENID=1; unsafe). */
  readonly lotteryTrustOpenid: boolean;
  /** Front-end origins the bridge answers CORS requests from, with credentials (HUODONG_CORS_ORIGINS). */
  readonly corsOrigins: readonly string[];
  /** Most simultaneous connections the REST bridge accepts; more are refused at once. */
  readonly httpMaxConnections: number;
  // ---- production runtime (issue 17): pool, caches, metrics, health ----
  /** Connections per instance to MySQL (HUODONG_MYSQL_POOL_MAX). */
  readonly mysqlPoolMax: number;
  /** How long a token's app is cached; a removed or re-keyed app is refused elsewhere within this. */
  readonly authCacheTtlMs: number;
  /** Prometheus metrics on; off makes every recording a no-op and /metrics 404. */
  readonly metrics: boolean;
  /** A port of its own for /metrics, /healthz and /readyz; undefined: only on the bridge's port. */
  readonly metricsPort: number | undefined;
  /** How often the health monitor checks the database and Redis. */
  readonly healthIntervalMs: number;
  /** How long the bridge keeps a legacy app's signing secret; a removed or re-keyed legacy app is refused within this. */
  readonly legacyAppCacheTtlMs: number;
  /** How long the bridge remembers that a legacy app name is unknown; a new legacy app is accepted within this. */
  readonly legacyAppMissCacheTtlMs: number;
  /** How long MemberService's kill switches are cached; a switch set on another instance applies within this. */
  readonly memberSwitchCacheTtlMs: number;
  /** How long a lottery activity's settings are cached; the legacy admin's edits show within this. */
  readonly lotteryCacheTtlMs: number;
  // ---- tracing (OpenTelemetry) ----
  /** Where spans go (OTLP over HTTP); undefined: tracing is off and nothing of it is loaded. */
  readonly otlpTracesUrl: string | undefined;
  /** The service.name of every span (OTEL_SERVICE_NAME). */
  readonly serviceName: string;
}

/** The longest bearer token accepted anywhere (app tokens are 46 characters: `hd_` + 43). */
export const MAX_TOKEN_LENGTH = 256;

/**
 * Why a secret is too guessable, or undefined when it is not: fewer than 6 distinct characters
 * (`aaaa...`, `abab...`), one short sequence repeated, or a Shannon estimate (length x the
 * entropy of its own character frequencies) under `minBits`. A heuristic for obvious mistakes,
 * not a strength meter; the bars are set so a random hex or base64url secret of the minimum
 * length passes (a 16-character random hex token fails about once in 20,000 draws).
 */
export function weakSecretProblem(secret: string, minBits: number): string | undefined {
  const chars = [...secret];
  const counts = new Map<string, number>();
  for (const ch of chars) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  if (counts.size < 6) return `uses only ${counts.size} distinct character${counts.size === 1 ? '' : 's'} (at least 6 are needed)`;
  for (let period = 1; period <= chars.length / 2; period++) {
    if (chars.length % period === 0 && secret === chars.slice(0, period).join('').repeat(chars.length / period)) {
      return 'is one short sequence repeated';
    }
  }
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / chars.length) * Math.log2(n / chars.length);
  const bits = perChar * chars.length;
  if (bits < minBits) return `has too little entropy (about ${Math.floor(bits)} bits estimated, at least ${minBits} are needed)`;
  return undefined;
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

  // `Production` or `PRODUCTION` is production too: a miscased value must never turn dev mode on.
  const production = text('NODE_ENV')?.toLowerCase() === 'production';
  const store = text('HUODONG_STORE')?.toLowerCase();
  if (store !== undefined && store !== 'sqlite' && store !== 'mysql') {
    problems.push(`HUODONG_STORE must be sqlite or mysql, got "${store}"`);
  }
  if (store === 'sqlite' && mysqlUrl !== undefined) problems.push('HUODONG_STORE=sqlite contradicts MYSQL_URL: set one of them');
  if (store === 'mysql' && mysqlUrl === undefined) problems.push('HUODONG_STORE=mysql needs MYSQL_URL');
  // A production start that silently fell back to a local file would lose data on the next deploy.
  if (production && mysqlUrl === undefined && store !== 'sqlite') {
    problems.push('MYSQL_URL is required when NODE_ENV=production (set HUODONG_STORE=sqlite to run on the embedded store on purpose)');
  }
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
  if (devToken !== undefined) {
    if (devToken.length < 16 || devToken.length > MAX_TOKEN_LENGTH) {
      problems.push(`HUODONG_DEV_TOKEN must be 16 to ${MAX_TOKEN_LENGTH} characters`);
    } else if (!/^[\x21-\x7e]+$/.test(devToken)) {
      // It travels in an HTTP/2 header and a Bearer value: printable ASCII, no spaces.
      problems.push('HUODONG_DEV_TOKEN must be printable ASCII without spaces');
    } else {
      const weak = weakSecretProblem(devToken, 32);
      if (weak !== undefined) problems.push(`HUODONG_DEV_TOKEN is too weak: it ${weak}`);
    }
  }
  const jwtSecret = text('HUODONG_JWT_SECRET');
  if (jwtSecret !== undefined) {
    if (jwtSecret.length < 32) problems.push('HUODONG_JWT_SECRET must be at least 32 characters');
    else {
      const weak = weakSecretProblem(jwtSecret, 64);
      if (weak !== undefined) problems.push(`HUODONG_JWT_SECRET is too weak: it ${weak}`);
    }
  } else if (production) {
    // Without it every instance signs user tokens with a key of its own, lost at restart.
    problems.push('HUODONG_JWT_SECRET is required when NODE_ENV=production');
  }

  const maxConnRaw = text('HUODONG_HTTP_MAX_CONNECTIONS');
  const httpMaxConnections = maxConnRaw === undefined ? 1024 : Number(maxConnRaw);
  if (!Number.isInteger(httpMaxConnections) || httpMaxConnections < 1) {
    problems.push(`HUODONG_HTTP_MAX_CONNECTIONS must be a positive integer, got "${maxConnRaw}"`);
  }

  const graceRaw = text('HUODONG_SHUTDOWN_GRACE_MS');
  const shutdownGraceMs = graceRaw === undefined ? 10_000 : Number(graceRaw);
  if (!Number.isInteger(shutdownGraceMs) || shutdownGraceMs < 0) {
    problems.push(`HUODONG_SHUTDOWN_GRACE_MS must be a non-negative integer, got "${graceRaw}"`);
  }

  const millis = (name: string, fallback: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value > max) {
      problems.push(`${name} must be an integer number of milliseconds between 0 and ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const shutdownDelayMs = millis('HUODONG_SHUTDOWN_DELAY_MS', 2_000, 600_000);
  const lockWaitMs = millis('HUODONG_LOCK_WAIT_MS', 2_000, 600_000);

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
  const legacyAppCacheTtlMs = integer('HUODONG_LEGACY_APP_CACHE_TTL_MS', 30_000, 0, 300_000);
  const legacyAppMissCacheTtlMs = integer('HUODONG_LEGACY_APP_MISS_CACHE_TTL_MS', 5_000, 0, 300_000);
  const memberSwitchCacheTtlMs = integer('HUODONG_MEMBER_SWITCH_CACHE_TTL_MS', 1_000, 0, 60_000);
  const lotteryCacheTtlMs = integer('HUODONG_LOTTERY_CACHE_TTL_MS', 1_000, 0, 60_000);

  // ---- tracing: the OpenTelemetry variables, read as OpenTelemetry's SDKs read them ----
  const otlpEndpoint = text('OTEL_EXPORTER_OTLP_ENDPOINT');
  const otlpTracesEndpoint = text('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (otlpEndpoint !== undefined) url('OTEL_EXPORTER_OTLP_ENDPOINT', otlpEndpoint, ['http:', 'https:']);
  if (otlpTracesEndpoint !== undefined) url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', otlpTracesEndpoint, ['http:', 'https:']);
  // The signal's own URL is used as given; the base endpoint gets the traces path appended.
  const otlpTracesUrl = otlpTracesEndpoint ?? (otlpEndpoint === undefined ? undefined : `${otlpEndpoint.replace(/\/+$/, '')}/v1/traces`);
  const otlpProtocol = text('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? text('OTEL_EXPORTER_OTLP_PROTOCOL');
  if (otlpTracesUrl !== undefined && otlpProtocol !== undefined && otlpProtocol !== 'http/json' && otlpProtocol !== 'http/protobuf') {
    problems.push(`OTEL_EXPORTER_OTLP_PROTOCOL must be http/json or http/protobuf (spans are sent as OTLP over HTTP), got "${otlpProtocol}"`);
  }
  const serviceName = text('OTEL_SERVICE_NAME') ?? 'huodong';
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
    shutdownDelayMs,
    lockWaitMs,
    production,
    lotteryTrustOpenid: text('HUODONG_LOTTERY_TRUST_OPENID') === '1',
    corsOrigins: (text('HUODONG_CORS_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter((o) => o !== ''),
    httpMaxConnections,
    mysqlPoolMax,
    authCacheTtlMs,
    metrics: metricsFlag !== '0',
    metricsPort,
    healthIntervalMs,
    legacyAppCacheTtlMs,
    legacyAppMissCacheTtlMs,
    memberSwitchCacheTtlMs,
    lotteryCacheTtlMs,
    otlpTracesUrl,
    serviceName,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
