/**
 * Work in bounded steps: what the hub does over a million children (grouping a call's ids by
 * owner, building or applying a whole registry slice) written as a generator that yields every
 * `STEP` items, so that it can run to its end at once (`runAll`), or give the event loop a turn
 * whenever the hub's pacer says the current macrotask ran its bound (`paced`, `StepQueue`; see
 * `pacing.ts` for why a node must never hold its loop for seconds). Imports nothing.
 */

/** Items (ids, entries) handled between two looks at the clock. */
export const STEP = 256;

/** The steps of one piece of work: each `next()` does a bounded part of it. */
export type Steps<R = void> = Generator<unknown, R, undefined>;

/** Runs `steps` to their end now (the unpaced form); returns what they return. */
export function runAll<R>(steps: Steps<R>): R {
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}

/**
 * Runs `steps` as far as the bound allows now, the rest after each turn `due` asks for (the
 * pacer's `yieldIfDue`); `done` is called with their result at the end. Undefined when they
 * finished now, else a promise that settles after `done`.
 */
export function paced<R>(
  steps: Steps<R>,
  due: () => Promise<void> | null,
  done: (result: R) => void,
): Promise<void> | undefined {
  for (;;) {
    const r = steps.next();
    if (r.done === true) {
      done(r.value);
      return undefined;
    }
    const turn = due();
    if (turn !== null) return turn.then(() => paced(steps, due, done));
  }
}

/**
 * Jobs of steps run one after another in the order given, each as far as the bound allows, the
 * rest from `setImmediate`: the caller's side of the handle's starts and stops (`Requests`),
 * so that a stop never overtakes the start before it. A job that fits in the bound (a call of a
 * few thousand children) runs to its end before `run` returns.
 */
export class StepQueue {
  private readonly jobs: Steps<unknown>[] = [];
  private scheduled = false;

  /**
   * `due`: whether the current macrotask ran its bound (the pacer's); `failed`: a job threw (a
   * bug: its caller settles its own failures), which must not stall the jobs behind it.
   */
  constructor(
    private readonly due: () => boolean,
    private readonly failed: (err: unknown) => void,
  ) {}

  /** Jobs not finished yet. */
  get length(): number {
    return this.jobs.length;
  }

  /** Runs `job` after the jobs before it, as far as the bound allows now. */
  run(job: Steps<unknown>): void {
    this.jobs.push(job);
    if (this.jobs.length === 1 && !this.scheduled) this.drain();
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    while (this.jobs.length > 0) {
      const job = this.jobs[0]!;
      try {
        if (job.next().done === true) this.jobs.shift();
      } catch (err) {
        this.jobs.shift();
        this.failed(err);
      }
      if (this.jobs.length > 0 && this.due()) {
        this.scheduled = true;
        setImmediate(this.drain);
        return;
      }
    }
  };
}
