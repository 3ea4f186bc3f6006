/**
 * Errors of the Parent toolkit. The child-spec validation errors extend the supervision layer's
 * `ChildSpecError` and carry `reason`, the Parent term they stand for (`{ missingDeps: [...] }`,
 * `"invalid_child_id"`, `{ nonUniformShutdownGroup: g }`, `{ alreadyStarted: pid }`); they are
 * returned (not thrown) as the `error` of a failed `startChild`, as Parent returns
 * `{:error, reason}`. Imports the root `errors` and the supervision `errors`.
 */
import { HubvisorError, show } from "../../errors.js";
import type { Pid } from "../../process/pid.js";
import { ChildSpecError } from "../errors.js";

/** `bindsTo` names siblings that are not children of the parent: `{:missing_deps, missing}`. */
export class MissingDepsError extends ChildSpecError {
  constructor(readonly missingDeps: unknown[]) {
    super(
      "HV_ERR_PARENT_MISSING_DEPS",
      `bindsTo names unknown children: ${missingDeps.map((d) => show(d)).join(", ")}`,
      { missingDeps },
    );
  }
}

/** A child id must not be a pid (pids address anonymous children): `:invalid_child_id`. */
export class InvalidChildIdError extends ChildSpecError {
  constructor(readonly id: unknown) {
    super(
      "HV_ERR_PARENT_INVALID_CHILD_ID",
      `a child id cannot be a pid, got: ${show(id)}`,
      "invalid_child_id",
    );
  }
}

/** Members of one shutdown group must share `restart` and `ephemeral`. */
export class NonUniformShutdownGroupError extends ChildSpecError {
  constructor(readonly nonUniformShutdownGroup: unknown) {
    super(
      "HV_ERR_PARENT_NON_UNIFORM_SHUTDOWN_GROUP",
      `children of shutdown group ${show(nonUniformShutdownGroup)} must have the same restart and ephemeral values`,
      { nonUniformShutdownGroup },
    );
  }
}

/** A child with this id is already a child of the parent (`alreadyStarted` undefined when not running). */
export class ChildAlreadyStartedError extends ChildSpecError {
  constructor(
    readonly id: unknown,
    readonly alreadyStarted: Pid | undefined,
  ) {
    super(
      "HV_ERR_PARENT_ALREADY_STARTED",
      `child ${show(id)} is already started${alreadyStarted === undefined ? "" : ` as ${alreadyStarted}`}`,
      { alreadyStarted },
    );
  }
}

/** A Parent-only child spec field has the wrong shape or value (names the field and the value). */
export class InvalidParentChildSpecError extends ChildSpecError {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly value: unknown,
  ) {
    super(
      "HV_ERR_PARENT_INVALID_CHILD_SPEC",
      `expected child spec \`${field}\` to be ${expected}, got: ${show(value)}`,
      { invalidChildSpec: { [field]: value } },
    );
  }
}

// Declared with the supervision errors (Supervisor and DynamicSupervisor return it too).
export { BadStartReturnError } from "../errors.js";

/** A parent operation was used in a process that has not called `Parent.initialize`. */
export class NotAParentError extends HubvisorError {
  constructor(readonly target: unknown) {
    super("HV_ERR_NOT_A_PARENT", `${show(target)} is not a parent process (call Parent.initialize first)`);
  }
}

/** `ParentClient.via(parent, id)` only resolves names; it cannot register one. */
export class ParentViaRegisterError extends HubvisorError {
  constructor() {
    super(
      "HV_ERR_PARENT_VIA_REGISTER",
      "a parent via-name cannot register a process; start it as a child instead",
    );
  }
}

/** `ParentRegistry` was asked about a parent that publishes no table here (dead, remote, or registry off). */
export class NoParentRegistryError extends HubvisorError {
  constructor(readonly target: unknown) {
    super(
      "HV_ERR_NO_PARENT_REGISTRY",
      `${show(target)} is not a live local parent started with registry: true`,
    );
  }
}

/** `startAllChildren` could not start a child (`reason` is what its start failed with). */
export class ChildStartFailedError extends HubvisorError {
  constructor(
    readonly id: unknown,
    readonly reason: unknown,
  ) {
    super(
      "HV_ERR_PARENT_CHILD_START_FAILED",
      `Error starting the child ${typeof id === "string" ? id : show(id)}: ${reason instanceof Error ? reason.message : show(reason)}`,
    );
  }
}
