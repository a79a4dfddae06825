import type { Area } from '../platform/area.js';
import { pointsBridge } from './bridge.js';
import { DailyJob, DailyJobScheduler } from './job.js';
import { migrations } from './migrations.js';
import { routines } from './routines.js';
import { pointsRpc } from './rpc.js';
import { PointsService } from './service.js';
import { PointsStore } from './store.js';

export const pointsArea: Area = {
  name: 'points',
  migrations,
  routines,
  create: ({ db, clock, locks, logger, config, metrics }) => {
    const store = new PointsStore(db);
    const service = new PointsService({ store, clock, locks, timeZone: config.timeZone });
    const job = new DailyJob({
      store,
      clock,
      locks,
      timeZone: config.timeZone,
      logger,
      onRun: (result, seconds) => {
        if (!result.alreadyFinished) metrics.dailyJob(seconds, Number(result.expiredLots), Number(result.expiredPoints), result.finished);
      },
    });
    return {
      services: [pointsRpc(service, job)],
      start: () => Promise.resolve(new DailyJobScheduler({ job, clock, logger, timeZone: config.timeZone }).start()),
    };
  },
  bridge: pointsBridge,
  bridgeCredential: 'bearer',
};
