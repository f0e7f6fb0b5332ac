/** The one source of "now", so tests can replay published examples at a fixed time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
