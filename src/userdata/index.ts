import type { Area } from '../platform/area.js';
import { userDataBridge } from './bridge.js';
import { migrations } from './migrations.js';
import { userDataRpc } from './rpc.js';
import { UserDataService } from './service.js';
import { UserDataStore } from './store.js';

export const userDataArea: Area = {
  name: 'userdata',
  migrations,
  create: ({ db, clock }) => ({ services: [userDataRpc(new UserDataService(new UserDataStore(db.knex, db.dialect), clock))] }),
  bridge: userDataBridge,
  bridgeCredential: 'bearer',
};
