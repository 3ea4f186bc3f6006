/**
 * The wire codec: MessagePack (msgpackr) with extensions that keep hubvisor's value types alive
 * across nodes: `Pid`, `Ref`, `From`, `ExitMessage`, `DownMessage` and errors. An error travels
 * as `{name, message, code, stack, fields, cause}` and comes back as the class registered for its
 * `code` (every hubvisor error class is registered below), else as a `RemoteError` with the same
 * code, else (no code) as the built-in error class of the same name.
 *
 * One wire message holds one or more frames: MessagePack is self-delimiting, so a batch is the
 * plain concatenation of encoded frames. Functions and symbols never travel: encoding them throws
 * `UnserialisableError`. Decoding never throws: it reports what went wrong.
 *
 * msgpackr keeps its extension table module-global, so the extensions are registered once, when
 * this module loads, under type codes 0x31–0x36 (unused by msgpackr itself).
 *
 * Imports `process` (pid, messages, node's `From`), its own `errors`, and the error classes of
 * every layer (to register them: the error modules import only the root `errors`, plus
 * `application.ts` for `ApplicationStartError`).
 */
import { Packr, Unpackr, addExtension } from "msgpackr";
import { ApplicationStartError } from "../application.js";
import { HubvisorError, InvalidOptionError } from "../errors.js";
import * as hubErrors from "../hub/errors.js";
import { HubPartitionedError } from "../hub/strategies/errors.js";
import * as processErrors from "../process/errors.js";
import { DownMessage, ExitMessage } from "../process/messages.js";
import { From } from "../process/node.js";
import { Pid, Ref } from "../process/pid.js";
import * as registryErrors from "../registry/errors.js";
import * as serverErrors from "../server/errors.js";
import * as taskErrors from "../server/task-errors.js";
import * as supervisionErrors from "../supervision/errors.js";
import * as parentErrors from "../supervision/parent/errors.js";
import * as memoryErrors from "../transports/memory/errors.js";
import * as natsErrors from "../transports/nats/errors.js";
import * as clusterErrors from "./errors.js";
import { FrameTooLargeError, RemoteError, UnserialisableError } from "./errors.js";

/** Thrown inside msgpackr when an extension payload has the wrong shape; caught by `decode`. */
class BadExtension extends Error {}

function isIdTriple(v: unknown): v is [string, number, number] {
  return (
    Array.isArray(v) &&
    v.length === 3 &&
    typeof v[0] === "string" &&
    Number.isInteger(v[1]) &&
    Number.isInteger(v[2])
  );
}

function readPid(v: unknown): Pid {
  if (!isIdTriple(v)) throw new BadExtension("malformed pid");
  return new Pid(v[0], v[1], v[2]);
}

function readRef(v: unknown): Ref {
  if (!isIdTriple(v)) throw new BadExtension("malformed ref");
  return new Ref(v[0], v[1], v[2]);
}

// ------------------------------------------------------------------------------------ errors

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
  // transports
  ["HV_ERR_UNKNOWN_NODE", memoryErrors.UnknownNodeError],
  ["HV_ERR_TRANSPORT_STATE", memoryErrors.TransportStateError],
  ["HV_ERR_NATS_CONNECT", natsErrors.NatsConnectError],
  ["HV_ERR_NATS_ALREADY_CONNECTED", natsErrors.NatsAlreadyConnectedError],
  ["HV_ERR_NATS_CLOSED", natsErrors.NatsTransportClosedError],
  ["HV_ERR_NATS_INVALID_NAME", natsErrors.NatsInvalidNameError],
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
  ["HV_ERR_HUB_PARTITIONED", HubPartitionedError],
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

