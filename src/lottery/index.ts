import type { Area } from '../platform/area.js';
import { lotteryBridge } from './bridge.js';
import { migrations } from './migrations.js';
import { routines } from './routines.js';
import { lotteryRpc } from './rpc.js';
import { LotteryService } from './service.js';
import { LotteryStore } from './store.js';
import { UserTokens } from './tokens.js';

export const lotteryArea: Area = {
  name: 'lottery',
  migrations,
  routines,
  create: ({ db, clock, locks, logger, config }) => {
    const store = new LotteryStore(db);
    const tokens = new UserTokens({ secret: config.jwtSecret, clock, logger });
    const service = new LotteryService({ store, clock, locks, logger, tokens, timeZone: config.timeZone, cacheMs: config.lotteryCacheTtlMs });
    return { services: [lotteryRpc(service)] };
  },
  bridge: lotteryBridge,
  // /Activity/add carries a whole activity (rule text up to a TEXT column's 64 KiB, prizes).
  bridgeBodyLimit: 256 * 1024,
};
