import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { createClients } from '@huodong/clients';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../../src/platform/config.js';
import { createTracing, describeSql } from '../../../src/platform/otel.js';
import type { Tracing } from '../../../src/platform/tracing.js';
import { startTestApp, STORE_KINDS, type TestApp } from '../../support/app.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;
const TRACESTATE = 'vendor=opaque';

const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
const traceOf = (span: ReadableSpan): string => span.spanContext().traceId;
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

/** Waits for spans ended a little after the answer (a lock released in the background). */
async function eventually(check: () => void, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function one(spans: readonly ReadableSpan[], test: (s: ReadableSpan) => boolean, what: string): ReadableSpan {
  const found = spans.filter(test);
  expect(found, `${what} among ${spans.map((s) => s.name).join(', ')}`).to.have.length(1);
  return found[0] as ReadableSpan;
}

/** Clients that send traceparent/tracestate with every call, as an instrumented caller would. */
function tracedCallerClients(address: string, token: string): ReturnType<typeof createClients> {
  const sendContext: grpc.Interceptor = (options, next) =>
    new grpc.InterceptingCall(next(options), {
      start(metadata, listener, proceed) {
        metadata.set('traceparent', TRACEPARENT);
        metadata.set('tracestate', TRACESTATE);
        proceed(metadata, listener);
      },
    });
  return createClients({ address, token, channelOptions: { interceptors: [sendContext] } });
}

for (const store of STORE_KINDS) {
  describe(`tracing [${store}]`, function () {
    let t: TestApp;
    let tracing: Tracing;
    const exporter = new InMemorySpanExporter();
    before(async () => {
      tracing = createTracing({ serviceName: 'huodong-test', exporter, processor: 'simple' });
      t = await startTestApp(store, { tracing });
    });
    after(async () => {
      await t?.stop();
      await tracing?.shutdown();
    });
    beforeEach(() => exporter.reset());

    it('makes a span per RPC, with DB child spans (no bound values) and, on Redis, lock spans', async () => {
      const uid = 'trace-secret-uid';
      await t.clients.member.adminAddCpoint({ requestId: 'trace-add-1', uid, cpoint: '3.50', adminId: 'ops' }, { requestId: 'trace-req-1' });
      const expectLocks = store === 'mysql+redlock';
      await eventually(() => {
        const spans = exporter.getFinishedSpans();
        expect(spans.some((s) => s.name.startsWith('huodong.member.v1.MemberService/'))).to.equal(true);
        if (expectLocks) expect(spans.some((s) => s.name === 'lock release')).to.equal(true);
      });
      const spans = exporter.getFinishedSpans();
      const rpc = one(spans, (s) => s.name === 'huodong.member.v1.MemberService/AdminAddCpoint', 'the RPC span');
      expect(rpc.kind).to.equal(SpanKind.SERVER);
      expect(rpc.attributes).to.deep.include({
        'rpc.system': 'grpc',
        'rpc.service': 'huodong.member.v1.MemberService',
        'rpc.method': 'AdminAddCpoint',
        'rpc.grpc.status_code': grpc.status.OK,
        'huodong.app': 'dev',
        'huodong.request_id': 'trace-req-1',
      });
      expect(rpc.parentSpanContext).to.equal(undefined);
      expect(rpc.resource.attributes['service.name']).to.equal('huodong-test');

      const db = spans.filter((s) => s.attributes['db.system'] === (store === 'mysql+redlock' ? 'mysql' : 'sqlite'));
      expect(db.length).to.be.greaterThan(0);
      for (const span of db) {
        expect(parentOf(span), span.name).to.equal(idOf(rpc));
        expect(traceOf(span)).to.equal(traceOf(rpc));
        expect(span.kind).to.equal(SpanKind.CLIENT);
        expect(span.attributes['db.operation']).to.match(/^[A-Z]+$/);
      }
      // the write itself is there, named by operation and table or procedure
      expect(db.some((s) => /^(INSERT|UPDATE|CALL) /.test(s.name))).to.equal(true);

      const locks = spans.filter((s) => s.name === 'lock acquire' || s.name === 'lock release');
      if (expectLocks) {
        expect(locks.map((s) => s.name).sort()).to.deep.equal(['lock acquire', 'lock release']);
        for (const span of locks) {
          expect(parentOf(span)).to.equal(idOf(rpc));
          expect(span.attributes).to.deep.include({ 'db.system': 'redis', 'huodong.lock': 'member:user' });
        }
        expect(locks.find((s) => s.name === 'lock acquire')?.attributes['huodong.lock.outcome']).to.equal('acquired');
        expect(locks.find((s) => s.name === 'lock release')?.attributes['huodong.lock.outcome']).to.equal('released');
      } else {
        expect(locks).to.deep.equal([]); // in-process locks are not Redis
      }
      // nothing the caller sent as a value reaches a span
      for (const span of spans) expect(JSON.stringify(span.attributes), span.name).not.to.contain(uid);
    });

    it('ends a refused RPC with its code and reason', async () => {
      const stranger = t.clientsWithToken('hd_not-a-real-token-000000000000');
      await stranger.member.getCpoint({ uid: 'x' }).catch(() => undefined);
      const rpc = one(exporter.getFinishedSpans(), (s) => s.name === 'huodong.member.v1.MemberService/GetCpoint', 'the RPC span');
      expect(rpc.attributes['rpc.grpc.status_code']).to.equal(grpc.status.UNAUTHENTICATED);
      expect(rpc.attributes['huodong.app']).to.equal(undefined);
      // the caller's mistake, not the server's fault
      expect(rpc.status.code).to.equal(SpanStatusCode.UNSET);
    });

    it('makes a span per server-streaming RPC too, ended with its code once the stream is done, its queries its children', async () => {
      let pages = 0;
      for await (const _page of t.clients.points.exportExchangesToShip({})) pages += 1;
      expect(pages).to.be.at.most(1);
      await eventually(() => {
        const rpc = one(exporter.getFinishedSpans(), (s) => s.name === 'huodong.points.v1.PointsCenterService/ExportExchangesToShip', 'the stream span');
        expect(rpc.attributes['rpc.grpc.status_code']).to.equal(grpc.status.OK);
        const children = exporter.getFinishedSpans().filter((s) => parentOf(s) === idOf(rpc));
        expect(children.map((s) => s.name).join(','), 'the page query').to.match(/SELECT/i);
      });
    });

    it('makes a span per bridge route whose gRPC call is its child, in the same trace', async () => {
      const response = await fetch(`${t.bridgeUrl}/userdata/getActUsrdata?openid=trace-q`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json', 'x-request-id': 'trace-http-1' },
        body: JSON.stringify({ actid: 1, openid: 'trace-http' }),
      });
      expect(response.status).to.equal(200);
      await eventually(() => expect(exporter.getFinishedSpans().some((s) => s.name === 'POST /userdata/getActUsrdata')).to.equal(true));
      const spans = exporter.getFinishedSpans();
      const route = one(spans, (s) => s.name === 'POST /userdata/getActUsrdata', 'the route span');
      expect(route.kind).to.equal(SpanKind.SERVER);
      expect(route.parentSpanContext).to.equal(undefined);
      expect(route.attributes).to.deep.include({
        'http.request.method': 'POST',
        'http.route': '/userdata/getActUsrdata',
        'url.path': '/userdata/getActUsrdata',
        'http.response.status_code': 200,
        'huodong.request_id': 'trace-http-1',
        'huodong.app': 'dev',
      });
      const path = 'huodong.userdata.v1.UserDataService/GetActUserData';
      const client = one(spans, (s) => s.name === path && s.kind === SpanKind.CLIENT, 'the bridge\'s gRPC call');
      const server = one(spans, (s) => s.name === path && s.kind === SpanKind.SERVER, 'the RPC span');
      expect(parentOf(client)).to.equal(idOf(route));
      expect(parentOf(server)).to.equal(idOf(client));
      expect(server.parentSpanContext?.isRemote).to.equal(true);
      for (const span of [client, server]) expect(traceOf(span)).to.equal(traceOf(route));
      expect(server.attributes['huodong.request_id']).to.equal('trace-http-1');
      // ops routes are not traced
      await fetch(`${t.bridgeUrl}/healthz`);
      expect(exporter.getFinishedSpans().filter((s) => s.name.includes('/healthz'))).to.deep.equal([]);
    });

    it('continues the trace a gRPC caller sends in traceparent, tracestate included', async () => {
      const clients = tracedCallerClients(t.grpcAddress, t.token);
      try {
        await clients.userdata.getActUserData({ actid: '1', openid: 'trace-remote' });
      } finally {
        clients.close();
      }
      const rpc = one(exporter.getFinishedSpans(), (s) => s.name === 'huodong.userdata.v1.UserDataService/GetActUserData', 'the RPC span');
      expect(traceOf(rpc)).to.equal(TRACE_ID);
      expect(rpc.parentSpanContext).to.include({ traceId: TRACE_ID, spanId: PARENT_ID, isRemote: true });
      expect(rpc.spanContext().traceState?.serialize()).to.equal(TRACESTATE);
    });

    it('continues the trace an HTTP caller sends, and passes it on to gRPC', async () => {
      const response = await fetch(`${t.bridgeUrl}/userdata/getActUsrdata`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json', traceparent: TRACEPARENT, tracestate: TRACESTATE },
        body: JSON.stringify({ actid: 1, openid: 'trace-http-remote' }),
      });
      expect(response.status).to.equal(200);
      await eventually(() => expect(exporter.getFinishedSpans().some((s) => s.name === 'POST /userdata/getActUsrdata')).to.equal(true));
      const spans = exporter.getFinishedSpans();
      const route = one(spans, (s) => s.name === 'POST /userdata/getActUsrdata', 'the route span');
      expect(route.parentSpanContext).to.include({ traceId: TRACE_ID, spanId: PARENT_ID, isRemote: true });
      const server = one(
        spans,
        (s) => s.name === 'huodong.userdata.v1.UserDataService/GetActUserData' && s.kind === SpanKind.SERVER,
        'the RPC span',
      );
      expect(traceOf(server)).to.equal(TRACE_ID);
      expect(server.spanContext().traceState?.serialize()).to.equal(TRACESTATE);
    });
  });
}

