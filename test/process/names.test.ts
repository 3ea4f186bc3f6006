import { describe, expect, it } from "vitest";
import { NameTakenError, NoProcError } from "../../src/process/index.js";
import { idle, newNode, probe, started } from "./helpers.js";

describe("Node.register", () => {
  it("makes a pid findable by name with whereis", () => {
    const node = newNode();
    const pid = idle(node);
    node.register("db", pid);
    expect(node.whereis("db")).toBe(pid);
    expect(node.processInfo(pid)?.name).toBe("db");
    expect(node.registeredNames()).toEqual(["db"]);
  });

  it("throws NameTakenError when the name belongs to another live process", () => {
    const node = newNode();
    const a = idle(node);
    const b = idle(node);
    node.register("db", a);
    const err = (() => {
      try {
        node.register("db", b);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NameTakenError);
    expect((err as NameTakenError).code).toBe("HV_ERR_NAME_TAKEN");
    expect((err as NameTakenError).holder).toBe(a);
    expect(node.whereis("db")).toBe(a);
  });

  it("throws NameTakenError when the process already has another name", () => {
    const node = newNode();
    const a = idle(node);
    node.register("one", a);
    expect(() => node.register("two", a)).toThrow(NameTakenError);
    expect(node.whereis("two")).toBeUndefined();
  });

  it("throws NameTakenError when the same name is registered again for the same process", () => {
    const node = newNode();
    const a = idle(node);
    node.register("db", a);
    expect(() => node.register("db", a)).toThrow(NameTakenError);
    expect(node.whereis("db")).toBe(a);
  });

  it("throws NoProcError for a dead pid", () => {
    const node = newNode();
    const a = idle(node);
    node.exit(a, "kill");
    expect(() => node.register("db", a)).toThrow(NoProcError);
    expect(node.whereis("db")).toBeUndefined();
  });

  it("registers at spawn with the name option, and a taken name makes spawn throw without a trace", () => {
    const node = newNode();
    const a = idle(node, { name: "svc" });
    expect(node.whereis("svc")).toBe(a);
    const before = node.processCount;
    expect(() => idle(node, { name: "svc" })).toThrow(NameTakenError);
    expect(node.processCount).toBe(before);
    expect(node.whereis("svc")).toBe(a);
  });

  it("frees the name when the process exits, so it can be taken again", async () => {
    const node = newNode();
    const a = probe(node, undefined, { name: "svc" });
    await started(node, a.pid);
    a.ctx().stop("normal");
    expect(node.whereis("svc")).toBeUndefined();
    expect(node.registeredNames()).toEqual([]);
    const b = idle(node, { name: "svc" });
    expect(node.whereis("svc")).toBe(b);
  });
});

describe("Node.unregister", () => {
  it("removes the name and returns true; false for an unknown name", () => {
    const node = newNode();
    const a = idle(node);
    node.register("db", a);
    expect(node.unregister("db")).toBe(true);
    expect(node.whereis("db")).toBeUndefined();
    expect(node.processInfo(a)?.name).toBeUndefined();
    expect(node.unregister("db")).toBe(false);
    expect(node.isAlive(a)).toBe(true);
  });
});

describe("Node.send to names", () => {
  it("delivers to the registered process", async () => {
    const node = newNode();
    const a = probe(node, undefined, { name: "inbox" });
    node.send("inbox", "hi");
    node.send({ name: "inbox", node: node.name }, "there");
    await expect.poll(() => a.got).toEqual(["hi", "there"]);
  });

  it("throws NoProcError for an unregistered name", () => {
    const node = newNode();
    expect(() => node.send("nobody", "hi")).toThrow(NoProcError);
    expect(() => node.send({ name: "nobody", node: node.name }, "hi")).toThrow(NoProcError);
  });
});
