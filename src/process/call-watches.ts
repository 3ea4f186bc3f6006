/**
 * `CallWatches`: the monitors that calls from other nodes hold on this node's processes. A call
 * from another node monitors its target (OTP's `call` does, so that the target's death or the
 * loss of its node fails the call at once), and the answer ends that monitor on this side: the
 * caller need not send a `demonitor` after it, so a call costs one frame each way instead of four.
 *
 * A watch is the call's `From` (the caller and the ref number), kept by caller node and ref
 * number, with the target process beside it. A watch ends when the answer goes out, when the
 * caller demonitors (its call timed out, or another node answered it), when the target dies (the
 * caller gets its `DOWN`) and with every watch of a caller node that is gone. The target counts
 * its watches (`Proc.remoteCallers`), so that a death looks for them only when there are some.
 *
 * Kept apart from `Proc.watchers` (a `Map` by ref key string, per process): ref numbers come in
 * sequence and calls end roughly in order, the churn under which a `Map` reallocates its store
 * and which an `IdTable` takes in a few ns, without a key string per call.
 *
 * Imports `calls` (`From`), `id-table`, `pid`, `proc`.
 */
import type { From } from "./calls.js";
import { IdTable } from "./id-table.js";
import type { Pid, Ref } from "./pid.js";
import type { Proc } from "./proc.js";

const refNumber = (from: From): number => from.refId;

export class CallWatches {
  /** Caller node → its calls by ref number, each with its target process as the aux value. */
  private readonly byNode = new Map<string, IdTable<From, Proc>>();

  /** The call `from` (of another node) now monitors `target`. */
  add(from: From, target: Proc): void {
    const node = from.pid.node;
    let calls = this.byNode.get(node);
    if (calls === undefined) {
      calls = new IdTable<From, Proc>(refNumber, { withAux: true });
      this.byNode.set(node, calls);
    }
    calls.set(from.refId, from, target);
    target.remoteCallers++;
  }

  /** Ends the monitor of the call `ref` (of another node); returns whether it held one. */
  end(ref: Ref): boolean {
    const calls = this.byNode.get(ref.node);
    if (calls === undefined) return false;
    const from = calls.get(ref.id);
    if (from === undefined || from.pid.creation !== ref.creation) return false;
    calls.auxOf(ref.id)!.remoteCallers--;
    calls.delete(ref.id);
    return true;
  }

  /** Ends every watch on `target` (it died) and returns their calls, for their `DOWN`. */
  takeTarget(target: Proc): From[] {
    const out: From[] = [];
    for (const calls of this.byNode.values()) {
      const first = out.length;
      calls.forEach((from, proc) => {
        if (proc === target) out.push(from);
      });
      for (let i = first; i < out.length; i++) calls.delete(out[i]!.refId);
    }
    target.remoteCallers = 0;
    return out;
  }

  /** The callers whose calls watch `target` (for `processInfo`). */
  callersOf(target: Proc): Pid[] {
    const out: Pid[] = [];
    if (target.remoteCallers === 0) return out;
    for (const calls of this.byNode.values()) {
      calls.forEach((from, proc) => {
        if (proc === target) out.push(from.pid);
      });
    }
    return out;
  }

  /** Forgets every watch of node `node`'s calls (the node is gone). */
  forget(node: string): void {
    const calls = this.byNode.get(node);
    if (calls === undefined) return;
    this.byNode.delete(node);
    calls.forEach((_from, proc) => {
      proc.remoteCallers--;
    });
  }

  /** `Node.kill`: forgets everything. */
  clear(): void {
    this.byNode.clear();
  }
}
