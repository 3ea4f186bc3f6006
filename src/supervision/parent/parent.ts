/**
 * `Parent`: the low-level functions a process uses to become a parent. `initialize` turns the
 * calling process (or the one of a given context) into a parent: it traps exits and gets a
 * `ParentState`, whose methods start, stop, restart and return children and whose
 * `handleMessage` must see every message the process receives. The `Parent.*` shortcuts act on
 * the parent state of the process running right now (inside a handler, or a child's start
 * function called by the parent); after an `await`, keep the `ParentState` and call it directly.
 * Imports `process`, its own `options`, `parent-state`, `parent-registry`, `errors`.
 */
import { currentNodeOrDefault, type Node, type ProcessContext } from "../../process/node.js";
import { Pid } from "../../process/pid.js";
import type { StoppedChildren } from "./child-record.js";
import { type ChildRef, type ParentChildSpec, parentChildSpec } from "./child-spec.js";
import { ChildStartFailedError, NotAParentError } from "./errors.js";
import { type ParentOptions, parseParentOptions } from "./options.js";
import { parentOf, registerParent } from "./parent-registry.js";
import { ParentState } from "./parent-state.js";

/** Makes a process a parent: sets trap-exit and registers its `ParentState`. */
export function initializeParent(node: Node, pid: Pid, options: ParentOptions = {}): ParentState {
  const state = new ParentState(node, pid, parseParentOptions(options));
  node.trapExit(true, pid);
  registerParent(state);
  return state;
}

/**
 * Starts `specs` in order (`Parent.start_all_children!`). On the first failure the children this
 * call started are shut down (reverse order), the rest skipped, and `ChildStartFailedError`
 * thrown. Resolves the pids (undefined for ignored children).
 */
export async function startAllChildren(
  state: ParentState,
  specs: readonly ParentChildSpec[],
): Promise<Array<Pid | undefined>> {
  const pids: Array<Pid | undefined> = [];
  for (const spec of specs) {
    const r = await state.startChild(spec);
    if (!r.ok && "ignore" in r) {
      pids.push(undefined);
      continue;
    }
    if (!r.ok) {
      for (let i = pids.length - 1; i >= 0; i--) {
        const pid = pids[i];
        if (pid !== undefined && state.childId(pid).ok) await state.shutdownChild(pid);
      }
      throw new ChildStartFailedError((spec as { id?: unknown } | null)?.id, r.error);
    }
    pids.push(r.pid);
  }
  return pids;
}

function current(): ParentState {
  const node = currentNodeOrDefault();
  const self = node.self();
  const state = parentOf(self);
  if (state === undefined) throw new NotAParentError(self);
  return state;
}

/**
 * In-process parent functions (`Parent.initialize`, `Parent.startChild`, …).
 * @category supervision
 */
export const Parent = {
  /**
   * Makes the calling process (or `ctx`'s process) a parent. Throws `InvalidOptionError` for
   * bad options.
   */
  initialize(options: ParentOptions = {}, ctx?: ProcessContext): ParentState {
    const node = ctx?.node ?? currentNodeOrDefault();
    const pid = ctx?.self ?? node.self();
    if (pid.id === 0) throw new NotAParentError("the system process");
    return initializeParent(node, pid, options);
  },
  /** The parent state of `target` (a pid or a process context). Throws `NotAParentError`. */
  of(target: Pid | ProcessContext): ParentState {
    const pid = target instanceof Pid ? target : target.self;
    const state = parentOf(pid);
    if (state === undefined) throw new NotAParentError(pid);
    return state;
  },
  /** True when the running process is a parent. */
  isParent(): boolean {
    return parentOf(currentNodeOrDefault().self()) !== undefined;
  },
  /** A frozen Parent child spec for a GenServer behaviour (see `parentChildSpec`). */
  childSpec: parentChildSpec,
  handleMessage: (msg: unknown) => current().handleMessage(msg),
  /** `startAllChildren` on the running parent (see the function of that name). */
  startAllChildren: (specs: readonly ParentChildSpec[]) => startAllChildren(current(), specs),
  startChild: (spec: ParentChildSpec) => current().startChild(spec),
  shutdownChild: (ref: ChildRef) => current().shutdownChild(ref),
  restartChild: (ref: ChildRef) => current().restartChild(ref),
  returnChildren: (stopped: StoppedChildren) => current().returnChildren(stopped),
  shutdownAll: (reason?: unknown) => current().shutdownAll(reason),
  children: () => current().children(),
  childPid: (ref: ChildRef) => current().childPid(ref),
  childId: (pid: Pid) => current().childId(pid),
  childMeta: (ref: ChildRef) => current().childMeta(ref),
  updateChildMeta: (ref: ChildRef, fn: (meta: unknown) => unknown) => current().updateChildMeta(ref, fn),
  whichChildren: () => current().whichChildren(),
  countChildren: () => current().countChildren(),
  getChildSpec: (ref: ChildRef) => current().getChildSpec(ref),
} as const;
