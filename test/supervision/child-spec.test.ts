import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { Node, setDefaultNode } from "../../src/process/index.js";
import { GenServer, type StartResult } from "../../src/server/index.js";
import { childSpec, DEFAULT_CHILD_SPEC, validateChildSpec } from "../../src/supervision/child-spec.js";
import {
  ChildSpecError,
  InvalidChildSpecError,
  InvalidChildTypeError,
  InvalidModulesError,
  InvalidRestartTypeError,
  InvalidShutdownError,
  InvalidSignificantError,
  InvalidStartError,
  MissingIdError,
  MissingStartError,
} from "../../src/supervision/errors.js";
import { Supervisor } from "../../src/supervision/supervisor.js";
import { Worker } from "./helpers.js";

setDefaultNode(new Node({ name: "childspec", logger: silentLogger }));

const start = () => ({ ok: false as const, ignore: true as const });

function reasonOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    if (e instanceof ChildSpecError) return e.reason;
    throw e;
  }
  return "no error";
}

describe("validateChildSpec", () => {
  it("fills in the defaults of a worker", () => {
    const s = validateChildSpec({ id: "a", start });
    expect(s).toEqual({
      id: "a",
      start,
      restart: "permanent",
      shutdown: 5000,
      type: "worker",
      modules: [],
      significant: false,
    });
    expect(Object.isFrozen(s)).toBe(true);
  });

  it("defaults the shutdown of a supervisor to infinity", () => {
    expect(validateChildSpec({ id: "s", start, type: "supervisor" }).shutdown).toBe(
      DEFAULT_CHILD_SPEC.supervisorShutdown,
    );
    expect(DEFAULT_CHILD_SPEC.supervisorShutdown).toBe("infinity");
  });

  it("keeps given values and ignores unknown keys", () => {
    const s = validateChildSpec({
      id: 1,
      start,
      restart: "transient",
      shutdown: "brutal_kill",
      type: "worker",
      modules: "dynamic",
      significant: true,
      whatever: 42,
    });
    expect(s).toMatchObject({
      id: 1,
      restart: "transient",
      shutdown: "brutal_kill",
      modules: "dynamic",
      significant: true,
    });
    expect("whatever" in s).toBe(false);
    expect(validateChildSpec({ id: "z", start, shutdown: 0 }).shutdown).toBe(0);
    expect(validateChildSpec({ id: "z", start, shutdown: Number.POSITIVE_INFINITY }).shutdown).toBe(
      "infinity",
    );
  });

  it("returns an already validated spec unchanged", () => {
    const s = validateChildSpec({ id: "a", start });
    expect(validateChildSpec(s)).toBe(s);
  });

  it("reports each invalid field with its own error and OTP reason", () => {
    expect(() => validateChildSpec({ start })).toThrow(MissingIdError);
    expect(reasonOf(() => validateChildSpec({ start }))).toBe("missing_id");
    expect(() => validateChildSpec({ id: "a" })).toThrow(MissingStartError);
    expect(reasonOf(() => validateChildSpec({ id: "a" }))).toBe("missing_start");
    expect(() => validateChildSpec({ id: "a", start: "nope" })).toThrow(InvalidStartError);
    expect(reasonOf(() => validateChildSpec({ id: "a", start: "nope" }))).toEqual({ invalidMfa: "nope" });
    expect(() => validateChildSpec({ id: "a", start, restart: "sometimes" })).toThrow(
      InvalidRestartTypeError,
    );
    expect(reasonOf(() => validateChildSpec({ id: "a", start, restart: "x" }))).toEqual({
      invalidRestartType: "x",
    });
    expect(() => validateChildSpec({ id: "a", start, shutdown: -1 })).toThrow(InvalidShutdownError);
    expect(reasonOf(() => validateChildSpec({ id: "a", start, shutdown: -1 }))).toEqual({
      invalidShutdown: -1,
    });
    expect(() => validateChildSpec({ id: "a", start, shutdown: 1.5 })).toThrow(InvalidShutdownError);
    expect(() => validateChildSpec({ id: "a", start, type: "manager" })).toThrow(InvalidChildTypeError);
    expect(reasonOf(() => validateChildSpec({ id: "a", start, type: "m" }))).toEqual({
      invalidChildType: "m",
    });
    expect(() => validateChildSpec({ id: "a", start, modules: [1] })).toThrow(InvalidModulesError);
    expect(reasonOf(() => validateChildSpec({ id: "a", start, modules: "x" }))).toEqual({
      invalidModules: "x",
    });
    expect(() => validateChildSpec({ id: "a", start, significant: "yes" })).toThrow(InvalidSignificantError);
    expect(() => validateChildSpec(null)).toThrow(InvalidChildSpecError);
    expect(() => validateChildSpec([1])).toThrow(InvalidChildSpecError);
  });

  it("checks fields in OTP's order (id, start, restart, type, shutdown, modules)", () => {
    expect(reasonOf(() => validateChildSpec({ restart: "x" }))).toBe("missing_id");
    expect(reasonOf(() => validateChildSpec({ id: "a", restart: "x" }))).toBe("missing_start");
    expect(reasonOf(() => validateChildSpec({ id: "a", start, restart: "x", type: "y" }))).toEqual({
      invalidRestartType: "x",
    });
    expect(reasonOf(() => validateChildSpec({ id: "a", start, type: "y", shutdown: -1 }))).toEqual({
      invalidChildType: "y",
    });
  });

  it("does not require an id when told so", () => {
    expect(validateChildSpec({ start }, { requireId: false }).id).toBeUndefined();
  });

  it("gives errors with stable codes", () => {
    try {
      validateChildSpec({ id: "a", start, restart: "x" });
    } catch (e) {
      expect((e as ChildSpecError).code).toBe("HV_ERR_CHILD_SPEC_INVALID_RESTART");
    }
  });
});

describe("childSpec", () => {
  it("builds a spec from a GenServer behaviour and its argument", async () => {
    const s = childSpec(Worker, "hi");
    expect(s).toMatchObject({ id: "Worker", restart: "permanent", type: "worker", modules: ["Worker"] });
    const r = await Supervisor.start([s], { strategy: "one_for_one" });
    if (!r.ok) throw new Error("start");
    const [child] = await Supervisor.whichChildren(r.pid);
    expect(await GenServer.call(child!.pid as never, "arg")).toBe("hi");
    await Supervisor.stop(r.pid);
  });

  it("applies overrides, including GenServer start options", async () => {
    const s = childSpec(Worker, 1, {
      id: "w",
      restart: "temporary",
      shutdown: 10,
      startOptions: { name: "cs_named" },
    });
    expect(s).toMatchObject({ id: "w", restart: "temporary", shutdown: 10 });
    const r = (await s.start()) as StartResult;
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.pid).toEqual((await import("../../src/process/index.js")).whereis("cs_named"));
  });

  it("throws on invalid overrides", () => {
    expect(() => childSpec(Worker, 1, { restart: "never" as never })).toThrow(InvalidRestartTypeError);
  });

  it("passes extra arguments before the argument, as an array", async () => {
    const s = childSpec(Worker, "own");
    const r = (await s.start("x", "y")) as StartResult;
    if (!r.ok) throw new Error("start");
    expect(await GenServer.call(r.pid, "arg")).toEqual(["x", "y", "own"]);
  });
});
