/**
 * Errors of the supervision layer. Child-spec validation errors each carry `reason`, the OTP term
 * they stand for (`"missing_id"`, `{ invalidRestartType: x }`…), so every OTP distinction stays
 * observable; supervisors return them inside `{ ok: false, error }` results, the `childSpec`
 * helpers throw them. Imports the root `errors`.
 */
import { HubvisorError, show } from "../errors.js";

/** Base of every child-spec validation error. `reason` is the OTP-style term. */
export class ChildSpecError extends HubvisorError {
  constructor(
    code: string,
    message: string,
    /** The OTP term: `"missing_id"`, `"missing_start"`, `{ invalidRestartType: x }`… */
    readonly reason: unknown,
  ) {
    super(code, message);
  }
}

/** The spec has no `id` (OTP `missing_id`). */
export class MissingIdError extends ChildSpecError {
  constructor() {
    super("HV_ERR_CHILD_SPEC_MISSING_ID", "child spec has no `id`", "missing_id");
  }
}

/** The spec has no `start` (OTP `missing_start`). */
export class MissingStartError extends ChildSpecError {
  constructor() {
    super("HV_ERR_CHILD_SPEC_MISSING_START", "child spec has no `start`", "missing_start");
  }
}

/** `start` is not a function (OTP `{invalid_mfa, x}`). */
export class InvalidStartError extends ChildSpecError {
  constructor(readonly value: unknown) {
    super("HV_ERR_CHILD_SPEC_INVALID_START", `child spec \`start\` must be a function, got: ${show(value)}`, {
      invalidMfa: value,
    });
  }
}

/** `restart` is not permanent / transient / temporary (OTP `{invalid_restart_type, x}`). */
export class InvalidRestartTypeError extends ChildSpecError {
  constructor(readonly value: unknown) {
    super(
      "HV_ERR_CHILD_SPEC_INVALID_RESTART",
      `child spec \`restart\` must be "permanent", "transient" or "temporary", got: ${show(value)}`,
      { invalidRestartType: value },
    );
  }
}

/** `shutdown` is not brutal_kill / an integer ≥ 0 / infinity (OTP `{invalid_shutdown, x}`). */
export class InvalidShutdownError extends ChildSpecError {
  constructor(readonly value: unknown) {
    super(
      "HV_ERR_CHILD_SPEC_INVALID_SHUTDOWN",
      `child spec \`shutdown\` must be "brutal_kill", an integer >= 0 or "infinity", got: ${show(value)}`,
      { invalidShutdown: value },
    );
  }
}

/** `type` is not worker / supervisor (OTP `{invalid_child_type, x}`). */
export class InvalidChildTypeError extends ChildSpecError {
  constructor(readonly value: unknown) {
    super(
      "HV_ERR_CHILD_SPEC_INVALID_TYPE",
      `child spec \`type\` must be "worker" or "supervisor", got: ${show(value)}`,
      { invalidChildType: value },
    );
  }
}

/** `modules` is not "dynamic" or an array of strings (OTP `{invalid_modules, x}`). */
export class InvalidModulesError extends ChildSpecError {
  constructor(readonly value: unknown) {
    super(
      "HV_ERR_CHILD_SPEC_INVALID_MODULES",
      `child spec \`modules\` must be "dynamic" or an array of strings, got: ${show(value)}`,
      { invalidModules: value },
    );
  }
}

/**
 * `significant` is not a boolean, or is `true` where it is not allowed (a permanent child, a
 * supervisor without auto-shutdown, any DynamicSupervisor child): OTP `{invalid_significant, x}`.
 */
export class InvalidSignificantError extends ChildSpecError {
  constructor(
    readonly value: unknown,
    why = "",
  ) {
    super(
      "HV_ERR_CHILD_SPEC_INVALID_SIGNIFICANT",
      `invalid child spec \`significant\`: ${show(value)}${why}`,
      {
        invalidSignificant: value,
      },
    );
  }
}

/** The spec is not an object, or (DynamicSupervisor) lacks `start` (Elixir `{invalid_child_spec, x}`). */
export class InvalidChildSpecError extends ChildSpecError {
  constructor(readonly value: unknown) {
    super("HV_ERR_INVALID_CHILD_SPEC", `invalid child spec: ${show(value)}`, { invalidChildSpec: value });
  }
}

/** Two specs given to one supervisor share an id (OTP `{duplicate_child_name, id}`). */
export class DuplicateChildNameError extends ChildSpecError {
  constructor(readonly id: unknown) {
    super("HV_ERR_DUPLICATE_CHILD_NAME", `duplicate child id: ${show(id)}`, { duplicateChildName: id });
  }
}

/** A supervisor API was called on something that is not a supervisor of the expected kind. */
export class NotASupervisorError extends HubvisorError {
  constructor(
    readonly target: unknown,
    readonly request: string,
  ) {
    super("HV_ERR_NOT_A_SUPERVISOR", `${show(target)} does not answer supervisor request ${show(request)}`);
  }
}

/**
 * A child start function returned something that is neither a start result nor a pid: the start
 * failed, with this as its error (`reason` is `{ badReturn: value }`). The same in Supervisor,
 * DynamicSupervisor and Parent. (Its code keeps the `PARENT` of where it was first declared:
 * codes never change.)
 */
export class BadStartReturnError extends HubvisorError {
  readonly reason: unknown;
  constructor(readonly value: unknown) {
    super("HV_ERR_PARENT_BAD_START_RETURN", `child start function returned ${show(value)}`);
    this.reason = { badReturn: value };
  }
}
