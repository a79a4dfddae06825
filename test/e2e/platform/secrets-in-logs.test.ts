/**
 * What the server process writes (stdout and stderr) after calls carrying secrets in the places
 * attackers and careless callers put them: malformed Bearer values over gRPC (which grpc-js
 * itself used to print), query strings, the lottery's awardcode, openids, non-ASCII headers.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:http2';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { GetCpointRequest } from '../../../src/gen/huodong/member/v1/member.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** A unary gRPC call with headers exactly as given (grpc-js's client would refuse these). */
function rawGrpc(port: number, headers: Record<string, string>): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const message = Buffer.from(GetCpointRequest.encode({ uid: 'u1' }).finish());
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/huodong.member.v1.MemberService/GetCpoint',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let status: string | undefined;
    const take = (h: Record<string, unknown>): void => {
      if (typeof h['grpc-status'] === 'string') status = h['grpc-status'];
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('data', () => undefined);
    stream.on('error', reject);
    stream.on('close', () => {
      session.close();
      resolve(status);
    });
    stream.end(frame);
  });
}

/** An HTTP request with raw header values (latin1 bytes pass as they are). */
function rawHttp(port: number, method: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('secrets never reach the log', () => {
  it('after malformed Bearer values over gRPC and HTTP, query-string tokens, awardcodes and openids, no secret is in stdout or stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'huodong-logs-'));
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const devToken = `dev-${randomBytes(16).toString('hex')}`;
    const secret = (label: string): string => `${label}${randomBytes(12).toString('hex')}`;
    const secrets = {
      tab: secret('tabsecret'),
      latin: secret('latinsecret'),
      upper: secret('uppersecret'),
      queryToken: secret('querytoken'),
      award: secret('awardcode'),
      openid: secret('openid'),
      bridgeLatin: secret('bridgelatin'),
      bridgeTab: secret('bridgetab'),
      formToken: secret('formtoken'),
    };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        MYSQL_URL: '',
        REDIS_URL: '',
        NODE_ENV: '',
        HUODONG_DATA_DIR: dir,
        HUODONG_GRPC_HOST: '127.0.0.1',
        HUODONG_GRPC_PORT: String(grpcPort),
        HUODONG_HTTP_PORT: String(httpPort),
        HUODONG_DEV_TOKEN: devToken,
        LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('latin1')));
    child.stderr.on('data', (b: Buffer) => (out += b.toString('latin1')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const deadline = Date.now() + 30_000;
      while (!out.includes('huodong started')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }

      // gRPC: each is UNAUTHENTICATED (16)
      expect(await rawGrpc(grpcPort, { authorization: `BEARER\t${secrets.tab}` })).to.equal('16');
      expect(await rawGrpc(grpcPort, { authorization: `Bearer caf\u00e9-${secrets.latin}` })).to.equal('16');
      expect(await rawGrpc(grpcPort, { authorization: `BEARER ${secrets.upper}` })).to.equal('16');

      // HTTP: malformed authorization is 401 in the route's envelope, never 500
      const latin = await rawHttp(httpPort, 'POST', '/userdata/getActUsrdata', {
        authorization: `Bearer caf\u00e9-${secrets.bridgeLatin}`,
        'content-type': 'application/json',
      }, '{"actid":1,"openid":"o"}');
      expect(latin.status).to.equal(401);
      expect(JSON.parse(latin.body)).to.include({ code: 16, reason: 'UNAUTHENTICATED' });
      expect(latin.body).to.not.contain(secrets.bridgeLatin);
      const tab = await rawHttp(httpPort, 'POST', '/points/getUserPoints', { authorization: `Bearer\t${secrets.bridgeTab}` });
      expect(tab.status).to.equal(401);
      const query = await rawHttp(httpPort, 'POST', `/userdata/getActUsrdata?token=${secrets.queryToken}&access_token=${secrets.queryToken}`, {
        authorization: `Bearer ${devToken}`,
        'content-type': 'application/x-www-form-urlencoded',
      }, `actid=1&openid=o-1&token=${secrets.formToken}`);
      expect(query.status).to.equal(200);
      const award = await rawHttp(httpPort, 'GET', `/lottery/info/check?code=nope&awardcode=${secrets.award}`, {});
      expect(award.status).to.be.within(400, 499);
      const enter = await rawHttp(httpPort, 'GET', `/lottery/Activity/index?code=nope&openid=${secrets.openid}`, {});
      expect(enter.status).to.be.within(400, 499);

      child.kill('SIGTERM');
      expect(await exited).to.equal(0);

      for (const [name, value] of Object.entries(secrets)) expect(out, name).to.not.contain(value);
      expect(out).to.not.contain(devToken);
      // and the log still says what happened, on lines of its own kind
      const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const http = lines.filter((l) => l.msg === 'http');
      expect(http.map((l) => l.status)).to.include.members([401, 200]);
      expect(http.find((l) => String(l.path).startsWith('/lottery/info/check'))?.path).to.equal('/lottery/info/check?[redacted]');
      const fromGrpcJs = lines.filter((l) => l.component === 'grpc-js');
      expect(fromGrpcJs.length, 'grpc-js lines go through pino').to.be.greaterThan(0);
      // nothing is printed outside the JSON lines but the dev-mode banner (none here: the token was given)
      const stray = out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
      expect(stray).to.deep.equal([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
