/**
 * Errors on the wire: every hubvisor error class registered by its stable `code` (the codec
 * brings a coded error back as its class), and how an error is written (`{name, message, code,
 * stack, fields, cause}`) and read back — as its registered class, else a `RemoteError` with the
 * same code, else (no code) the built-in error class of the same name. Imports the error classes
 * of every layer (the error modules import only the root `errors`, plus `application.ts` for
 * `ApplicationStartError`) and its own `errors`.
 */
import { ApplicationStartError } from "../application.js";
import { HubvisorError, InvalidOptionError } from "../errors.js";
import * as hubErrors from "../hub/errors.js";
import * as entityErrors from "../hub/entities/errors.js";
import * as durableErrors from "../hub/durable/errors.js";
import { HubPartitionedError } from "../hub/strategies/errors.js";
import * as processErrors from "../process/errors.js";
import * as registryErrors from "../registry/errors.js";
import * as serverErrors from "../server/errors.js";
import * as taskErrors from "../server/task-errors.js";
import * as supervisionErrors from "../supervision/errors.js";
import * as parentErrors from "../supervision/parent/errors.js";
import * as memoryErrors from "../transports/memory/errors.js";
import * as threadErrors from "../transports/threads/errors.js";
import * as natsErrors from "../transports/nats/errors.js";
import * as clusterErrors from "./errors.js";
import { FrameTooLargeError, RemoteError, UnserialisableError } from "./errors.js";

/** Thrown inside msgpackr when an extension payload has the wrong shape; caught by `decode`. */
export class BadExtension extends Error {}

type ErrorClass = abstract new (...args: never[]) => Error;
const errorClasses = new Map<string, ErrorClass>();

/**
 * Teaches the codec that errors with `code` decode to `Class` (its prototype; the constructor is
 * not called). Every hubvisor error class is registered already; layers and applications add theirs.
 * @category cluster
 */
export function registerErrorClass(code: string, Class: ErrorClass): void {
  errorClasses.set(code, Class);
}

/**
 * Every hubvisor error class with its code, so that it crosses the wire as itself. A class missing
 * here would arrive as a `RemoteError`: `test/packaging/errors.test.ts` checks that every error
 * class exported by a public entry is here, under the code its instances carry. (The error modules
 * import nothing but the root `errors`, so importing every layer's here makes no cycle.)
 */
