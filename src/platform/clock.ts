/** Every rule that depends on time reads it from a Clock, so tests can move time at will. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
