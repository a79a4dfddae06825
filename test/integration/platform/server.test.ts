import { connect } from 'node:http2';
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { GrpcStatus } from '@huodong/clients';
import { HealthCheckRequest, HealthCheckResponse, HealthCheckResponse_ServingStatus } from '../../../src/gen/grpc/health/v1/health.js';
import {
  ServerReflectionRequest,
  ServerReflectionResponse,
} from '../../../src/gen/grpc/reflection/v1/reflection.js';
import { SetActUserDataRequest, UserDataServiceDefinition } from '../../../src/gen/huodong/userdata/v1/userdata.js';
import type { Area } from '../../../src/platform/area.js';
import { defineService, type ServiceHandlers } from '../../../src/platform/rpc.js';
import { MAX_RECEIVE_BYTES } from '../../../src/platform/server.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { expectError } from '../../support/errors.js';

function unary<Req, Res>(
  client: grpc.Client,
  path: string,
  encode: (r: Req) => Uint8Array,
  decode: (b: Buffer) => Res,
  request: Req,
  metadata = new grpc.Metadata(),
): Promise<Res> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(path, (r: Req) => Buffer.from(encode(r)), decode, request, metadata, (err, value) =>
      err || value === undefined ? reject(err ?? new Error('empty')) : resolve(value),
    ),
  );
}

const healthCheck = (client: grpc.Client, service = ''): Promise<HealthCheckResponse> =>
  unary(client, '/grpc.health.v1.Health/Check', (r: HealthCheckRequest) => HealthCheckRequest.encode(r).finish(), (b) => HealthCheckResponse.decode(b), { service });

function reflect(client: grpc.Client, request: ServerReflectionRequest): Promise<ServerReflectionResponse> {
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest(
      '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      (r: ServerReflectionRequest) => Buffer.from(ServerReflectionRequest.encode(r).finish()),
      (b: Buffer) => ServerReflectionResponse.decode(b),
    );
    call.on('data', (r: ServerReflectionResponse) => {
      resolve(r);
      call.end();
    });
    call.on('error', reject);
    call.write(request);
  });
}

describe('gRPC server platform', () => {
  let t: TestApp;
  let raw: grpc.Client;
  before(async () => {
    t = await startTestApp('sqlite+local');
    raw = new grpc.Client(t.grpcAddress, grpc.credentials.createInsecure());
  });
  after(async () => {
    raw.close();
    await t.stop();
  });

  it('serves grpc.health.v1 without a token, for the server and each service', async () => {
    expect((await healthCheck(raw)).status).to.equal(HealthCheckResponse_ServingStatus.SERVING);
    expect((await healthCheck(raw, 'huodong.userdata.v1.UserDataService')).status).to.equal(HealthCheckResponse_ServingStatus.SERVING);
  });

  it('serves reflection: lists services and resolves a service to its file with dependencies', async () => {
    const list = await reflect(raw, { host: '', messageRequest: { $case: 'listServices', value: '' } });
    expect(list.messageResponse?.$case).to.equal('listServicesResponse');
    const names = list.messageResponse?.$case === 'listServicesResponse' ? list.messageResponse.value.service.map((s) => s.name) : [];
    expect(names).to.include.members(['huodong.userdata.v1.UserDataService', 'grpc.health.v1.Health']);

    const file = await reflect(raw, {
      host: '',
      messageRequest: { $case: 'fileContainingSymbol', value: 'huodong.userdata.v1.UserDataService' },
    });
    expect(file.messageResponse?.$case).to.equal('fileDescriptorResponse');
    const protos = file.messageResponse?.$case === 'fileDescriptorResponse' ? file.messageResponse.value.fileDescriptorProto : [];
    const text = protos.map((b) => b.toString('latin1')).join('|');
    expect(text).to.contain('huodong/userdata/v1/userdata.proto');
    expect(text).to.contain('google/protobuf/struct.proto');

    const missing = await reflect(raw, { host: '', messageRequest: { $case: 'fileContainingSymbol', value: 'no.such.Symbol' } });
    expect(missing.messageResponse?.$case).to.equal('errorResponse');
  });

  it('refuses a message over 4 MiB with RESOURCE_EXHAUSTED', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${t.token}`);
    const huge = SetActUserDataRequest.fromPartial({ actid: '1', openid: 'big', data: { s: 'x'.repeat(MAX_RECEIVE_BYTES) }, cas: '0' });
    try {
      await unary(raw, '/huodong.userdata.v1.UserDataService/SetActUserData', (r: SetActUserDataRequest) => SetActUserDataRequest.encode(r).finish(), (b) => b, huge, metadata);
      expect.fail('expected RESOURCE_EXHAUSTED');
    } catch (err) {
      expect((err as grpc.ServiceError).code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    }
    expect((await t.clients.userdata.getActUserData({ actid: '1', openid: 'big' })).cas).to.equal('0');
  });

  it('carries ErrorInfo (reason, domain, field) and a generic message for bad input', async () => {
    const e = await expectError(t.clients.userdata.getActUserData({ actid: '0', openid: 'x' }), GrpcStatus.INVALID_ARGUMENT, 'INVALID_ARGUMENT');
    expect(e.domain).to.equal('huodong.userdata');
    expect(e.field).to.equal('actid');
    expect(e.message).to.match(/^actid: /);
  });
});

/**
 * Sends one unary call over plain HTTP/2 with `grpc-timeout: 1n`. grpc-js clients never send a
 * deadline that has already passed (they fail it themselves), but a caller's deadline can run out
 * while its request is on the wire; a nanosecond left is that call, as it reaches the server.
 */
function callWithSpentDeadline(address: string, path: string, message: Uint8Array, token: string): Promise<grpc.status> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${address}`);
    session.on('error', reject);
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': '1n',
      authorization: `Bearer ${token}`,
    });
    let status: string | undefined;
    const statusOf = (headers: Record<string, unknown>): void => {
      const value = headers['grpc-status'];
      if (typeof value === 'string') status = value;
    };
    stream.on('response', statusOf);
    stream.on('trailers', statusOf);
    stream.on('error', reject);
    stream.on('close', () => {
      session.close();
      if (status === undefined) reject(new Error('no grpc-status'));
      else resolve(Number(status) as grpc.status);
    });
    stream.resume();
    stream.end(frame);
  });
}

