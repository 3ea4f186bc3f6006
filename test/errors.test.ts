/**
 * The error catalogue stays honest: every error class exported from the public entries
 * (`hubvisor`, `hubvisor/nats`, `hubvisor/testing`) has `name` equal to its class name and a
 * stable, unique `HV_ERR_…` code listed in `docs/errors.md`; every code written in `src/` is
 * listed there too; every error class declared in `src/` is exported (or a known exception); no two
 * exported classes share a `name`; and every one crosses the wire as itself (registered with the codec).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as root from "../src/index.js";
import { Codec } from "../src/internal.js";
import * as nats from "../src/nats.js";
import { Pid } from "../src/process/pid.js";
import * as testing from "../src/testing.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const catalogue = readFileSync(join(repo, "docs", "errors.md"), "utf8");
const CODE = /^HV_ERR_[A-Z0-9_]+$/;

type ErrorClass = abstract new (...args: never[]) => root.HubvisorError;
const pid = new Pid("n", 1, 1);

/** One instance per concrete class, built with arguments of the right shape. */
const samples: Array<[ErrorClass, () => root.HubvisorError]> = [
  [root.InvalidOptionError, () => new root.InvalidOptionError("f", "a number", "x")],
  [root.ApplicationStartError, () => new root.ApplicationStartError("boom")],
  [root.NameTakenError, () => new root.NameTakenError("n", pid)],
  [root.NoProcError, () => new root.NoProcError(pid)],
  [root.NotInProcessError, () => new root.NotInProcessError("link")],
  [root.NotDistributedError, () => new root.NotDistributedError(new root.Pid("elsewhere", 1, 1))],
  [root.HubPartitionedError, () => new root.HubPartitionedError("hub", "a")],
  [root.ReceiveError, () => new root.ReceiveError("twice")],
  [root.CallExitError, () => new root.CallExitError("noproc", pid)],
  [root.CallTimeoutError, () => new root.CallTimeoutError(pid, 10)],
  [root.UnknownMessageError, () => new root.UnknownMessageError("call", "x", "B")],
  [root.BadReturnError, () => new root.BadReturnError("init", 1)],
  [root.StopTimeoutError, () => new root.StopTimeoutError(pid, 10)],
  [root.StartCrashError, () => new root.StartCrashError("Worker.init", "oops")],
  [root.TaskTimeoutError, () => new root.TaskTimeoutError(pid, 10)],
  [root.TaskExitError, () => new root.TaskExitError(pid, "boom")],
  [root.TaskStartError, () => new root.TaskStartError("max_children")],
  [root.MissingIdError, () => new root.MissingIdError()],
  [root.MissingStartError, () => new root.MissingStartError()],
  [root.InvalidStartError, () => new root.InvalidStartError(1)],
  [root.InvalidRestartTypeError, () => new root.InvalidRestartTypeError(1)],
  [root.InvalidShutdownError, () => new root.InvalidShutdownError(-1)],
  [root.InvalidChildTypeError, () => new root.InvalidChildTypeError(1)],
  [root.InvalidModulesError, () => new root.InvalidModulesError(1)],
  [root.InvalidSignificantError, () => new root.InvalidSignificantError(1)],
  [root.InvalidChildSpecError, () => new root.InvalidChildSpecError(1)],
  [root.DuplicateChildNameError, () => new root.DuplicateChildNameError("a")],
  [root.NotASupervisorError, () => new root.NotASupervisorError(pid, "whichChildren")],
  [root.MissingDepsError, () => new root.MissingDepsError(["a"])],
  [root.InvalidChildIdError, () => new root.InvalidChildIdError(pid)],
  [root.NonUniformShutdownGroupError, () => new root.NonUniformShutdownGroupError("g")],
  [root.ChildAlreadyStartedError, () => new root.ChildAlreadyStartedError("a", pid)],
  [root.InvalidParentChildSpecError, () => new root.InvalidParentChildSpecError("meta", "x", 1)],
  [root.BadStartReturnError, () => new root.BadStartReturnError(1)],
  [root.NotAParentError, () => new root.NotAParentError(pid)],
  [root.ParentViaRegisterError, () => new root.ParentViaRegisterError()],
  [root.NoParentRegistryError, () => new root.NoParentRegistryError(pid)],
  [root.ChildStartFailedError, () => new root.ChildStartFailedError("a", "boom")],
  [root.EntityNoOwnerError, () => new root.EntityNoOwnerError("r1", 10)],
  [root.EntityPartitionedError, () => new root.EntityPartitionedError("r1", "a")],
  [root.EntityOverflowError, () => new root.EntityOverflowError("r1", "id", 1000)],
  [root.EntityTimeoutError, () => new root.EntityTimeoutError("r1", "get", 10)],
  [root.EntityCallLostError, () => new root.EntityCallLostError("r1", "add", "noconnection")],
  [root.EntityActivationError, () => new root.EntityActivationError("r1", "start_failed", "boom")],
  [root.HubSettleTimeoutError, () => new root.HubSettleTimeoutError("h", 10, "joins pending: b")],
  [root.DurableStoreError, () => new root.DurableStoreError("update", "d.YQ", "store unavailable")],
  [root.DurableConflictError, () => new root.DurableConflictError("d.YQ", 7)],
  [root.CheckpointTooLargeError, () => new root.CheckpointTooLargeError("r1", 300_000, 262_144)],
  [root.ChildNotRunningError, () => new root.ChildNotRunningError("r1", 10)],
  [root.UnknownRegistryError, () => new root.UnknownRegistryError("R")],
  [root.ViaDuplicateRegistryError, () => new root.ViaDuplicateRegistryError("R")],
  [root.RegistryKindError, () => new root.RegistryKindError("R", "whereis", "unique")],
  [root.UnserialisableError, () => new root.UnserialisableError("a function")],
  [root.FrameTooLargeError, () => new root.FrameTooLargeError(2, 1)],
  [root.NoConnectionError, () => new root.NoConnectionError("b")],
  [root.UnknownBehaviourError, () => new root.UnknownBehaviourError("w", "b")],
  [root.BehaviourTakenError, () => new root.BehaviourTakenError("w")],
  [root.RemoteSpawnError, () => new root.RemoteSpawnError("w", "b", { cause: new Error("x") })],
  [root.SpawnTimeoutError, () => new root.SpawnTimeoutError("w", "b", 10)],
  [root.AlreadyJoinedError, () => new root.AlreadyJoinedError("a")],
  [root.InvalidNameError, () => new root.InvalidNameError("node.name", "a token", "a.b")],
  [root.ClusterClosedError, () => new root.ClusterClosedError("c")],
  [root.UnknownNodeError, () => new root.UnknownNodeError("x")],
  [root.TransportStateError, () => new root.TransportStateError("closed")],
  [root.NodeThreadStartError, () => new root.NodeThreadStartError("node-0", "no main")],
  [root.NodeThreadTimeoutError, () => new root.NodeThreadTimeoutError("node-0", 30_000)],
  [root.InvalidHubChildSpecError, () => new root.InvalidHubChildSpecError("id", "a string", 1)],
  [root.UnknownHubBehaviourError, () => new root.UnknownHubBehaviourError("w", "c1")],
  [root.DuplicateChildIdError, () => new root.DuplicateChildIdError("c1")],
  [root.UnknownHubError, () => new root.UnknownHubError("h", "a")],
  [root.HubAlreadyStartedError, () => new root.HubAlreadyStartedError("h", "a")],
  [root.HubStoppedError, () => new root.HubStoppedError("h")],
  [root.NoChildrenError, () => new root.NoChildrenError()],
  [root.InvalidChildMappingError, () => new root.InvalidChildMappingError("c1", "z")],
  [root.ChildSpecTooLargeError, () => new root.ChildSpecTooLargeError("c1", 2_000_000, 1_024_000)],
  [root.ChildStartTimeoutError, () => new root.ChildStartTimeoutError("c1", 30_000)],
  [root.MissingChildMappingError, () => new root.MissingChildMappingError("c1")],
  [root.ChildMappingMismatchError, () => new root.ChildMappingMismatchError("c1")],
  [root.ChildReplicationMismatchError, () => new root.ChildReplicationMismatchError("c1", 1, 2)],
  [root.FutureTimeoutError, () => new root.FutureTimeoutError(10)],
  [nats.NatsConnectError, () => new nats.NatsConnectError("nats://x", new Error("refused"))],
  [nats.NatsAlreadyConnectedError, () => new nats.NatsAlreadyConnectedError()],
  [nats.NatsTransportClosedError, () => new nats.NatsTransportClosedError()],
  [nats.NatsInvalidNameError, () => new nats.NatsInvalidNameError("cluster", "a.b")],
  [nats.NatsAuthError, () => new nats.NatsAuthError("c", "0a0b0c0d", "none")],
  [nats.NatsWireVersionError, () => new nats.NatsWireVersionError("c", 2, 1)],
];

