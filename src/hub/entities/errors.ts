/**
 * Errors of reaching hub children by id (`hub.ref`, `hub.ensure`, `hub.awaitSettled`,
 * `hub.whenRunning`). A call through a reference that cannot complete fails with one of these,
 * and its `reason` says why in one word, so that callers can branch on it (or on `code`):
 * `no_owner`, `partitioned`, `overflow`, `timeout`, `lost`, `activation`. Imports the root
 * `errors`.
 */
import { HubvisorError, show } from "../../errors.js";

/** Why a call through a hub reference failed, in one word (the `reason` of its error). */
export type EntityFailure = "no_owner" | "partitioned" | "overflow" | "timeout" | "lost" | "activation";

/**
 * No instance of the id was registered (or reachable) before the call's deadline: it was never
 * started, it was stopped, or its restart, move or adoption took longer than the deadline. The
 * call was never delivered.
 * @category hub
 */
export class EntityNoOwnerError extends HubvisorError {
  readonly reason = "no_owner";
  constructor(
    readonly childId: string,
    readonly timeoutMs: number,
  ) {
    super(
      "HV_ERR_HUB_ENTITY_NO_OWNER",
      `no instance of ${show(childId)} was registered within ${timeoutMs} ms; the message was not delivered`,
    );
  }
}

/**
 * The node lost its partition-tolerance quorum and no reachable instance of the id answered
 * before the call's deadline. The call was never delivered.
 * @category hub
 */
export class EntityPartitionedError extends HubvisorError {
  readonly reason = "partitioned";
  constructor(
    readonly childId: string,
    readonly node: string,
  ) {
    super(
      "HV_ERR_HUB_ENTITY_PARTITIONED",
      `node ${show(node)} is partitioned (no quorum) and no instance of ${show(childId)} could be reached; the message was not delivered`,
    );
  }
}

/**
 * The buffer for messages waiting for an instance was full: `scope` `id` (this id's own
 * `maxBufferedPerId`) or `node` (every id's together, `maxBuffered`). Fails at once; the
 * message was not delivered.
 * @category hub
 */
export class EntityOverflowError extends HubvisorError {
  readonly reason = "overflow";
  constructor(
    readonly childId: string,
    readonly scope: "id" | "node",
    readonly limit: number,
  ) {
    super(
      "HV_ERR_HUB_ENTITY_OVERFLOW",
      `${scope === "id" ? `${show(childId)} has` : "this node has"} ${limit} messages waiting for an instance already; the message to ${show(childId)} was not delivered`,
    );
  }
}

/**
 * A call was delivered to an instance and no reply came before its deadline. The instance may
 * have handled it (at most once).
 * @category hub
 */
export class EntityTimeoutError extends HubvisorError {
  readonly reason = "timeout";
  constructor(
    readonly childId: string,
    readonly call: string,
    readonly timeoutMs: number,
  ) {
    super(
      "HV_ERR_HUB_ENTITY_TIMEOUT",
      `call ${show(call)} to ${show(childId)} got no reply within ${timeoutMs} ms (it may have been handled)`,
    );
  }
}

/**
 * The instance a call was delivered to went away before it replied (its node was lost, it was
 * stopped, moved or passivated, or it crashed), and the call was not retried: the message is
 * not declared idempotent (it may have been handled), or it crashed the instance on its retries
 * too. `exitReason` is what the instance exited with (`noconnection` for a lost node).
 * @category hub
 */
export class EntityCallLostError extends HubvisorError {
  readonly reason = "lost";
  constructor(
    readonly childId: string,
    readonly call: string,
    readonly exitReason: unknown,
  ) {
    super(
      "HV_ERR_HUB_ENTITY_CALL_LOST",
      `call ${show(call)} to ${show(childId)} was lost: its instance exited (${show(exitReason)}) before replying, and the message is not idempotent, so it was not retried (it may have been handled)`,
    );
  }
}

/**
 * Starting an id on demand (`hub.ensure`, a reference with `activate`) failed for a reason no
 * retry fixes: its behaviour's start failed, or the behaviour is unknown at the owner.
 * `startReason` is the start's reason (`start_failed`, `unknown_behaviour`, ...).
 * @category hub
 */
export class EntityActivationError extends HubvisorError {
  readonly reason = "activation";
  constructor(
    readonly childId: string,
    readonly startReason: string,
    readonly detail: string | undefined,
  ) {
    super(
      "HV_ERR_HUB_ENTITY_ACTIVATION",
      `starting ${show(childId)} on demand failed: ${startReason}${detail === undefined ? "" : ` (${detail})`}`,
    );
  }
}

/**
 * `hub.awaitSettled` ran out of time; `problem` is what was still unsettled at the end.
 * @category hub
 */
export class HubSettleTimeoutError extends HubvisorError {
  constructor(
    readonly hubId: string,
    readonly timeoutMs: number,
    readonly problem: string,
  ) {
    super(
      "HV_ERR_HUB_SETTLE_TIMEOUT",
      `hub ${show(hubId)} did not settle within ${timeoutMs} ms: ${problem}`,
    );
  }
}

/**
 * `hub.whenRunning` ran out of time before the id was registered with a reachable instance.
 * @category hub
 */
export class ChildNotRunningError extends HubvisorError {
  constructor(
    readonly childId: string,
    readonly timeoutMs: number,
  ) {
    super("HV_ERR_HUB_CHILD_NOT_RUNNING", `${show(childId)} was not running within ${timeoutMs} ms`);
  }
}
