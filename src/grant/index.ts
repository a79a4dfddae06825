import type { Area } from '../platform/area.js';
import { grantBridge } from './bridge.js';
import { migrations } from './migrations.js';
import { routines } from './routines.js';
import { grantRpc } from './rpc.js';
import { GrantService, type GrantOptions } from './service.js';
import { GrantStore } from './store.js';
import { startGrantWorker } from './worker.js';

/** The grant area; options tune the background worker (tests delay it to simulate a crash). */
export function createGrantArea(options: GrantOptions = {}): Area {
  return {
    name: 'grant',
    migrations,
    routines,
    create: ({ db, locks, clock, logger }) => {
      const service = new GrantService(new GrantStore(db.knex), locks, clock, logger.child({ area: 'grant' }), options);
      return {
        services: [grantRpc(service)],
        start: () => Promise.resolve(startGrantWorker(service, logger.child({ area: 'grant', component: 'worker' }))),
      };
    },
    bridge: grantBridge,
    bridgeCredential: 'bearer',
  };
}

export const grantArea: Area = createGrantArea();
