/**
 * A hub GenServer child's own child id, readable from any of its callbacks, `init` included:
 * `ProcessHub.childId(ctx)`. A `ChildStarter` is handed the id (`start(args, { childId })`); a
 * GenServer behaviour's `init` gets only the spec's `args`, which the user writes, so the hub
 * starts it through a copy of the behaviour (one per behaviour, kept) whose `init` records the id
 * against the server's context and then calls the behaviour's own `init` with `args` as is. The
 * record is keyed by the context object, so it goes when the server does; so is a checkpointed
 * child's checkpoint slot, handed over the same way. Imports `process` and `server` types, and
 * the checkpoint slot's type.
 */
import type { ProcessContext } from "../process/node.js";
import type { ServerBehaviour } from "../server/index.js";
import type { CheckpointSlot } from "./durable/checkpoints.js";

/** What the copy's `init` receives: the id and the spec's own `args`. */
export interface WithChildId {
  childId: string;
  args: unknown;
  /** A checkpointed child's slot in a durable hub (its last checkpoint, where new ones go). */
  checkpoint?: CheckpointSlot | undefined;
}

const childIds = new WeakMap<ProcessContext, string>();
const slots = new WeakMap<ProcessContext, CheckpointSlot>();
const copies = new WeakMap<ServerBehaviour<any, any, any>, ServerBehaviour<any, any, WithChildId>>();

/**
 * The behaviour the hub starts for `behaviour`, with `{ childId, args }` as its argument: its
 * `init` records `childId` for `childIdOf`, then returns `behaviour.init(args, ctx)`.
 */
export function withChildId(
  behaviour: ServerBehaviour<any, any, any>,
): ServerBehaviour<any, any, WithChildId> {
  let copy = copies.get(behaviour);
  if (copy === undefined) {
    copy = {
      ...behaviour,
      init(arg: WithChildId, ctx) {
        childIds.set(ctx, arg.childId);
        if (arg.checkpoint !== undefined) slots.set(ctx, arg.checkpoint);
        return behaviour.init(arg.args, ctx);
      },
    };
    copies.set(behaviour, copy);
  }
  return copy;
}

/** The hub child id of the GenServer whose context is `ctx`; undefined when it is no hub child. */
export function childIdOf(ctx: ProcessContext): string | undefined {
  return childIds.get(ctx);
}

/** The checkpoint slot of the hub child whose context is `ctx` (checkpointed, in a durable hub). */
export function checkpointSlotOf(ctx: ProcessContext): CheckpointSlot | undefined {
  return slots.get(ctx);
}
