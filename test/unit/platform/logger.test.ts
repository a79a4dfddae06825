import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { accessLogger } from '../../../src/platform/logger.js';

/** A pino logger with the service's redaction, writing its lines into `lines`. */
function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'info', base: { service: 'huodong' }, redact: { paths: ['token', '*.token'], censor: '[redacted]' } }, stream);
  return { logger, lines };
}

describe('accessLogger', () => {
  it('writes to the same stream with the same level and bindings, while the main logger keeps redacting', () => {
    const { logger, lines } = capture();
    const access = accessLogger(logger);
    access.info({ method: '/huodong.member.v1.MemberService/GetCpoint', requestId: 'r-1', code: 'OK' }, 'rpc');
    access.debug({ requestId: 'r-2' }, 'below the level');
    logger.info({ token: 'secret-token', call: { token: 'nested' } }, 'something');

    expect(lines).to.have.length(2);
    expect(lines[0]).to.include({ service: 'huodong', method: '/huodong.member.v1.MemberService/GetCpoint', requestId: 'r-1', code: 'OK', msg: 'rpc' });
    expect(lines[1]).to.include({ token: '[redacted]' });
    expect(lines[1]?.call).to.deep.equal({ token: '[redacted]' });
  });
});