/** Classes that take their code as an argument: the code is their subclass's or the remote's. */
const CODE_CARRIERS = new Set<unknown>([root.HubvisorError, root.ChildSpecError, root.RemoteError]);

/** Declared in `src/` but not exported from a public entry yet (listed as such in docs/errors.md). */
const NOT_EXPORTED = new Set<string>([]);

function exportedErrorClasses(): Map<ErrorClass, string[]> {
  const found = new Map<ErrorClass, string[]>();
  for (const [entry, mod] of [
    ["hubvisor", root],
    ["hubvisor/nats", nats],
    ["hubvisor/testing", testing],
  ] as const) {
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== "function") continue;
      if (value !== root.HubvisorError && !(value.prototype instanceof root.HubvisorError)) continue;
      const c = value as ErrorClass;
      found.set(c, [...(found.get(c) ?? []), `${entry}:${name}`]);
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith(".ts") ? [join(dir, d.name)] : [],
  );
}
const sources = sourceFiles(join(repo, "src")).map((f) => readFileSync(f, "utf8"));

describe("error classes", () => {
  it("every exported error class has a sample here", () => {
    const sampled = new Set<unknown>(samples.map(([c]) => c));
    const missing = [...exportedErrorClasses()]
      .filter(([c]) => !sampled.has(c) && !CODE_CARRIERS.has(c))
      .map(([, names]) => names.join(" / "));
    expect(missing).toEqual([]);
  });

  it("names each error after its class and gives it an HV_ERR_ code", () => {
    for (const [Class, make] of samples) {
      const e = make();
      expect(e).toBeInstanceOf(Class);
      expect(e).toBeInstanceOf(root.HubvisorError);
      expect(root.HubvisorError.is(e)).toBe(true);
      expect(e.name).toBe(Class.name);
      expect(e.code).toMatch(CODE);
    }
  });

  it("gives every class its own code", () => {
    const byCode = new Map<string, string[]>();
    for (const [Class, make] of samples)
      byCode.set(make().code, [...(byCode.get(make().code) ?? []), Class.name]);
    expect([...byCode].filter(([, classes]) => classes.length > 1)).toEqual([]);
  });

  it("code carriers keep the code they are given", () => {
    expect(new root.HubvisorError("HV_ERR_X", "m").code).toBe("HV_ERR_X");
    const remote = new root.RemoteError("HV_ERR_TASK_EXIT", "TaskExitError", "remote crash");
    expect([remote.name, remote.code, remote.remoteName]).toEqual([
      "RemoteError",
      "HV_ERR_TASK_EXIT",
      "TaskExitError",
    ]);
  });
});

