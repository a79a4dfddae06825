import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createClients } from '@huodong/clients';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

describe('the server process (what npm start runs)', () => {
  it('starts with no MySQL or Redis, prints the dev token once, serves, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'huodong-proc-'));
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        MYSQL_URL: '',
        REDIS_URL: '',
        HUODONG_DATA_DIR: dir,
        HUODONG_GRPC_HOST: '127.0.0.1',
        HUODONG_GRPC_PORT: String(grpcPort),
        HUODONG_HTTP_PORT: String(httpPort),
        HUODONG_DEV_TOKEN: '',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const deadline = Date.now() + 30_000;
      while (!/Token \(shown once\):\s+(\S+)/.test(stderr)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const token = /Token \(shown once\):\s+(\S+)/.exec(stderr)?.[1] as string;
      const clients = createClients({ address: `127.0.0.1:${grpcPort}`, token });
      await clients.userdata.setActUserData({ actid: '1', openid: 'p', data: { ok: 1 }, cas: '0' });
      const bridge = await fetch(`http://127.0.0.1:${httpPort}/userdata/getActUsrdata`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ actid: 1, openid: 'p' }),
      });
      expect(await bridge.json()).to.deep.equal({ code: 0, actUsrData: { ok: 1, cas: 1 } });
      clients.close();

      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
      // structured request logs, never the token
      const rpcLine = stdout.split('\n').find((l) => l.includes('"msg":"rpc"'));
      expect(JSON.parse(rpcLine as string)).to.include({ method: '/huodong.userdata.v1.UserDataService/SetActUserData', code: 'OK' });
      expect(stdout).to.not.contain(token);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on bad configuration, naming each variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, HUODONG_GRPC_PORT: 'x', HUODONG_TZ: 'Nowhere/City' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).to.equal(2);
    expect(stderr).to.contain('HUODONG_GRPC_PORT').and.to.contain('HUODONG_TZ');
  });
});
