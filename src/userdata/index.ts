import type { Area } from '../platform/area.js';
import { userDataBridge } from './bridge.js';
import { migrations } from './migrations.js';
import { userDataRpc } from './rpc.js';
import { UserDataService } from './service.js';
import { UserDataStore } from './store.js';

export const userDataArea: Area = {
  name: 'userdata',
  migrations,
  create: ({ db, clock }) => {
    const store = new UserDataStore(db);
    const service = new UserDataService({ store, clock });
    return { services: [userDataRpc(service)] };
  },
  bridge: userDataBridge,
  bridgeCredential: 'bearer',
};