/** An area serving UserDataService with the given handlers, standing in for the real one. */
function userDataStandIn(name: string, handlers: ServiceHandlers<typeof UserDataServiceDefinition>): Area {
  return {
    name,
    migrations: [],
    create: () => ({
      services: [defineService({ definition: UserDataServiceDefinition, scopes: { getActUserData: 'userdata', setActUserData: 'userdata' }, handlers })],
    }),
  };
}

describe('deadlines', () => {
  it('a call whose deadline has passed when the server takes it up answers DEADLINE_EXCEEDED and runs no handler', async () => {
    const entered: string[] = [];
    // A stand-in area that records every call its handler sees.
    const recording = userDataStandIn('recording', {
      getActUserData: async () => ({ data: {}, cas: '0' }),
      async setActUserData(request) {
        entered.push(request.openid);
        return { cas: '1' };
      },
    });
    const t = await startTestApp('sqlite+local', { areas: [recording] });
    try {
      const late = SetActUserDataRequest.encode({ actid: '1', openid: 'late', data: {}, cas: '-1' }).finish();
      const code = await callWithSpentDeadline(t.grpcAddress, '/huodong.userdata.v1.UserDataService/SetActUserData', late, t.token);
      expect(grpc.status[code]).to.equal('DEADLINE_EXCEEDED');
      // A deadline already spent before sending is failed by the grpc-js client itself.
      await expectError(
        t.clients.userdata.setActUserData({ actid: '1', openid: 'spent', data: {}, cas: '-1' }, { deadlineMs: 0 }),
        GrpcStatus.DEADLINE_EXCEEDED,
      );
      // A call in time afterwards goes the same way (auth, guards, handler): once it is
      // answered, the late one would have reached the handler before it, had it been let in.
      await t.clients.userdata.setActUserData({ actid: '1', openid: 'in-time', data: {}, cas: '-1' });
      expect(entered).to.deep.equal(['in-time']);
    } finally {
      await t.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('goes NOT_SERVING, lets an in-flight call finish, then closes', async () => {
    let entered!: () => void;
    const handlerEntered = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A stand-in area whose read blocks until the test lets it go.
    const slowArea = userDataStandIn('slow', {
      async getActUserData() {
        entered();
        await gate;
        return { data: { drained: true }, cas: '7' };
      },
      setActUserData: async () => ({ cas: '0' }),
    });
    const t = await startTestApp('sqlite+local', { areas: [slowArea] });
    const raw = new grpc.Client(t.grpcAddress, grpc.credentials.createInsecure());
    try {
      const inflight = t.clients.userdata.getActUserData({ actid: '1', openid: 'x' });
      await handlerEntered;
      let closed = false;
      const stopping = t.app.grpc.shutdown(5_000).then(() => (closed = true));
      const health = await healthCheck(raw).then(
        (r) => r.status,
        () => 'refused',
      );
      expect([HealthCheckResponse_ServingStatus.NOT_SERVING, 'refused']).to.include(health);
      expect(closed, 'must wait for the in-flight call').to.equal(false);
      release();
      expect(await inflight).to.deep.equal({ data: { drained: true }, cas: '7' });
      await stopping;
      expect(closed).to.equal(true);
    } finally {
      raw.close();
      await t.stop();
    }
  });
});
