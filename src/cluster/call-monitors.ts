/**
 * The monitors that calls from other nodes hold on this node's processes. A `Call` or `GenCall`
 * frame monitors its target for the caller under the call's ref, and a reply to it from this node
 * ends that monitor (a `CallReply`), so that a call costs one frame each way instead of four
 * (monitor, send, reply, demonitor). This table is how a reply finds the monitor it ends: by the
 * caller's node, then the ref. An entry goes when the reply is sent, when the caller demonitors
 * (a call that timed out, or answered from elsewhere), when the monitor fires (the target died),
 * and with every entry of a caller node that is gone.
 *
 * Imports `process` (pid types).
 */
import { IdTable } from "../process/id-table.js";
import type { Pid, Ref } from "../process/pid.js";

const refNumber = (ref: Ref): number => ref.id;

export class CallMonitors {
  /**
   * Caller node → its refs by number, each with its target as the aux value. A ref number is
   * unique within its node's incarnation, and a caller node restarted is first gone (`forget`).
   * An `IdTable`, not a `Map`: ref numbers come in sequence and calls end roughly in order, the
   * churn under which a `Map` costs hundreds of ns per set and delete.
   */
  private readonly byNode = new Map<string, IdTable<Ref, Pid>>();

  /** The call `ref` (of the caller's node, `ref.node`) monitors `target`. */
  add(ref: Ref, target: Pid): void {
    let calls = this.byNode.get(ref.node);
    if (calls === undefined) {
      calls = new IdTable<Ref, Pid>(refNumber, { withAux: true });
      this.byNode.set(ref.node, calls);
    }
    calls.set(ref.id, ref, target);
  }

  /** Removes the monitor of call `ref` and returns its target, if it holds one. */
  take(ref: Ref): Pid | undefined {
    const calls = this.byNode.get(ref.node);
    if (calls === undefined) return undefined;
    const target = calls.auxOf(ref.id);
    if (target !== undefined) calls.delete(ref.id);
    return target;
  }

  /** Forgets every call monitor of node `node`'s callers. */
  forget(node: string): void {
    this.byNode.delete(node);
  }

  /** How many call monitors are held (for tests and introspection). */
  get size(): number {
    let n = 0;
    for (const calls of this.byNode.values()) n += calls.size;
    return n;
  }
}
