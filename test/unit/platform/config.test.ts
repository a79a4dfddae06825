import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../src/platform/config.js';

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

  it('never runs dev mode in production', () => {
    expect(problems({ NODE_ENV: 'production', HUODONG_DEV: '1' })[0]).to.match(/HUODONG_DEV=1 is refused/);
    expect(loadConfig({ NODE_ENV: 'production' }).dev).to.equal(false);
  });
});
