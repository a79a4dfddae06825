import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ConfigError, loadConfig, MAX_TOKEN_LENGTH } from '../../../src/platform/config.js';

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('defaults to the embedded store in dev mode on :50051 and :8080 in Asia/Shanghai', () => {
    const config = loadConfig({});
    expect(config).to.include({ grpcPort: 50051, httpPort: 8080, timeZone: 'Asia/Shanghai', dev: true, logLevel: 'info' });
    expect(config.mysqlUrl).to.equal(undefined);
    expect(config.redisUrls).to.deep.equal([]);
  });

  it('takes MySQL and several Redlock nodes; MySQL alone is not dev mode', () => {
    const config = loadConfig({ MYSQL_URL: 'mysql://u:p@db:3306/huodong', REDIS_URL: 'redis://a:6379, redis://b:6379' });
    expect(config.redisUrls).to.deep.equal(['redis://a:6379', 'redis://b:6379']);
    expect(config.dev).to.equal(false);
  });

  it('names every bad variable at once', () => {
    const found = problems({
      HUODONG_GRPC_PORT: '70000',
      HUODONG_HTTP_PORT: 'abc',
      MYSQL_URL: 'postgres://x',
      REDIS_URL: 'not a url',
      HUODONG_TZ: 'Mars/Olympus',
      LOG_LEVEL: 'loud',
      HUODONG_DEV_TOKEN: 'short',
    });
    for (const name of ['HUODONG_GRPC_PORT', 'HUODONG_HTTP_PORT', 'MYSQL_URL', 'REDIS_URL', 'HUODONG_TZ', 'LOG_LEVEL', 'HUODONG_DEV_TOKEN']) {
      expect(found.some((p) => p.startsWith(name)), name).to.equal(true);
    }
  });

  const production = { NODE_ENV: 'production', MYSQL_URL: 'mysql://u:p@db:3306/huodong', HUODONG_JWT_SECRET: 'q8W2m4Zr7Tn1Yx5Kp3Lc9Vb6Hd0Fs2Ja' };

  it('never runs dev mode in production', () => {
    expect(problems({ ...production, HUODONG_DEV: '1' })).to.deep.equal(['HUODONG_DEV=1 is refused when NODE_ENV=production']);
    expect(loadConfig(production).dev).to.equal(false);
  });

  it('reads NODE_ENV without regard to case: Production is production, so no dev mode', () => {
    for (const NODE_ENV of ['Production', 'PRODUCTION', ' production ']) {
      const config = loadConfig({ ...production, NODE_ENV });
      expect(config.production, NODE_ENV).to.equal(true);
      expect(config.dev, NODE_ENV).to.equal(false);
      expect(problems({ ...production, NODE_ENV, HUODONG_DEV: '1' })[0]).to.match(/HUODONG_DEV=1 is refused/);
    }
    // the embedded store with nothing said is dev mode only outside production
    expect(loadConfig({ NODE_ENV: 'Production', HUODONG_STORE: 'sqlite', HUODONG_JWT_SECRET: production.HUODONG_JWT_SECRET }).dev).to.equal(false);
  });

  it('refuses a production start without MYSQL_URL unless the embedded store is asked for, and without HUODONG_JWT_SECRET', () => {
    const found = problems({ NODE_ENV: 'production' });
    expect(found.some((p) => p.startsWith('MYSQL_URL is required when NODE_ENV=production'))).to.equal(true);
    expect(found.some((p) => p.startsWith('HUODONG_JWT_SECRET is required when NODE_ENV=production'))).to.equal(true);
    expect(problems({ NODE_ENV: 'Production', HUODONG_JWT_SECRET: production.HUODONG_JWT_SECRET })).to.have.length(1);
    const embedded = loadConfig({ NODE_ENV: 'production', HUODONG_STORE: 'sqlite', HUODONG_JWT_SECRET: production.HUODONG_JWT_SECRET });
    expect(embedded.mysqlUrl).to.equal(undefined);
    expect(problems({ HUODONG_STORE: 'sqlite', MYSQL_URL: production.MYSQL_URL })[0]).to.match(/^HUODONG_STORE=sqlite contradicts MYSQL_URL/);
    expect(problems({ HUODONG_STORE: 'postgres' })[0]).to.match(/^HUODONG_STORE must be sqlite or mysql/);
    // outside production nothing changes: the embedded store and no secret are the dev default
    expect(loadConfig({}).jwtSecret).to.equal(undefined);
  });

  it('refuses weak secrets, naming the variable', () => {
    const weak: Array<[string, RegExp]> = [
      ['a'.repeat(16), /HUODONG_DEV_TOKEN is too weak: it uses only 1 distinct character /],
      ['ab'.repeat(12), /HUODONG_DEV_TOKEN is too weak: it uses only 2 distinct characters/],
      ['abcdefgh'.repeat(2), /HUODONG_DEV_TOKEN is too weak: it is one short sequence repeated/],
      ['aaaaaaaaaaabcdef', /HUODONG_DEV_TOKEN is too weak: it has too little entropy \(about \d+ bits/],
    ];
    for (const [token, message] of weak) {
      expect(problems({ HUODONG_DEV_TOKEN: token }), token).to.have.length(1);
      expect(problems({ HUODONG_DEV_TOKEN: token })[0], token).to.match(message);
    }
    expect(problems({ HUODONG_JWT_SECRET: 'a'.repeat(32) })[0]).to.match(/^HUODONG_JWT_SECRET is too weak: it uses only 1 distinct character/);
    expect(problems({ HUODONG_JWT_SECRET: 'passwordpasswordpasswordpassword' })[0]).to.match(/^HUODONG_JWT_SECRET is too weak: it is one short/);
    expect(problems({ HUODONG_JWT_SECRET: `${'a'.repeat(25)}bcdefgh` })[0]).to.match(/^HUODONG_JWT_SECRET is too weak: it has too little entropy/);
    // what people really use passes: the README's example, hex and base64url from a CSPRNG
    expect(loadConfig({ HUODONG_DEV_TOKEN: 'devtoken-0123456789abcdef' }).devToken).to.equal('devtoken-0123456789abcdef');
    expect(loadConfig({ HUODONG_DEV_TOKEN: '3f1c2b7a9d0e4f5a' }).devToken).to.equal('3f1c2b7a9d0e4f5a');
    expect(loadConfig({ HUODONG_DEV_TOKEN: 'test-0123456789abcdef0123456789abcdef' }).devToken).to.have.length(37);
    for (let i = 0; i < 200; i++) {
      const hex = randomBytes(16).toString('hex'); // 32 hex characters, the shortest secret allowed
      expect(loadConfig({ HUODONG_JWT_SECRET: hex, HUODONG_DEV_TOKEN: randomBytes(12).toString('base64url') }).jwtSecret).to.equal(hex);
    }
  });

  it('bounds the dev token to what the Bearer format carries', () => {
    expect(problems({ HUODONG_DEV_TOKEN: `${randomBytes(150).toString('hex')}` })[0]).to.equal(
      `HUODONG_DEV_TOKEN must be 16 to ${MAX_TOKEN_LENGTH} characters`,
    );
    expect(problems({ HUODONG_DEV_TOKEN: 'dev token 0123456789abcdef' })[0]).to.equal('HUODONG_DEV_TOKEN must be printable ASCII without spaces');
    expect(problems({ HUODONG_DEV_TOKEN: 'dévtoken-0123456789abcdef' })[0]).to.equal('HUODONG_DEV_TOKEN must be printable ASCII without spaces');
  });
  it('defaults the pool size and cache times, and takes other values', () => {
    expect(loadConfig({})).to.include({
      mysqlPoolMax: 20,
      authCacheTtlMs: 10_000,
      legacyAppCacheTtlMs: 30_000,
      legacyAppMissCacheTtlMs: 5_000,
      memberSwitchCacheTtlMs: 1_000,
      lotteryCacheTtlMs: 1_000,
      metricsPort: undefined,
    });
    const set = loadConfig({
      HUODONG_MYSQL_POOL_MAX: '1',
      HUODONG_AUTH_CACHE_TTL_MS: '0',
      HUODONG_LEGACY_APP_CACHE_TTL_MS: '300000',
      HUODONG_LEGACY_APP_MISS_CACHE_TTL_MS: '0',
      HUODONG_MEMBER_SWITCH_CACHE_TTL_MS: '60000',
      HUODONG_LOTTERY_CACHE_TTL_MS: ' 250 ',
      HUODONG_METRICS_PORT: '9464',
    });
    expect(set).to.include({
      mysqlPoolMax: 1,
      authCacheTtlMs: 0,
      legacyAppCacheTtlMs: 300_000,
      legacyAppMissCacheTtlMs: 0,
      memberSwitchCacheTtlMs: 60_000,
      lotteryCacheTtlMs: 250,
      metricsPort: 9464,
    });
    expect(loadConfig({ HUODONG_METRICS_PORT: '0' }).metricsPort).to.equal(0);
  });

  it('refuses a bad pool size or cache time, naming the variable and its range', () => {
    const ranges: ReadonlyArray<[string, number, number]> = [
      ['HUODONG_MYSQL_POOL_MAX', 1, 1000],
      ['HUODONG_AUTH_CACHE_TTL_MS', 0, 300_000],
      ['HUODONG_LEGACY_APP_CACHE_TTL_MS', 0, 300_000],
      ['HUODONG_LEGACY_APP_MISS_CACHE_TTL_MS', 0, 300_000],
      ['HUODONG_MEMBER_SWITCH_CACHE_TTL_MS', 0, 60_000],
      ['HUODONG_LOTTERY_CACHE_TTL_MS', 0, 60_000],
    ];
    for (const [name, min, max] of ranges) {
      for (const bad of [String(min - 1), String(max + 1), 'ten', '2.5', '1e3', '0x10', '-0', '5s']) {
        const found = problems({ [name]: bad });
        expect(found, `${name}=${bad}`).to.deep.equal([`${name} must be an integer from ${min} to ${max}, got "${bad}"`]);
      }
    }
  });

  it('refuses a bad metrics port, or one the gRPC server or the bridge already uses', () => {
    for (const bad of ['70000', '-1', 'abc', '80.5']) {
      expect(problems({ HUODONG_METRICS_PORT: bad }), bad).to.deep.equal([
        `HUODONG_METRICS_PORT must be an integer port between 0 and 65535, got "${bad}"`,
      ]);
    }
    expect(problems({ HUODONG_METRICS_PORT: '50051' })).to.deep.equal(['HUODONG_METRICS_PORT must differ from the gRPC and HTTP ports, got "50051"']);
    expect(problems({ HUODONG_METRICS_PORT: '8080' })).to.deep.equal(['HUODONG_METRICS_PORT must differ from the gRPC and HTTP ports, got "8080"']);
    expect(problems({ HUODONG_METRICS_PORT: '9000', HUODONG_GRPC_PORT: '9000' })[0]).to.match(/^HUODONG_METRICS_PORT must differ/);
    // the bridge off frees its port
    expect(loadConfig({ HUODONG_METRICS_PORT: '8080', HUODONG_HTTP_PORT: '-1' }).metricsPort).to.equal(8080);
  });

  it('refuses a bad OTLP endpoint or protocol, naming the variable', () => {
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).to.deep.equal(['OTEL_EXPORTER_OTLP_ENDPOINT is not a valid URL']);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' })).to.deep.equal([
      'OTEL_EXPORTER_OTLP_ENDPOINT must use http: or https:, got "grpc:"',
    ]);
    expect(problems({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector' })).to.deep.equal(['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is not a valid URL']);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })[0]).to.match(
      /^OTEL_EXPORTER_OTLP_PROTOCOL must be http\/json or http\/protobuf/,
    );
    // without an endpoint the protocol is not ours to judge
    expect(loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).otlpTracesUrl).to.equal(undefined);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }).otlpTracesUrl).to.equal(
      'https://collector:4318/v1/traces',
    );
  });
});