/**
 * Hub classes that still share their class name with a lower layer's error (the root exports them
 * renamed, but `err.name` is the class name). Pending their rename in `src/hub/errors.ts`; the test
 * below fails once they are renamed, so that this list is emptied then.
 */
const SHARED_NAMES_PENDING_RENAME: string[] = [];

describe("error names and the wire", () => {
  it("no two exported error classes share a name", () => {
    const byName = new Map<string, ErrorClass[]>();
    for (const c of exportedErrorClasses().keys()) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
    const shared = [...byName].filter(([, classes]) => classes.length > 1).map(([name]) => name);
    expect(shared.sort()).toEqual(SHARED_NAMES_PENDING_RENAME);
  });

  it("every exported error class crosses the wire as itself, with its code, message and fields", () => {
    const codec = new Codec();
    const wrong: string[] = [];
    for (const [Class, make] of samples) {
      const sent = make();
      const [got] = codec.decode(codec.encode(sent)).values as [root.HubvisorError];
      const same =
        got instanceof Class &&
        got.code === sent.code &&
        got.name === sent.name &&
        got.message === sent.message &&
        root.HubvisorError.is(got);
      if (!same) wrong.push(`${Class.name} (${sent.code}) arrived as ${got?.name}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("docs/errors.md", () => {
  it("lists the code and the class name of every exported error", () => {
    const missing = samples
      .map(([Class, make]) => [Class.name, make().code] as const)
      .filter(([name, code]) => !catalogue.includes(`\`${code}\``) || !catalogue.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it("lists every HV_ERR_ code written anywhere in src/", () => {
    const codes = new Set(
      sources.flatMap((s) => [...s.matchAll(/"(HV_ERR_[A-Z0-9_]+)"/g)].map((m) => m[1]!)),
    );
    expect(codes.size).toBeGreaterThan(50);
    expect([...codes].filter((c) => !catalogue.includes(`\`${c}\``))).toEqual([]);
  });

  it("every error class declared in src/ is exported, except the documented exceptions", () => {
    const declared = sources.flatMap((s) =>
      [...s.matchAll(/export class (\w+) extends (?:HubvisorError|ChildSpecError)\b/g)].map((m) => m[1]!),
    );
    const exported = new Set([...exportedErrorClasses().keys()].map((c) => c.name));
    const unexported = declared.filter((n) => !exported.has(n));
    expect(unexported.filter((n) => !NOT_EXPORTED.has(n))).toEqual([]);
    for (const n of unexported) expect(catalogue).toContain(`\`${n}\``);
  });
});
