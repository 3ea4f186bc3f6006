/**
 * The table of parent processes of this program: finds the `ParentState` of a process (for the
 * in-process `Parent.*` functions) and, for parents started with `registry: true`, lets clients
 * read a parent's children without a call. An entry is removed when its process exits. Imports
 * `process`, its own `parent-state`, `children-table`.
 */
import type { Pid } from "../../process/pid.js";
import type { ChildrenTable } from "./children-table.js";
import type { ParentState } from "./parent-state.js";

const parents = new Map<string, ParentState>();

/** Records `state` as the parent state of its process until that process exits. */
export function registerParent(state: ParentState): void {
  const key = state.pid.key;
  parents.set(key, state);
  state.node.onExit(state.pid, () => {
    if (parents.get(key) === state) parents.delete(key);
  });
}

/** The parent state of a live local process, if it initialized one. */
export function parentOf(pid: Pid): ParentState | undefined {
  return parents.get(pid.key);
}

/** The shared children table of a parent started with the registry on. */
export function publishedTable(pid: Pid): ChildrenTable | undefined {
  const state = parents.get(pid.key);
  return state?.options.registry ? state.table : undefined;
}
