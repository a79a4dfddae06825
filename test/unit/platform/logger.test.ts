import { Writable } from 'node:stream';
import { expect } from 'chai';
import { accessLogger, createLogger } from '../../../src/platform/logger.js';

/** The service's logger, writing its lines into `lines` instead of stdout. */
function capture(level: string): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(level, stream), lines };
}

describe('logger', () => {
  it('redacts tokens, authorization and secrets, top level and one level down', () => {
    const { logger, lines } = capture('info');
    logger.info({ token: 't', authorization: 'Bearer t', call: { token: 't', secret: 's' } }, 'whole request');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ token: '[redacted]', authorization: '[redacted]' });
    expect(lines[0]?.call).to.deep.equal({ token: '[redacted]', secret: '[redacted]' });
  });

  it('accessLogger writes to the same stream, in order, with the same level and bindings', () => {
    const { logger, lines } = capture('info');
    const access = accessLogger(logger);
    logger.info('before');
    access.info({ method: '/huodong.member.v1.MemberService/GetCpoint', requestId: 'r-1', code: 'OK' }, 'rpc');
    access.debug({ requestId: 'r-2' }, 'below the level');
    logger.info('after');

    expect(lines.map((l) => l.msg)).to.deep.equal(['before', 'rpc', 'after']);
    expect(lines[1]).to.include({ service: 'huodong', level: 30, method: '/huodong.member.v1.MemberService/GetCpoint', requestId: 'r-1', code: 'OK' });
  });
});
