import type { Area } from '../platform/area.js';
import { memberBridge } from './bridge.js';
import { migrations } from './migrations.js';
import { routines } from './routines.js';
import { memberRpc } from './rpc.js';
import { MemberService } from './service.js';
import { MemberStore } from './store.js';

export const memberArea: Area = {
  name: 'member',
  migrations,
  routines,
  create: ({ db, clock, locks, config }) => {
    const store = new MemberStore(db);
    const service = new MemberService({ store, clock, locks, timeZone: config.timeZone, switchCacheMs: config.memberSwitchCacheTtlMs });
    return { services: [memberRpc(service)], guards: [(method) => service.guard(method)] };
  },
  bridge: memberBridge,
  // Signed forms of a few fields (a batch names at most 100 uids): 64 KiB is ample.
  bridgeBodyLimit: 64 * 1024,
};