describe('tracing settings', () => {
  it('is off unless an OTLP endpoint is set, and takes the traces URL and service name from the OTEL_ variables', () => {
    expect(loadConfig({}).otlpTracesUrl).to.equal(undefined);
    expect(loadConfig({}).serviceName).to.equal('huodong');
    const on = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_SERVICE_NAME: 'huodong-eu' });
    expect(on.otlpTracesUrl).to.equal('http://collector:4318/v1/traces');
    expect(on.serviceName).to.equal('huodong-eu');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c:4318/custom' }).otlpTracesUrl).to.equal('https://c:4318/custom');
  });

  it('names the SQL operation and table, never a value', () => {
    expect(describeSql('select `cpoint` from `member_users` where `uid` = ?')).to.deep.equal({ operation: 'SELECT', target: 'member_users' });
    expect(describeSql('insert into `huodong_apps` (`id`) values (?)')).to.deep.equal({ operation: 'INSERT', target: 'huodong_apps' });
    expect(describeSql('CALL member_pay_order(?, ?, ?)')).to.deep.equal({ operation: 'CALL', target: 'member_pay_order' });
  });

  it('sends spans as OTLP over HTTP to <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces, with OTEL_SERVICE_NAME', async () => {
    const posts: Array<{ path: string; body: string }> = [];
    const collector = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        posts.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const address = collector.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const t = await startTestApp('sqlite+local', {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/`, OTEL_SERVICE_NAME: 'huodong-otlp-test' },
      });
      try {
        expect(t.app.tracing).not.to.equal(undefined);
        await t.clients.userdata.getActUserData({ actid: '1', openid: 'otlp' });
      } finally {
        await t.stop(); // sends what is buffered
      }
      expect(posts.map((p) => p.path)).to.include('/v1/traces');
      const sent = posts.map((p) => p.body).join('\n');
      expect(sent).to.contain('huodong.userdata.v1.UserDataService/GetActUserData');
      expect(sent).to.contain('huodong-otlp-test');
    } finally {
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
  });

  it('does not hold a stop more than 2 s for a collector that never answers', async () => {
    const silent = { export: () => undefined, shutdown: () => new Promise<void>(() => undefined) };
    const tracing = createTracing({ serviceName: 'huodong-test', exporter: silent });
    const span = tracing.startRpc('/huodong.test.v1.Test/Call', new grpc.Metadata(), 'r');
    span.end(grpc.status.OK, undefined, undefined);
    const started = Date.now();
    await tracing.shutdown();
    expect(Date.now() - started).to.be.within(1_900, 3_000);
  });

  it('starts no tracing when OTEL_EXPORTER_OTLP_ENDPOINT is unset', async () => {
    const t = await startTestApp('sqlite+local');
    try {
      expect(t.app.tracing).to.equal(undefined);
      expect(t.app.config.otlpTracesUrl).to.equal(undefined);
    } finally {
      await t.stop();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts src/main.ts with every import of an @opentelemetry package refused: the server that
 * serves calls so has loaded none of them. Resolves with its stderr once it exits.
 */
async function runRefusingOtel(env: Record<string, string>, work: (grpcPort: number, httpPort: number, token: string) => Promise<void>): Promise<{ code: number | null; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'huodong-otel-'));
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const token = 'trace-dev-token-0123456789abcdef';
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/support/refuse-otel.mjs', 'src/main.ts'], {
    env: {
      ...process.env,
      MYSQL_URL: '',
      REDIS_URL: '',
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
      HUODONG_DATA_DIR: dir,
      HUODONG_GRPC_HOST: '127.0.0.1',
      HUODONG_GRPC_PORT: String(grpcPort),
      HUODONG_HTTP_PORT: String(httpPort),
      HUODONG_DEV: '1',
      HUODONG_DEV_TOKEN: token,
      HUODONG_SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
      ...env,
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
    while (!stdout.includes('huodong started')) {
      if (child.exitCode !== null) return { code: await exited, stderr };
      if (Date.now() > deadline) throw new Error(`server did not start:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await work(grpcPort, httpPort, token);
    child.kill('SIGTERM');
    return { code: await exited, stderr };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('tracing off loads nothing of OpenTelemetry', () => {
  it('serves RPCs and bridge routes carrying traceparent with every @opentelemetry import refused', async () => {
    const { code, stderr } = await runRefusingOtel({}, async (grpcPort, httpPort, token) => {
      const clients = tracedCallerClients(`127.0.0.1:${grpcPort}`, token);
      try {
        await clients.member.adminAddCpoint({ requestId: 'off-1', uid: 'off', cpoint: '1', adminId: 'ops' });
      } finally {
        clients.close();
      }
      const response = await fetch(`http://127.0.0.1:${httpPort}/userdata/getActUsrdata`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', traceparent: TRACEPARENT },
        body: JSON.stringify({ actid: 1, openid: 'off' }),
      });
      expect(response.status).to.equal(200);
    });
    expect(stderr).not.to.contain('refused to load');
    expect(code).to.equal(0);
  });

  it('(the refusal bites: with an endpoint set the same start fails loading OpenTelemetry)', async () => {
    const { code, stderr } = await runRefusingOtel({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/' }, async () => {
      throw new Error('the server started with @opentelemetry refused');
    });
    expect(code).not.to.equal(0);
    expect(stderr).to.contain('refused to load @opentelemetry/');
  });
});
