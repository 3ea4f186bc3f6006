import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Codec,
  FrameTag,
  FrameTooLargeError,
  RemoteError,
  registerErrorClass,
  UnknownBehaviourError,
  UnserialisableError,
  validateFrame,
} from "../../src/cluster/index.js";
import { HubvisorError } from "../../src/errors.js";
import {
  CallExitError,
  DownMessage,
  ExitMessage,
  From,
  NameTakenError,
  Pid,
  Ref,
} from "../../src/process/index.js";

const codec = new Codec();
const roundTrip = (v: unknown): unknown => {
  const r = codec.decode(codec.encode(v));
  expect(r.problem).toBe(null);
  return r.values[0];
};

describe("Codec.encode / decode", () => {
  it("keeps pids, refs, From, EXIT and DOWN messages as their classes", () => {
    const pid = new Pid("n1", 7, 99);
    const ref = new Ref("n1", 3, 99);
    const [p, r, f, x, d] = roundTrip([
      pid,
      ref,
      new From(pid, ref),
      new ExitMessage(pid, "normal"),
      new DownMessage(ref, pid, "killed"),
    ]) as [Pid, Ref, From, ExitMessage, DownMessage];
    expect(p).toBeInstanceOf(Pid);
    expect(p.equals(pid)).toBe(true);
    expect(r.equals(ref)).toBe(true);
    expect(f).toBeInstanceOf(From);
    expect(f.pid.equals(pid) && f.ref.equals(ref)).toBe(true);
    expect(x).toBeInstanceOf(ExitMessage);
    expect(x.reason).toBe("normal");
    expect(d).toBeInstanceOf(DownMessage);
    expect(d.reason).toBe("killed");
  });

  it("brings hubvisor errors back as their class, with code, fields, stack and cause", () => {
    const holder = new Pid("n", 1, 1);
    const e = roundTrip(new NameTakenError("svc", holder)) as NameTakenError;
    expect(e).toBeInstanceOf(NameTakenError);
    expect(HubvisorError.is(e)).toBe(true);
    expect(e.code).toBe("HV_ERR_NAME_TAKEN");
    expect(e.name).toBe("NameTakenError");
    expect(e.processName).toBe("svc");
    expect(e.holder.equals(holder)).toBe(true);
    expect(e.stack).toContain("NameTakenError");
    const nested = roundTrip(new CallExitError(new TypeError("inner"), holder)) as CallExitError;
    expect(nested.reason).toBeInstanceOf(TypeError);
    const withCause = roundTrip(new Error("outer", { cause: new RangeError("root") })) as Error;
    expect(withCause.cause).toBeInstanceOf(RangeError);
  });

  it("decodes an unknown coded error as RemoteError with the same code, and plain errors by name", () => {
    class AppError extends HubvisorError {
      constructor() {
        super("APP_ERR_SOMETHING", "app failed");
      }
    }
    const e = roundTrip(new AppError()) as RemoteError;
    expect(e).toBeInstanceOf(RemoteError);
    expect(e.code).toBe("APP_ERR_SOMETHING");
    expect(e.remoteName).toBe("AppError");
    expect(e.message).toBe("app failed");
    registerErrorClass("APP_ERR_SOMETHING", AppError);
    expect(roundTrip(new AppError())).toBeInstanceOf(AppError);
    class Custom extends Error {
      override name = "Custom";
    }
    const c = roundTrip(new Custom("x")) as Error;
    expect(c.name).toBe("Custom");
    expect(c.message).toBe("x");
    expect(roundTrip(new SyntaxError("s"))).toBeInstanceOf(SyntaxError);
    expect(roundTrip(new UnknownBehaviourError("b", "n"))).toBeInstanceOf(UnknownBehaviourError);
  });

  it("refuses functions and symbols with UnserialisableError and large frames with FrameTooLargeError", () => {
    expect(() => codec.encode({ f: () => 1 })).toThrow(UnserialisableError);
    expect(() => codec.encode([Symbol("s")])).toThrow(UnserialisableError);
    const small = new Codec(1024);
    expect(() => small.encode("x".repeat(2000))).toThrow(FrameTooLargeError);
  });

  it("reports oversized, truncated and garbled input without throwing", () => {
    const small = new Codec(128);
    expect(small.decode(new Uint8Array(200)).problem).toBe("oversized");
    const bytes = codec.encode([1, "abcdef"]);
    expect(codec.decode(bytes.subarray(0, bytes.length - 2)).problem).toBe("truncated");
    expect(codec.decode(new Uint8Array([0xd4, 0x7f, 0x00])).problem).toBe("garbled");
    expect(codec.decode(new Uint8Array([0xd4, 0x31, 0x00, 0x01])).problem).toBe("garbled");
  });

  it("never throws on arbitrary bytes, and validateFrame never throws on what comes out", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = codec.decode(bytes);
        for (const v of r.values) validateFrame(v);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("validateFrame", () => {
  const pid = new Pid("n", 1, 1);
  const ref = new Ref("n", 1, 1);
  it("accepts every declared frame shape", () => {
    const frames: unknown[] = [
      [FrameTag.Hello, 2, 5, false],
      [FrameTag.Send, pid, { any: "thing" }],
      [FrameTag.SendNamed, "name", 1],
      [FrameTag.Link, pid, pid],
      [FrameTag.Unlink, pid, pid],
      [FrameTag.Monitor, pid, pid, ref],
      [FrameTag.MonitorName, pid, "name", ref],
      [FrameTag.Demonitor, pid, pid, ref],
      [FrameTag.Exit, pid, pid, "reason", true],
      [FrameTag.Down, pid, ref, pid, "reason"],
      [FrameTag.Reply, pid, ref, 42],
      [FrameTag.Call, 1, 2, 3, 4, 5, { any: "thing" }],
      [FrameTag.GenCall, 1, 2, 3, 4, 5, "$gen_call", "get", [1]],
      [FrameTag.CallReply, 1, 2, 5, 42],
      [FrameTag.SpawnRequest, 1, "b", []],
      [FrameTag.SpawnReply, 1, true, pid],
      [FrameTag.SpawnReply, 1, false, new Error("x")],
    ];
    for (const f of frames) expect(validateFrame(f)).toBe(f);
  });

  it("describes what is wrong with a malformed frame", () => {
    expect(validateFrame("x")).toMatch(/not a frame/);
    expect(validateFrame([])).toMatch(/not a frame/);
    expect(validateFrame([42])).toMatch(/unknown frame tag/);
    expect(validateFrame([FrameTag.Send, pid])).toMatch(/expected 3 elements/);
    expect(validateFrame([FrameTag.Link, pid, "pid"])).toMatch(/element 2 is not a pid/);
    expect(validateFrame([FrameTag.Exit, pid, pid, "r", "yes"])).toMatch(/not a bool/);
    expect(validateFrame([FrameTag.SpawnReply, 1, true, "no pid"])).toMatch(/without a pid/);
    expect(validateFrame([FrameTag.Call, 1, 2, pid, 4, 5, "m"])).toMatch(/element 3 is not a int/);
    expect(validateFrame([FrameTag.GenCall, 1, 2, 3, 4, 5, 6, "get", 1])).toMatch(
      /element 6 is not a string/,
    );
    expect(validateFrame([FrameTag.CallReply, 1, 2.5, 5, 42])).toMatch(/element 2 is not a int/);
  });
});
