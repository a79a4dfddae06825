import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../src/platform/config.js';

describe('config: shutdown delay and lock wait', () => {
  it('defaults to a 2 s shutdown delay and a 2 s lock wait, and takes other values', () => {
    expect(loadConfig({})).to.include({ shutdownDelayMs: 2000, lockWaitMs: 2000 });
    expect(loadConfig({ HUODONG_SHUTDOWN_DELAY_MS: '0', HUODONG_LOCK_WAIT_MS: '15000' })).to.include({ shutdownDelayMs: 0, lockWaitMs: 15000 });
  });

  it('refuses values that are not whole milliseconds, naming the variable', () => {
    for (const bad of ['-1', '1.5', 'soon', '600001']) {
      for (const name of ['HUODONG_SHUTDOWN_DELAY_MS', 'HUODONG_LOCK_WAIT_MS']) {
        try {
          loadConfig({ [name]: bad });
          expect.fail(`${name}=${bad} was accepted`);
        } catch (err) {
          expect(err).to.be.instanceOf(ConfigError);
          expect((err as ConfigError).problems.join('\n')).to.contain(name);
        }
      }
    }
  });
});
