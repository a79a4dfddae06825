/** Proto <-> domain for UserDataService; no rules here. */
import { UserDataServiceDefinition } from '../gen/huodong/userdata/v1/userdata.js';
import { defineService, type ServiceRegistration } from '../platform/rpc.js';
import type { UserDataService } from './service.js';

export function userDataRpc(service: UserDataService): ServiceRegistration {
  return defineService({
    definition: UserDataServiceDefinition,
    scopes: { getActUserData: 'userdata', setActUserData: 'userdata' },
    handlers: {
      async getActUserData(request) {
        const doc = await service.get(request.actid, request.openid);
        return { data: doc.data, cas: doc.cas };
      },
      async setActUserData(request) {
        const cas = await service.set(request.actid, request.openid, request.data, request.cas);
        return { cas };
      },
    },
  });
}
