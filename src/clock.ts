// Time as a dependency: production reads the system clock, tests pass their own.

export type Clock = {
  /** Milliseconds since the Unix epoch. */
  now(): number;
};

export const systemClock: Clock = { now: () => Date.now() };