const BUILTIN_CLASSES: Array<[string, ErrorClass]> = [
  ["HV_ERR_INVALID_OPTION", InvalidOptionError],
  ["HV_ERR_APPLICATION_START", ApplicationStartError],
  // process
  ["HV_ERR_NAME_TAKEN", processErrors.NameTakenError],
  ["HV_ERR_NOPROC", processErrors.NoProcError],
  ["HV_ERR_NOT_IN_PROCESS", processErrors.NotInProcessError],
  ["HV_ERR_NOT_DISTRIBUTED", processErrors.NotDistributedError],
  ["HV_ERR_RECEIVE", processErrors.ReceiveError],
  ["HV_ERR_CALL_EXIT", processErrors.CallExitError],
  ["HV_ERR_CALL_TIMEOUT", processErrors.CallTimeoutError],
  // server
  ["HV_ERR_UNKNOWN_MESSAGE", serverErrors.UnknownMessageError],
  ["HV_ERR_BAD_RETURN", serverErrors.BadReturnError],
  ["HV_ERR_STOP_TIMEOUT", serverErrors.StopTimeoutError],
  ["HV_ERR_START_CRASH", serverErrors.StartCrashError],
  ["HV_ERR_TASK_TIMEOUT", taskErrors.TaskTimeoutError],
  ["HV_ERR_TASK_EXIT", taskErrors.TaskExitError],
  ["HV_ERR_TASK_START", taskErrors.TaskStartError],
  // supervision
  ["HV_ERR_CHILD_SPEC_MISSING_ID", supervisionErrors.MissingIdError],
  ["HV_ERR_CHILD_SPEC_MISSING_START", supervisionErrors.MissingStartError],
  ["HV_ERR_CHILD_SPEC_INVALID_START", supervisionErrors.InvalidStartError],
  ["HV_ERR_CHILD_SPEC_INVALID_RESTART", supervisionErrors.InvalidRestartTypeError],
  ["HV_ERR_CHILD_SPEC_INVALID_SHUTDOWN", supervisionErrors.InvalidShutdownError],
  ["HV_ERR_CHILD_SPEC_INVALID_TYPE", supervisionErrors.InvalidChildTypeError],
  ["HV_ERR_CHILD_SPEC_INVALID_MODULES", supervisionErrors.InvalidModulesError],
  ["HV_ERR_CHILD_SPEC_INVALID_SIGNIFICANT", supervisionErrors.InvalidSignificantError],
  ["HV_ERR_INVALID_CHILD_SPEC", supervisionErrors.InvalidChildSpecError],
  ["HV_ERR_DUPLICATE_CHILD_NAME", supervisionErrors.DuplicateChildNameError],
  ["HV_ERR_NOT_A_SUPERVISOR", supervisionErrors.NotASupervisorError],
  ["HV_ERR_PARENT_BAD_START_RETURN", supervisionErrors.BadStartReturnError],
  // parent
  ["HV_ERR_PARENT_MISSING_DEPS", parentErrors.MissingDepsError],
  ["HV_ERR_PARENT_INVALID_CHILD_ID", parentErrors.InvalidChildIdError],
  ["HV_ERR_PARENT_NON_UNIFORM_SHUTDOWN_GROUP", parentErrors.NonUniformShutdownGroupError],
  ["HV_ERR_PARENT_ALREADY_STARTED", parentErrors.ChildAlreadyStartedError],
  ["HV_ERR_PARENT_INVALID_CHILD_SPEC", parentErrors.InvalidParentChildSpecError],
  ["HV_ERR_NOT_A_PARENT", parentErrors.NotAParentError],
  ["HV_ERR_PARENT_VIA_REGISTER", parentErrors.ParentViaRegisterError],
  ["HV_ERR_NO_PARENT_REGISTRY", parentErrors.NoParentRegistryError],
  ["HV_ERR_PARENT_CHILD_START_FAILED", parentErrors.ChildStartFailedError],
  // registry
  ["HV_ERR_UNKNOWN_REGISTRY", registryErrors.UnknownRegistryError],
  ["HV_ERR_REGISTRY_VIA_DUPLICATE", registryErrors.ViaDuplicateRegistryError],
  ["HV_ERR_REGISTRY_KIND", registryErrors.RegistryKindError],
  // cluster
  ["HV_ERR_UNSERIALISABLE", UnserialisableError],
  ["HV_ERR_FRAME_TOO_LARGE", FrameTooLargeError],
  ["HV_ERR_NOCONNECTION", clusterErrors.NoConnectionError],
  ["HV_ERR_UNKNOWN_BEHAVIOUR", clusterErrors.UnknownBehaviourError],
  ["HV_ERR_BEHAVIOUR_TAKEN", clusterErrors.BehaviourTakenError],
  ["HV_ERR_REMOTE_SPAWN", clusterErrors.RemoteSpawnError],
  ["HV_ERR_SPAWN_TIMEOUT", clusterErrors.SpawnTimeoutError],
  ["HV_ERR_ALREADY_JOINED", clusterErrors.AlreadyJoinedError],
  ["HV_ERR_CLUSTER_CLOSED", clusterErrors.ClusterClosedError],
  ["HV_ERR_INVALID_NAME", clusterErrors.InvalidNameError],
  // transports
  ["HV_ERR_UNKNOWN_NODE", memoryErrors.UnknownNodeError],
  ["HV_ERR_TRANSPORT_STATE", memoryErrors.TransportStateError],
  ["HV_ERR_NODE_THREAD_START", threadErrors.NodeThreadStartError],
  ["HV_ERR_NODE_THREAD_TIMEOUT", threadErrors.NodeThreadTimeoutError],
  ["HV_ERR_NATS_CONNECT", natsErrors.NatsConnectError],
  ["HV_ERR_NATS_ALREADY_CONNECTED", natsErrors.NatsAlreadyConnectedError],
  ["HV_ERR_NATS_CLOSED", natsErrors.NatsTransportClosedError],
  ["HV_ERR_NATS_INVALID_NAME", natsErrors.NatsInvalidNameError],
  ["HV_ERR_NATS_AUTH", natsErrors.NatsAuthError],
  ["HV_ERR_NATS_WIRE_VERSION", natsErrors.NatsWireVersionError],
  // hub
  ["HV_ERR_HUB_INVALID_CHILD_SPEC", hubErrors.InvalidHubChildSpecError],
  ["HV_ERR_HUB_UNKNOWN_BEHAVIOUR", hubErrors.UnknownHubBehaviourError],
  ["HV_ERR_HUB_DUPLICATE_CHILD_ID", hubErrors.DuplicateChildIdError],
  ["HV_ERR_HUB_UNKNOWN", hubErrors.UnknownHubError],
  ["HV_ERR_HUB_ALREADY_STARTED", hubErrors.HubAlreadyStartedError],
  ["HV_ERR_HUB_STOPPED", hubErrors.HubStoppedError],
  ["HV_ERR_HUB_NO_CHILDREN", hubErrors.NoChildrenError],
  ["HV_ERR_HUB_INVALID_CHILD_MAPPING", hubErrors.InvalidChildMappingError],
  ["HV_ERR_HUB_MISSING_CHILD_MAPPING", hubErrors.MissingChildMappingError],
  ["HV_ERR_HUB_CHILD_MAPPING_MISMATCH", hubErrors.ChildMappingMismatchError],
  ["HV_ERR_HUB_CHILD_REPLICATION_MISMATCH", hubErrors.ChildReplicationMismatchError],
  ["HV_ERR_HUB_FUTURE_TIMEOUT", hubErrors.FutureTimeoutError],
  ["HV_ERR_HUB_CHILD_SPEC_TOO_LARGE", hubErrors.ChildSpecTooLargeError],
  ["HV_ERR_HUB_CHILD_START_TIMEOUT", hubErrors.ChildStartTimeoutError],
  ["HV_ERR_HUB_PARTITIONED", HubPartitionedError],
  ["HV_ERR_HUB_ENTITY_NO_OWNER", entityErrors.EntityNoOwnerError],
  ["HV_ERR_HUB_ENTITY_PARTITIONED", entityErrors.EntityPartitionedError],
  ["HV_ERR_HUB_ENTITY_OVERFLOW", entityErrors.EntityOverflowError],
  ["HV_ERR_HUB_ENTITY_TIMEOUT", entityErrors.EntityTimeoutError],
  ["HV_ERR_HUB_ENTITY_CALL_LOST", entityErrors.EntityCallLostError],
  ["HV_ERR_HUB_ENTITY_ACTIVATION", entityErrors.EntityActivationError],
  ["HV_ERR_HUB_SETTLE_TIMEOUT", entityErrors.HubSettleTimeoutError],
  ["HV_ERR_HUB_CHILD_NOT_RUNNING", entityErrors.ChildNotRunningError],
  ["HV_ERR_HUB_DURABLE_STORE", durableErrors.DurableStoreError],
  ["HV_ERR_HUB_DURABLE_CONFLICT", durableErrors.DurableConflictError],
  ["HV_ERR_HUB_CHECKPOINT_TOO_LARGE", durableErrors.CheckpointTooLargeError],
];
for (const [code, Class] of BUILTIN_CLASSES) registerErrorClass(code, Class);

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

