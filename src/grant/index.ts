import type { Area } from '../platform/area.js';
import { grantBridge } from './bridge.js';
import { migrations } from './migrations.js';
import { routines } from './routines.js';
import { grantRpc } from './rpc.js';
import { GrantService } from './service.js';
import { GrantStore } from './store.js';
import { startGrantWorker } from './worker.js';

export const grantArea: Area = {
  name: 'grant',
  migrations,
  routines,
  create: ({ db, clock, locks, logger }) => {
    const store = new GrantStore(db);
    const service = new GrantService({ store, clock, locks, logger });
    return {
      services: [grantRpc(service)],
      start: () => Promise.resolve(startGrantWorker({ service, logger })),
    };
  },
  bridge: grantBridge,
  bridgeCredential: 'bearer',
};
