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
  create: ({ config, db, clock, locks, logger }) => {
    const service = new LotteryService({
      store: new LotteryStore(db.knex, db.dialect),
      clock,
      locks,
      tokens: new UserTokens(config.jwtSecret, clock, logger),
      timeZone: config.timeZone,
      logger,
      cacheMs: config.lotteryCacheTtlMs,
    });
    return { services: [lotteryRpc(service)] };
  },
  bridge: lotteryBridge,
  // /Activity/add carries a whole activity (rule text up to a TEXT column's 64 KiB, prizes).
  bridgeBodyLimit: 256 * 1024,
};
