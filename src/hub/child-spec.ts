/**
 * Hub child specs: what a hub starts somewhere in the cluster. A spec names its behaviour by the
 * name it was registered under on every node, plus serialisable arguments, so that it can cross
 * the wire; functions never travel. `normalizeChildSpec` validates a user spec and fills in the
 * defaults, throwing `InvalidHubChildSpecError` naming the bad field. Imports `errors`.
 */
import { InvalidHubChildSpecError } from "./errors.js";

/** When a crashed hub child is restarted on its node (OTP restart values). */
export type HubRestart = "permanent" | "transient" | "temporary";

/** How long a stopping child gets to shut down, in ms, or `brutal_kill` / `infinity`. */
export type HubShutdown = number | "brutal_kill" | "infinity";

/** Free-form data stored with a child in every registry; `tag` is what `matchTag` queries. */
export interface ChildMetadata {
  tag?: string;
  [key: string]: unknown;
}

/**
 * A child to start under the hub, as given by the user.
 * @category models
 */
export interface HubChildSpec {
  /** Unique id of the child within the hub. Strings only (they are garbage collected). */
  id: string;
  /** Name of a behaviour registered with the hub on every node. */
  behaviour: string;
  /** Serialisable argument passed to the behaviour's start. @default undefined */
  args?: unknown;
  /** Restart policy when the child exits. @default "permanent" */
  restart?: HubRestart;
  /** Shutdown budget when the hub stops the child. @default 5000 */
  shutdown?: HubShutdown;
  /** Metadata stored with the child in every registry. @default {} */
  metadata?: ChildMetadata;
}

/** A validated spec with every default filled in. This is what registries and the wire carry. */
export interface NormalizedChildSpec {
  id: string;
  behaviour: string;
  args: unknown;
  restart: HubRestart;
  shutdown: HubShutdown;
  metadata: ChildMetadata;
}

const RESTARTS: ReadonlySet<string> = new Set(["permanent", "transient", "temporary"]);

/** Validates a user child spec and fills in defaults. Throws `InvalidHubChildSpecError`. */
export function normalizeChildSpec(spec: unknown): NormalizedChildSpec {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new InvalidHubChildSpecError("spec", "an object", spec);
  }
  const s = spec as Record<string, unknown>;
  if (typeof s.id !== "string" || s.id.length === 0)
    throw new InvalidHubChildSpecError("id", "a non-empty string", s.id);
  if (typeof s.behaviour !== "string" || s.behaviour.length === 0) {
    throw new InvalidHubChildSpecError("behaviour", "a registered behaviour name", s.behaviour);
  }
  const restart = s.restart ?? "permanent";
  if (typeof restart !== "string" || !RESTARTS.has(restart)) {
    throw new InvalidHubChildSpecError("restart", '"permanent", "transient" or "temporary"', restart);
  }
  const shutdown = s.shutdown ?? 5000;
  if (
    !(typeof shutdown === "number" && Number.isFinite(shutdown) && shutdown >= 0) &&
    shutdown !== "brutal_kill" &&
    shutdown !== "infinity"
  ) {
    throw new InvalidHubChildSpecError(
      "shutdown",
      'a number of ms >= 0, "brutal_kill" or "infinity"',
      shutdown,
    );
  }
  const metadata = s.metadata ?? {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new InvalidHubChildSpecError("metadata", "an object", metadata);
  }
  const tag = (metadata as ChildMetadata).tag;
  if (tag !== undefined && typeof tag !== "string")
    throw new InvalidHubChildSpecError("metadata.tag", "a string", tag);
  assertSerialisable("args", s.args, 0);
  assertSerialisable("metadata", metadata, 0);
  return {
    id: s.id,
    behaviour: s.behaviour,
    args: s.args,
    restart: restart as HubRestart,
    shutdown: shutdown as HubShutdown,
    metadata: metadata as ChildMetadata,
  };
}

/** Rejects what cannot cross the wire: functions, symbols, class instances other than plain data. */
function assertSerialisable(field: string, value: unknown, depth: number): void {
  if (depth > 32)
    throw new InvalidHubChildSpecError(field, "serialisable data (nested at most 32 deep)", "…");
  const t = typeof value;
  if (t === "function" || t === "symbol")
    throw new InvalidHubChildSpecError(field, "serialisable data", value);
  if (t !== "object" || value === null) return;
  if (value instanceof Date || value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    for (const v of value) assertSerialisable(field, v, depth + 1);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    // Pids and refs serialise through the cluster codec; other class instances would lose their type.
    if (typeof (value as { toJSON?: unknown }).toJSON === "function") return;
    throw new InvalidHubChildSpecError(field, "plain data (no class instances)", value);
  }
  for (const v of Object.values(value as object)) assertSerialisable(field, v, depth + 1);
}