const BRAND = Symbol.for("hubvisor.error");
const SKIPPED_FIELDS = new Set(["name", "message", "stack", "code", "cause", "__proto__"]);

type WireError = [
  name: string,
  message: string,
  code: string | null,
  stack: string | null,
  fields: object,
  cause: unknown,
];

export function writeError(e: Error): WireError {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(e)) {
    if (SKIPPED_FIELDS.has(key)) continue;
    const v = (e as unknown as Record<string, unknown>)[key];
    if (typeof v !== "function" && typeof v !== "symbol") fields[key] = v;
  }
  const code = (e as { code?: unknown }).code;
  return [
    String(e.name),
    String(e.message),
    typeof code === "string" ? code : null,
    typeof e.stack === "string" ? e.stack : null,
    fields,
    "cause" in e ? e.cause : undefined,
  ];
}

function hidden(target: object, key: string | symbol, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}

export function readError(v: unknown): Error {
  if (!Array.isArray(v) || v.length !== 6) throw new BadExtension("malformed error");
  const [name, message, code, stack, fields, cause] = v as unknown[];
  if (typeof name !== "string" || typeof message !== "string") throw new BadExtension("malformed error");
  if ((code !== null && typeof code !== "string") || (stack !== null && typeof stack !== "string")) {
    throw new BadExtension("malformed error");
  }
  if (typeof fields !== "object" || fields === null) throw new BadExtension("malformed error");
  let err: Error;
  if (code !== null) {
    const Class = errorClasses.get(code);
    if (Class !== undefined) {
      err = Object.create(Class.prototype) as Error;
      hidden(err, "message", message);
      Object.assign(err, { code, name });
      if (err instanceof HubvisorError) (err as unknown as Record<symbol, boolean>)[BRAND] = true;
    } else {
      err = new RemoteError(code, name, message);
    }
  } else {
    const Builtin = BUILTIN_ERRORS[name];
    err = Builtin !== undefined ? new Builtin(message) : new Error(message);
    if (Builtin === undefined) err.name = name;
  }
  hidden(err, "stack", stack ?? `${name}: ${message}`);
  for (const [key, value] of Object.entries(fields)) {
    if (!SKIPPED_FIELDS.has(key)) (err as unknown as Record<string, unknown>)[key] = value;
  }
  if (cause !== undefined) hidden(err, "cause", cause);
  return err;
}
