/**
 * What a DynamicSupervisor keeps per child, beside the child's pid in its `PidMap`: the spec, or
 * a `Restarting` record while a failed restart waits to be retried (the child stays under its old
 * pid meanwhile). No object per running child: every byte a child keeps for life costs its start
 * a few nanoseconds more (the garbage collector copies it twice, its pages are fresh memory).
 * Imports `process` (pid) and `child-spec` types.
 */
import type { Pid } from "../process/pid.js";
import type { NormalizedChildSpec } from "./child-spec.js";

/** A child whose restart failed: kept under its old pid until a retry succeeds. */
export class Restarting {
  constructor(
    readonly pid: Pid,
    readonly spec: NormalizedChildSpec,
  ) {}
}

/** What the table holds per child. */
export type ChildSlot = NormalizedChildSpec | Restarting;

/** The spec behind a slot. */
export function specOf(slot: ChildSlot): NormalizedChildSpec {
  return slot instanceof Restarting ? slot.spec : slot;
}
