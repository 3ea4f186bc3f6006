/**
 * Errors of the thread transport and of `startNodeThreads`. Imports the root `errors`.
 */
import { HubvisorError, show } from "../../errors.js";

/** A node thread did not come up: its module failed to load, threw, or it exited first. */
export class NodeThreadStartError extends HubvisorError {
  constructor(
    readonly node: string,
    readonly reason: string,
  ) {
    super("HV_ERR_NODE_THREAD_START", `node thread ${show(node)} did not start: ${reason}`);
  }
}

/** A node thread did not come up within `startTimeoutMs`. */
export class NodeThreadTimeoutError extends HubvisorError {
  constructor(
    readonly node: string,
    readonly timeoutMs: number,
  ) {
    super("HV_ERR_NODE_THREAD_TIMEOUT", `node thread ${show(node)} did not start within ${timeoutMs} ms`);
  }
}
