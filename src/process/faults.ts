/**
 * What `Node.pause`, `resume` and `kill` do beyond each part's own freeze and stop: the timers
 * phase of a resume (every receive and call timeout that fell due during the pause fires, in
 * deadline order, before any process runs), the end of every process of a killed node, and the
 * router a killed node is left with. `Node` orchestrates: the scheduler, the fibers, the timer
 * wheel and the call table each freeze, thaw and stop themselves.
 *
 * Imports `calls`, `id-table`, `proc`, `remote`, `scheduler`, `timer-wheel`.
 */
import type { CallTable } from "./calls.js";
import type { IdTable } from "./id-table.js";
import { type Proc, Status } from "./proc.js";
import type { RemoteRouter } from "./remote.js";
import type { Scheduler } from "./scheduler.js";
import type { TimerWheel } from "./timer-wheel.js";

const never = (): void => {};
/** The router of a killed node: nothing it says leaves it, and it knows no one. */
export const SILENT_ROUTER: RemoteRouter = {
  send: never,
  sendNamed: never,
  link: never,
  unlink: never,
  monitor: never,
  monitorName: never,
  demonitor: never,
  exit: never,
  down: never,
  reply: never,
  lookup: never,
  isConnected: () => false,
};

/**
 * The timers phase of `Node.resume`: thaws the wheel and the call table and fires what fell due,
 * wheel entries and call timeouts merged in deadline order. Returns false when a timeout's effect
 * paused (or killed) the node again: the rest wait once more (due calls stay in their lists; due
 * wheel entries go back).
 */
export function fireOverdue(sched: Scheduler, wheel: TimerWheel, calls: CallTable): boolean {
  const timers = wheel.thaw();
  const due = calls.thaw();
  let i = 0;
  let j = 0;
  while (i < timers.length || j < due.length) {
    if (sched.frozen) {
      for (; i < timers.length; i++) wheel.putBack(timers[i]!);
      return false;
    }
    if (j >= due.length || (i < timers.length && wheel.dueAt(timers[i]!) <= due[j]!.deadline)) {
      wheel.fireTaken(timers[i++]!);
    } else {
      calls.timeOut(due[j++]!);
    }
  }
  return !sched.frozen;
}

/** Ends every process of a killed node where it stands: dead, `killed`, nothing left to run. */
export function killAll(procs: IdTable<Proc>): void {
  for (const p of procs.unordered()) {
    p.status = Status.Dead;
    p.exitReason = "killed";
    p.receiver = null;
    p.mq = null;
    p.pendingInit = null;
    p.exitHooks = null;
  }
  procs.clear();
}
