/**
 * The background worker completing recorded (async) claims. It is woken as soon as this
 * instance records a claim, and polls for the rest: claims recorded by other instances and
 * claims whose worker died holding them (their lease runs out, see GrantStore.leaseClaim).
 */
import { randomUUID } from 'node:crypto';
import type { Worker } from '../platform/area.js';
import type { Logger } from '../platform/logger.js';
import { errors } from './errors.js';
import type { GrantService } from './service.js';

const BATCH = 16;
const PURGE_EVERY_MS = 60_000;

export interface GrantWorkerDeps {
  readonly service: GrantService;
  /** The worker logs under `area: grant, component: worker`. */
  readonly logger: Logger;
}

export function startGrantWorker(deps: GrantWorkerDeps): Worker {
  const { service } = deps;
  const logger = deps.logger.child({ area: errors.area, component: 'worker' });
  const { workerStartDelayMs, pollIntervalMs } = service.settings;
  const owner = randomUUID();
  let running = true;
  let ready = false;
  let kicked = false;
  let wake: (() => void) | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
    });

  service.onPending(() => {
    kicked = true;
    if (ready) wake?.();
  });

  const loop = async (): Promise<void> => {
    if (workerStartDelayMs > 0) await sleep(workerStartDelayMs);
    ready = true;
    let lastPurge = 0;
    while (running) {
      kicked = false;
      let found = 0;
      try {
        found = await service.completePending(owner, BATCH);
        if (Date.now() - lastPurge >= PURGE_EVERY_MS) {
          await service.purgeNonces();
          lastPurge = Date.now();
        }
      } catch (err) {
        logger.error({ err }, 'grant worker pass failed');
      }
      if (running && found === 0 && !kicked) await sleep(pollIntervalMs);
    }
  };
  const done = loop();

  return {
    async stop() {
      running = false;
      wake?.();
      await done;
    },
  };
}
