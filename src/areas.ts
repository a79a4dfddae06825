/** Every business area of huodong. Adding an area means adding its folder and one line here. */
import type { Area } from './platform/area.js';
import { grantArea } from './grant/index.js';
import { lotteryArea } from './lottery/index.js';
import { memberArea } from './member/index.js';
import { pointsArea } from './points/index.js';
import { userDataArea } from './userdata/index.js';

export const areas: readonly Area[] = [userDataArea, memberArea, pointsArea, lotteryArea, grantArea];
