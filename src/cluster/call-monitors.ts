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
import type { Pid, Ref } from "../process/pid.js";

export class CallMonitors {
  private readonly byNode = new Map<string, Map<string, Pid>>();

  /** The call `ref` (of the caller's node, `ref.node`) monitors `target`. */
  add(ref: Ref, target: Pid): void {
    let calls = this.byNode.get(ref.node);
    if (calls === undefined) {
      calls = new Map();
      this.byNode.set(ref.node, calls);
    }
    calls.set(ref.key, target);
  }

  /** Removes the monitor of call `ref` and returns its target, if it holds one. */
  take(ref: Ref): Pid | undefined {
    const calls = this.byNode.get(ref.node);
    if (calls === undefined) return undefined;
    const target = calls.get(ref.key);
    if (target !== undefined) calls.delete(ref.key);
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
