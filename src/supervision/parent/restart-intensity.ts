/**
 * Parent's `RestartIntensity` (exported from the root as `ParentRestartIntensity`): the one
 * sliding window of `../restart-intensity.ts` with Parent's rules — a millisecond wall clock
 * (`Date.now`) and a record exactly `maxSeconds` old out of the window — built from the two
 * numbers Parent's options and child specs carry. Imports `../restart-intensity`.
 */
import { RestartIntensity as Window, WALL_CLOCK } from "../restart-intensity.js";

/**
 * "At most `maxRestarts` restarts in `maxSeconds` seconds" by Parent's rules. `record(now)`
 * takes the event's time so one restart is counted with the same stamp parent-wide and per child.
 */
export class RestartIntensity extends Window {
  constructor(maxRestarts: number, maxSeconds: number) {
    super({ maxRestarts, maxSeconds, clock: WALL_CLOCK, dropAtBoundary: true });
  }
}
