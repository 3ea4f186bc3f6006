/**
 * Errors of the registry layer: misuse of a registry (an unknown registry name, a via-name on a
 * duplicate registry, a unique-only operation on a duplicate registry). Expected outcomes (a key
 * already taken, a missing meta key) are typed results, not errors. Imports the root `errors`.
 */
import { HubvisorError, show } from "../errors.js";

/** An operation named a registry that is not running on this node (Elixir: "unknown registry"). */
export class UnknownRegistryError extends HubvisorError {
  constructor(readonly registry: unknown) {
    super("HV_ERR_UNKNOWN_REGISTRY", `unknown registry: ${show(registry)}`);
  }
}

/** A via-name was used with a registry started with `keys: "duplicate"`. */
export class ViaDuplicateRegistryError extends HubvisorError {
  constructor(readonly registry: string) {
    super(
      "HV_ERR_REGISTRY_VIA_DUPLICATE",
      `via is not supported for duplicate registries (registry ${show(registry)})`,
    );
  }
}

/** An operation that only makes sense for one kind of registry was used on the other kind. */
export class RegistryKindError extends HubvisorError {
  constructor(
    readonly registry: string,
    readonly operation: string,
    readonly required: "unique" | "duplicate",
  ) {
    super(
      "HV_ERR_REGISTRY_KIND",
      `${operation} is only supported for ${required} registries (registry ${show(registry)})`,
    );
  }
}
