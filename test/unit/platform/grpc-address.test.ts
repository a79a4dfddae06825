import { expect } from 'chai';
import { dialAddress, hostPort } from '../../../src/platform/server.js';

describe('gRPC addresses', () => {
  it('dials the host the server is bound to', () => {
    expect(dialAddress('192.0.2.2', 50051)).to.equal('192.0.2.2:50051');
    expect(dialAddress('127.0.0.2', 7)).to.equal('127.0.0.2:7');
    expect(dialAddress('grpc.internal', 7)).to.equal('grpc.internal:7');
    expect(dialAddress('fd00::2', 7)).to.equal('[fd00::2]:7');
    expect(dialAddress('[fd00::2]', 7)).to.equal('[fd00::2]:7');
  });

  it('dials loopback when the server listens on every interface', () => {
    expect(dialAddress('0.0.0.0', 50051)).to.equal('127.0.0.1:50051');
    expect(dialAddress('', 50051)).to.equal('127.0.0.1:50051');
    for (const any of ['::', '[::]', '0:0:0:0:0:0:0:0']) expect(dialAddress(any, 50051), any).to.equal('[::1]:50051');
  });

  it('brackets an IPv6 literal for grpc-js, and nothing else', () => {
    expect(hostPort('::', 0)).to.equal('[::]:0');
    expect(hostPort('[::1]', 0)).to.equal('[::1]:0');
    expect(hostPort('0.0.0.0', 0)).to.equal('0.0.0.0:0');
  });
});