function writeError(e: Error): WireError {
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

function readError(v: unknown): Error {
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

// ------------------------------------------------------------------------------------ extensions

addExtension({ Class: Pid, type: 0x31, write: (p: Pid) => [p.node, p.id, p.creation], read: readPid });
addExtension({ Class: Ref, type: 0x32, write: (r: Ref) => [r.node, r.id, r.creation], read: readRef });
addExtension({
  Class: From,
  type: 0x33,
  write: (f: From) => {
    // A local caller's reply will now come from another node, by ref.
    f.call?.expose();
    return [f.pid, f.ref];
  },
  read: (v: unknown) => {
    if (!Array.isArray(v) || v.length !== 2 || !(v[0] instanceof Pid) || !(v[1] instanceof Ref)) {
      throw new BadExtension("malformed From");
    }
    return new From(v[0], v[1]);
  },
});
addExtension({
  Class: ExitMessage,
  type: 0x34,
  write: (m: ExitMessage) => [m.from, m.reason],
  read: (v: unknown) => {
    if (!Array.isArray(v) || v.length !== 2 || !(v[0] instanceof Pid))
      throw new BadExtension("malformed EXIT");
    return new ExitMessage(v[0], v[1]);
  },
});
addExtension({
  Class: DownMessage,
  type: 0x35,
  write: (m: DownMessage) => [m.ref, m.pid, m.reason],
  read: (v: unknown) => {
    if (!Array.isArray(v) || v.length !== 3 || !(v[0] instanceof Ref) || !(v[1] instanceof Pid)) {
      throw new BadExtension("malformed DOWN");
    }
    return new DownMessage(v[0], v[1], v[2]);
  },
});
addExtension({ Class: Error, type: 0x36, write: writeError, read: readError });

// ------------------------------------------------------------------------------------ codec

/** Why a wire message (or part of it) could not be decoded. */
export type DecodeProblem = "oversized" | "truncated" | "garbled";

/** What `decode` found: the frames it could read, and the problem that stopped it, if any. */
export interface DecodeResult {
  values: unknown[];
  problem: DecodeProblem | null;
  detail: string | null;
}

/** Default `maxFrameBytes`: 1 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

const refuseFunction = (): never => {
  throw new TypeError("a function cannot be serialised");
};

// ------------------------------------------------------------------------------------ sizes

/** Measures the values `sizeBound` does not walk; same settings (and extensions) as `Codec`. */
const measurer = new Packr({ useRecords: false, moreTypes: true, writeFunction: refuseFunction });

/** Nesting beyond which `sizeBound` stops walking and measures (a cycle then fails to encode: 0). */
const MAX_WALK_DEPTH = 64;

/**
 * The encoded size of `value` in bytes, by encoding it; 0 if it cannot be encoded (the real
 * encode will throw `UnserialisableError` then). For the rare values `sizeBound` does not walk.
 */
export function encodedSize(value: unknown): number {
  try {
    return measurer.pack(value).length;
  } catch {
    return 0;
  }
}

/**
 * An upper bound of the size of string `s` encoded, header included. Short strings are bounded
 * by 3 bytes per UTF-16 unit without measuring; long ones are measured (exact, plus the largest
 * header), so that 2 KB of ASCII counts as 2 KB and not 6.
 */
export function strBound(s: string): number {
  return s.length < 64 ? 3 * s.length + 2 : Buffer.byteLength(s) + 5;
}

/**
 * An upper bound of the bytes `value` takes once encoded, computed without encoding it: what
 * lets the hub split large payloads into messages under the frame limit without encoding them
 * twice. Strings are measured (see `strBound`); numbers count 9 bytes (the widest form), arrays
 * and plain objects their widest header plus their contents. Values of other classes (pids,
 * dates, maps, errors…) are encoded once to measure them (`encodedSize`).
 */
export function sizeBound(value: unknown): number {
  return walkBound(value, 0);
}

function walkBound(value: unknown, depth: number): number {
  switch (typeof value) {
    case "string":
      return strBound(value);
    case "number":
      return 9;
    case "boolean":
      return 1;
    case "undefined":
      return 3; // msgpackr writes undefined as a 3-byte fixext
    case "object":
      return value === null ? 1 : objectBound(value, depth);
    default:
      return encodedSize(value);
  }
}

function objectBound(value: object, depth: number): number {
  if (depth >= MAX_WALK_DEPTH) return encodedSize(value);
  if (Array.isArray(value)) {
    let n = 5;
    for (let i = 0; i < value.length; i++) n += walkBound(value[i], depth + 1);
    return n;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    let n = 5;
    for (const key in value)
      n += strBound(key) + walkBound((value as Record<string, unknown>)[key], depth + 1);
    return n;
  }
  if (value instanceof Uint8Array) return value.byteLength + 8;
  return encodedSize(value);
}

/**
 * Encodes frames and decodes wire messages, enforcing a maximum frame size both ways.
 * @category cluster
 */
export class Codec {
  private readonly packr = new Packr({ useRecords: false, moreTypes: true, writeFunction: refuseFunction });
  private readonly unpackr = new Unpackr({
    useRecords: false,
    moreTypes: true,
    mapsAsObjects: true,
    copyBuffers: true,
  });

  constructor(readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 64) {
      throw new InvalidOptionError("maxFrameBytes", "an integer >= 64", maxFrameBytes);
    }
  }

  /** Encodes one value (a frame). Throws `UnserialisableError` or `FrameTooLargeError`. */
  encode(value: unknown, what = "value"): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = this.packr.pack(value);
    } catch (e) {
      throw new UnserialisableError(what, { cause: e });
    }
    if (bytes.length > this.maxFrameBytes) throw new FrameTooLargeError(bytes.length, this.maxFrameBytes);
    return bytes;
  }

  /**
   * Decodes a wire message into its frames. Never throws: on a truncated or garbled message the
   * frames before the damage are returned along with the problem.
   */
  decode(bytes: Uint8Array): DecodeResult {
    if (bytes.length > this.maxFrameBytes) {
      return { values: [], problem: "oversized", detail: `${bytes.length} bytes` };
    }
    const values: unknown[] = [];
    if (bytes.length === 0) return { values, problem: "truncated", detail: "empty message" };
    try {
      this.unpackr.unpackMultiple(bytes as Buffer, (value: unknown) => {
        values.push(value);
      });
      return { values, problem: null, detail: null };
    } catch (e) {
      const incomplete =
        typeof e === "object" && e !== null && (e as { incomplete?: unknown }).incomplete === true;
      const detail = e instanceof Error ? e.message : String(e);
      return { values, problem: incomplete ? "truncated" : "garbled", detail };
    }
  }
}
