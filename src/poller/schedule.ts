// When each recurring poll runs: first runs spread over under a second, then each task on its own timing; a task never overlaps itself.
import type { Clock } from '../clock.js';

/** First polls start at once, spread over at most this much so they do not all fire together. */
export const FIRST_POLL_SPREAD_MS = 900;
const MAX_FIRST_POLL_STEP_MS = 50;
/** setTimeout fires at once beyond 2^31 − 1 ms; a task due later is simply looked at again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The gap between consecutive first runs when `count` tasks start together: at most 50 ms, all within 900 ms. */
export function firstRunStepMs(count: number): number {
  return Math.min(MAX_FIRST_POLL_STEP_MS, FIRST_POLL_SPREAD_MS / Math.max(1, count));
}

/**
 * The next slot `anchor + phase + k × interval` (k ≥ 1) that is still ahead of `now`. Slot 0 is
 * skipped on purpose: the first run happens at start instead, so polling it would spend an extra
 * call per window; the price is one gap of up to 2 intervals. Missed slots are skipped, not bunched.
 */
export function nextSlotMs(anchorMs: number, phaseMs: number, intervalMs: number, nowMs: number): number {
  const base = anchorMs + phaseMs;
  const periods = Math.max(1, Math.floor((nowMs - base) / intervalMs) + 1);
  return base + periods * intervalMs;
}

export type Task = {
  readonly key: string;
  /** One run. It must not reject: the task records its own failures. */
  run(): Promise<void>;
  /** When the next run is due, after a run that ended at `nowMs`; `anchorMs` is when the task was first scheduled. */
  nextRunAt(nowMs: number, anchorMs: number): number;
};

export type Schedule = {
  /**
   * Adds tasks; once started, their first runs begin at once, spread as firstRunStepMs says. A
   * task whose key is in `after` waits for that promise first (the run of the task it replaces).
   */
  add(tasks: readonly Task[], after?: ReadonlyMap<string, Promise<void>>): void;
  /** Stops scheduling a task. Returns its run in progress, if any, for a replacement to wait on. */
  remove(key: string): Promise<void> | undefined;
  has(key: string): boolean;
  start(): void;
  /** Stops every timer and waits for the runs in progress. */
  stop(): Promise<void>;
  /** Runs every task now, outside its timing; joins runs already in progress. */
  runAll(): Promise<void>;
  /** True once every task has finished its first run; stays true. */
  ready(): boolean;
};

type Entry = {
  task: Task;
  anchorMs: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  firstDone: boolean;
  removed: boolean;
  /** The run of the task this one replaced, still finishing: the first run waits for it. */
  predecessor?: Promise<void>;
};

export function createSchedule({ clock }: { clock: Clock }): Schedule {
  const entries = new Map<string, Entry>();
  let started = false;
  let stopped = false;
  let wasReady = false;

  /** Runs a task unless it is running already: a task never overlaps itself, not even across a replacement. */
  const runEntry = (entry: Entry): Promise<void> => {
    if (entry.running) return entry.running;
    const predecessor = entry.predecessor ?? Promise.resolve();
    entry.predecessor = undefined;
    const run = predecessor
      .then(() => entry.task.run())
      .finally(() => {
        entry.running = undefined;
        entry.firstDone = true;
      });
    entry.running = run;
    return run;
  };

  const scheduleIn = (entry: Entry, delayMs: number) => {
    // A task with nothing ahead of it (Infinity) waits for the next reload instead.
    if (stopped || entry.removed || !Number.isFinite(delayMs)) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void runEntry(entry).then(() => {
        if (stopped || entry.removed) return;
        const now = clock.now();
        scheduleIn(entry, entry.task.nextRunAt(now, entry.anchorMs) - now);
      });
    }, Math.min(MAX_TIMER_MS, Math.max(0, delayMs)));
    entry.timer.unref();
  };

  const startFirstRuns = (batch: readonly Entry[]) => {
    const step = firstRunStepMs(batch.length);
    const now = clock.now();
    batch.forEach((entry, index) => {
      entry.anchorMs = now;
      scheduleIn(entry, index * step);
    });
  };

  return {
    add(tasks, after) {
      if (stopped) return;
      const batch: Entry[] = [];
      for (const task of tasks) {
        if (entries.has(task.key)) continue;
        const entry: Entry = { task, anchorMs: clock.now(), firstDone: false, removed: false };
        const predecessor = after?.get(task.key);
        if (predecessor) entry.predecessor = predecessor;
        entries.set(task.key, entry);
        batch.push(entry);
      }
      if (started) startFirstRuns(batch);
    },

    remove(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      entry.removed = true;
      if (entry.timer) clearTimeout(entry.timer);
      entries.delete(key);
      return entry.running;
    },

    has: (key) => entries.has(key),

    start() {
      if (started || stopped) return;
      started = true;
      startFirstRuns([...entries.values()]);
    },

    async stop() {
      stopped = true;
      for (const entry of entries.values()) if (entry.timer) clearTimeout(entry.timer);
      await Promise.all([...entries.values()].map((entry) => entry.running));
    },

    async runAll() {
      await Promise.all([...entries.values()].map((entry) => runEntry(entry)));
    },

    ready() {
      if (!wasReady) wasReady = [...entries.values()].every((entry) => entry.firstDone);
      return wasReady;
    },
  };
}
