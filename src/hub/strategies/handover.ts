/**
 * Hot-swap state handover. `withHandover(behaviour, callbacks)` returns a GenServer behaviour
 * that also answers two hub calls: `prepareHandoverState(state)` on the old instance (what to
 * hand over) and `receiveHandoverState(data, state)` on the new one (the state to continue
 * with). The hub asks the old child for its state, ships it inside the start of the new
 * instance, gives it to the new child right after its start, and counts the child as started
 * only once that call returned: the origin's confirmation is the start answer itself. A child
 * that did not take its state is stopped and its start fails, so the old one keeps running.
 * Imports `process`, `server`.
 */
import type { Node } from "../../process/node.js";
import type { Pid } from "../../process/pid.js";
import { callOn, type ServerBehaviour } from "../../server/gen-server.js";
import { reply } from "../../server/index.js";

const PREPARE = "$hub_handover_prepare";
const RECEIVE = "$hub_handover_receive";

/**
 * Why a child receives handed-over data:
 * - `migration`: it is the new instance of a child that moved here (a join, a graceful stop);
 *   `state` is what its init returned.
 * - `heal`: a partition healed and this running copy won the epoch rule over another copy of
 *   the same id (on node `from`), which hands over its data before it stops; `state` is this
 *   copy's own state, so the callback decides how the two diverged states combine.
 */
export type HandoverInfo = { reason: "migration" } | { reason: "heal"; from: string };

/** The handover callbacks of a behaviour. */
export interface HandoverCallbacks<S, D = unknown> {
  /** On the old instance (or a heal's losing copy): the (serialisable) data to hand over. @default the whole state */
  prepareHandoverState?(state: S): D;
  /** On the receiving instance: the state to continue with, given the handed-over data. */
  receiveHandoverState(data: D, state: S, info: HandoverInfo): S;
}

/**
 * A behaviour that supports hot-swap handover.
 * @category hub
 */
export function withHandover<S, A>(
  behaviour: ServerBehaviour<any, S, A>,
  callbacks: HandoverCallbacks<S>,
): ServerBehaviour<any, S, A> & { hubHandover: true } {
  const handleCall = {
    ...(behaviour.handleCall ?? {}),
    [PREPARE]: (_a: unknown, s: S) =>
      reply(callbacks.prepareHandoverState ? callbacks.prepareHandoverState(s) : (s as unknown), s),
    [RECEIVE]: (arg: { data: unknown; info: HandoverInfo }, s: S) => {
      const next = callbacks.receiveHandoverState(arg.data, s, arg.info);
      return reply(true, next);
    },
  };
  return { ...behaviour, handleCall, hubHandover: true } as ServerBehaviour<any, S, A> & {
    hubHandover: true;
  };
}

/** Whether a registered hub behaviour was wrapped by `withHandover`. */
export function supportsHandover(b: unknown): boolean {
  return typeof b === "object" && b !== null && (b as { hubHandover?: unknown }).hubHandover === true;
}

/** Asks a local child for its handover data; undefined when it does not answer in time. */
export async function takeHandoverState(
  node: Node,
  pid: Pid,
  timeoutMs: number,
): Promise<{ data: unknown } | undefined> {
  try {
    return { data: await callOn(node, pid, PREPARE, undefined, timeoutMs) };
  } catch {
    return undefined;
  }
}

/** Gives handed-over data to a local child; resolves whether it took it. */
export async function giveHandoverState(
  node: Node,
  pid: Pid,
  data: unknown,
  timeoutMs: number,
  info: HandoverInfo = { reason: "migration" },
): Promise<boolean> {
  try {
    return (await callOn(node, pid, RECEIVE, { data, info }, timeoutMs)) === true;
  } catch {
    return false;
  }
}
