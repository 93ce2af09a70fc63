// When each recurring poll runs: first runs spread over a bounded start-up, then each task on its own timing; a task never overlaps itself.
import type { Clock } from '../clock.js';

/** Up to this many tasks starting together (a small config) all start within FIRST_POLL_SPREAD_MS. */
export const SMALL_START_COUNT = 50;
/** First polls of a small start are spread over at most this much, so they do not all fire together. */
export const FIRST_POLL_SPREAD_MS = 900;
const MAX_FIRST_POLL_STEP_MS = 50;
/**
 * A larger start goes out at this rate. 50 a second is 5 times the steady rate of 1,000 accounts ×
 * 3 windows at 5m (10 a second): quick, yet never thousands of calls, sockets and promise chains
 * created in one tick (the event loop stays free for scrapes), and, since each window keeps the
 * phase of its first run, the steady polling stays spread the same way. 50 is also where a small
 * start ends, so the step barely changes there (18 ms at 50 tasks, 20 ms at 51).
 */
export const FIRST_POLLS_PER_SECOND = 50;
/**
 * However many tasks start, the last first run is due within this long, and within a quarter of the
 * shortest interval: every first poll is due early in its first interval. 3,000 windows take all of
 * it at 50 a second; more are squeezed closer together.
 */
export const MAX_START_UP_SPREAD_MS = 60_000;
/** setTimeout fires at once beyond 2^31 − 1 ms; a task due later is simply looked at again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The gap between consecutive first runs when `count` tasks start together (at start, or added by
 * one reload), `intervalMs` the shortest interval among them. Up to SMALL_START_COUNT tasks: at most
 * 50 ms apart, all within FIRST_POLL_SPREAD_MS, as small configs always started. More: 1 /
 * FIRST_POLLS_PER_SECOND apart, squeezed so that all are due within min(MAX_START_UP_SPREAD_MS,
 * intervalMs / 4).
 */
export function firstRunStepMs(count: number, intervalMs = Infinity): number {
  if (count <= SMALL_START_COUNT) return Math.min(MAX_FIRST_POLL_STEP_MS, FIRST_POLL_SPREAD_MS / Math.max(1, count));
  const boundMs = Math.min(MAX_START_UP_SPREAD_MS, intervalMs / 4);
  return Math.min(1000 / FIRST_POLLS_PER_SECOND, boundMs / count);
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
  /** When the next run is due, after a run that ended at `nowMs`; `anchorMs` is when its first run was due. */
  nextRunAt(nowMs: number, anchorMs: number): number;
  /** How often the task runs; the shortest in a batch bounds how long its first runs are spread. */
  intervalMs?: number;
  /** Holds the first run back this long beyond its place in the start-up spread (a shard handover). */
  firstRunDelayMs?: number;
};

export type Schedule = {
  /**
   * Adds tasks; once started, their first runs begin at once, spread as firstRunStepMs says (a
   * reload's new tasks by the same rule). A task whose key is in `after` waits for that promise
   * first (the run of the task it replaces).
   */
  add(tasks: readonly Task[], after?: ReadonlyMap<string, Promise<void>>): void;
  /** Stops scheduling a task. Returns its run in progress, if any, for a replacement to wait on. */
  remove(key: string): Promise<void> | undefined;
  has(key: string): boolean;
  /** When the task's next run is due (the clock's ms); undefined while it runs, before start, or with nothing ahead. */
  dueAt(key: string): number | undefined;
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
  /** When the timer fires, while one is set. */
  dueAtMs?: number;
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
    entry.dueAtMs = clock.now() + Math.max(0, delayMs);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      entry.dueAtMs = undefined;
      void runEntry(entry).then(() => {
        if (stopped || entry.removed) return;
        const now = clock.now();
        scheduleIn(entry, entry.task.nextRunAt(now, entry.anchorMs) - now);
      });
    }, Math.min(MAX_TIMER_MS, Math.max(0, delayMs)));
    entry.timer.unref();
  };

  const startFirstRuns = (batch: readonly Entry[]) => {
    const shortestIntervalMs = batch.reduce((shortest, entry) => Math.min(shortest, entry.task.intervalMs ?? Infinity), Infinity);
    const step = firstRunStepMs(batch.length, shortestIntervalMs);
    const now = clock.now();
    batch.forEach((entry, index) => {
      // Anchored where its first run was due, not at `now`: later runs keep the start-up's spread
      // instead of every task's phase-0 slot falling on the same instant one interval later.
      const delay = index * step + (entry.task.firstRunDelayMs ?? 0);
      entry.anchorMs = now + delay;
      scheduleIn(entry, delay);
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

    dueAt(key) {
      const entry = entries.get(key);
      return entry && !entry.running ? entry.dueAtMs : undefined;
    },

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
