import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import {
  ExitMessage,
  Node,
  NoProcError,
  NotInProcessError,
  type Pid,
  type ProcessContext,
  setDefaultNode,
} from "../../src/process/index.js";
import {
  ANY,
  isRegistryEvent,
  Registry,
  RegistryKindError,
  type RegistryEvent,
  UnknownRegistryError,
} from "../../src/registry/index.js";

const node = new Node({ name: "reg", logger: silentLogger });
setDefaultNode(node);

let serial = 0;
const started: string[] = [];

async function startRegistry(
  keys: "unique" | "duplicate",
  extra: { partitions?: number; listeners?: Array<Pid | string>; meta?: Record<string, unknown> } = {},
): Promise<string> {
  const name = `reg-${++serial}`;
  const r = await Registry.start({ keys, name, ...extra });
  if (!r.ok) throw new Error(`registry start failed: ${JSON.stringify(r)}`);
  started.push(name);
  return name;
}

afterEach(async () => {
  for (const name of started.splice(0)) {
    if (node.whereis(name) !== undefined) await Registry.stop(name);
  }
});

/** A process that runs `fn` as itself, then waits (for `stop`, or for ever). */
async function inProcess<T>(fn: (ctx: ProcessContext) => T): Promise<{ pid: Pid; value: T }> {
  return new Promise((resolve, reject) => {
    const pid = node.spawn(async (ctx) => {
      let value: T;
      try {
        value = fn(ctx);
      } catch (e) {
        reject(e);
        return;
      }
      resolve({ pid, value });
      await ctx.receive((m) => m === "stop");
    });
  });
}

/** A process that collects every message it gets. */
function collector(): { pid: Pid; messages: unknown[] } {
  const messages: unknown[] = [];
  const pid = node.spawn(async (ctx) => {
    for (;;) messages.push(await ctx.receive());
  });
  return { pid, messages };
}

describe("Registry.start", () => {
  it("starts a registry process under its name", async () => {
    const r = await Registry.start({ keys: "unique", name: "named-registry" });
    started.push("named-registry");
    expect(r.ok).toBe(true);
    if (r.ok) expect(node.whereis("named-registry")?.equals(r.pid)).toBe(true);
    expect(Registry.info("named-registry").keys).toBe("unique");
    expect(Registry.count("named-registry")).toBe(0);
  });

  it("rejects missing or invalid options with a named error naming the field", () => {
    const cases: Array<[unknown, string]> = [
      [undefined, "options"],
      [{ name: "x" }, "keys"],
      [{ keys: "other", name: "x" }, "keys"],
      [{ keys: "unique" }, "name"],
      [{ keys: "unique", name: "" }, "name"],
      [{ keys: "unique", name: "x", partitions: 0 }, "partitions"],
      [{ keys: "unique", name: "x", partitions: 1.5 }, "partitions"],
      [{ keys: "unique", name: "x", listeners: "me" }, "listeners"],
      [{ keys: "unique", name: "x", listeners: [42] }, "listeners"],
      [{ keys: "unique", name: "x", meta: 3 }, "meta"],
    ];
    for (const [opts, field] of cases) {
      let err: unknown;
      try {
        Registry.start(opts as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).field).toBe(field);
      expect((err as InvalidOptionError).code).toBe("HV_ERR_INVALID_OPTION");
    }
  });

  it("refuses a name already in use with alreadyStarted", async () => {
    const name = await startRegistry("unique");
    const again = await Registry.start({ keys: "duplicate", name });
    expect(again).toEqual({ ok: false, error: { alreadyStarted: node.whereis(name) } });
  });
});

describe("unknown registries", () => {
  it("makes every operation throw UnknownRegistryError", async () => {
    const { value } = await inProcess((ctx) => {
      const ops: Array<() => unknown> = [
        () => Registry.register("nope", "k", 1),
        () => Registry.register("nope", "k", 1, ctx),
        () => Registry.unregister("nope", "k"),
        () => Registry.unregisterMatch("nope", "k", ANY),
        () => Registry.updateValue("nope", "k", (v) => v),
        () => Registry.lookup("nope", "k"),
        () => Registry.whereis("nope", "k"),
        () => Registry.match("nope", "k", ANY),
        () => Registry.countMatch("nope", "k", ANY),
        () => Registry.dispatch("nope", "k", () => {}),
        () => Registry.keys("nope", ctx.self),
        () => Registry.values("nope", "k", ctx.self),
        () => Registry.count("nope"),
        () => Registry.meta("nope", "k"),
        () => Registry.putMeta("nope", "k", 1),
        () => Registry.deleteMeta("nope", "k"),
        () => Registry.send("nope", "k", "hi"),
        () => Registry.via("nope", "k").via.whereisName("k"),
      ];
      return ops.map((op) => {
        try {
          op();
          return "no error";
        } catch (e) {
          return e instanceof UnknownRegistryError ? "unknown" : String(e);
        }
      });
    });
    expect(value.every((v) => v === "unknown")).toBe(true);
  });

  it("treats a stopped registry as unknown", async () => {
    const name = await startRegistry("unique");
    await Registry.stop(name);
    expect(() => Registry.count(name)).toThrow(UnknownRegistryError);
  });

  it("treats a plain process name as no registry", () => {
    const { pid } = collector();
    node.register("not-a-registry", pid);
    expect(() => Registry.lookup("not-a-registry", "k")).toThrow(UnknownRegistryError);
  });
});

describe("Registry.stop", () => {
  it("signals the registered processes as a link to the registry would", async () => {
    const name = await startRegistry("unique");
    const plain = await inProcess(() => Registry.register(name, "a", 1));
    const trapping = collector();
    node.trapExit(true, trapping.pid);
    Registry.register(name, "b", 2, trapping.pid);
    const owner = Registry.info(name).owner;
    await Registry.stop(name, "shutdown");
    expect(node.isAlive(owner)).toBe(false);
    expect(node.isAlive(plain.pid)).toBe(false);
    await expect.poll(() => trapping.messages).toEqual([new ExitMessage(owner, "shutdown")]);
    expect(node.isAlive(trapping.pid)).toBe(true);
  });

  it("leaves registered processes alive on a normal stop", async () => {
    const name = await startRegistry("unique");
    const p = await inProcess(() => Registry.register(name, "a", 1));
    await Registry.stop(name);
    expect(node.isAlive(p.pid)).toBe(true);
  });
});

for (const partitions of [1, 8]) {
  describe(`Registry.register (unique, ${partitions} partition(s))`, () => {
    it("registers the calling process and returns the registry's process as owner", async () => {
      const name = await startRegistry("unique", { partitions });
      const p = await inProcess(() => Registry.register(name, "hello", "world"));
      expect(p.value).toEqual({ ok: true, owner: Registry.info(name).owner });
      expect(Registry.lookup(name, "hello")).toEqual([{ pid: p.pid, value: "world" }]);
      expect(Registry.count(name)).toBe(1);
    });

    it("refuses a key held by another live process and leaves nothing behind", async () => {
      const name = await startRegistry("unique", { partitions });
      const a = await inProcess(() => Registry.register(name, "k", 1));
      const b = await inProcess(() => Registry.register(name, "k", 2));
      expect(b.value).toEqual({ ok: false, error: { alreadyRegistered: a.pid } });
      expect(Registry.keys(name, b.pid)).toEqual([]);
      expect(Registry.count(name)).toBe(1);
      expect(Registry.lookup(name, "k")).toEqual([{ pid: a.pid, value: 1 }]);
    });

    it("refuses a key the caller itself already holds", async () => {
      const name = await startRegistry("unique", { partitions });
      const p = await inProcess(() => [Registry.register(name, "k", 1), Registry.register(name, "k", 2)]);
      expect(p.value[1]).toEqual({ ok: false, error: { alreadyRegistered: p.pid } });
      expect(Registry.lookup(name, "k")).toEqual([{ pid: p.pid, value: 1 }]);
    });

    it("compares keys strictly, and arrays and plain objects by structure", async () => {
      const name = await startRegistry("unique", { partitions });
      const p = await inProcess(() => [
        Registry.register(name, 1, "number"),
        Registry.register(name, "1", "string"),
        Registry.register(name, 1n, "bigint"),
        Registry.register(name, ["room", 1], "tuple"),
        Registry.register(name, { id: 1, kind: "room" }, "map"),
      ]);
      expect(p.value.every((r) => r.ok)).toBe(true);
      expect(Registry.lookup(name, 1)[0]?.value).toBe("number");
      expect(Registry.lookup(name, "1")[0]?.value).toBe("string");
      expect(Registry.lookup(name, 1n)[0]?.value).toBe("bigint");
      expect(Registry.lookup(name, ["room", 1])[0]?.value).toBe("tuple");
      expect(Registry.lookup(name, ["room", "1"])).toEqual([]);
      expect(Registry.lookup(name, { kind: "room", id: 1 })[0]?.value).toBe("map");
      expect(Registry.count(name)).toBe(5);
    });

    it("needs a process: outside one it throws NotInProcessError", async () => {
      const name = await startRegistry("unique", { partitions });
      expect(() => Registry.register(name, "k", 1)).toThrow(NotInProcessError);
    });

    it("registers an explicit pid or context, e.g. after an await", async () => {
      const name = await startRegistry("unique", { partitions });
      const result = new Promise<unknown>((resolve) => {
        node.spawn(async (ctx) => {
          await Promise.resolve();
          resolve(Registry.register(name, "late", 1, ctx));
          await ctx.receive();
        });
      });
      expect(await result).toMatchObject({ ok: true });
      const other = collector();
      expect(Registry.register(name, "explicit", 2, other.pid)).toMatchObject({ ok: true });
      expect(Registry.whereis(name, "explicit")).toEqual(other.pid);
    });

    it("throws NoProcError for an explicit pid that is dead", async () => {
      const name = await startRegistry("unique", { partitions });
      const p = await inProcess(() => 0);
      node.exit(p.pid, "kill");
      expect(() => Registry.register(name, "k", 1, p.pid)).toThrow(NoProcError);
    });
  });

  describe(`Registry.lookup / whereis / keys / values / count (unique, ${partitions})`, () => {
    it("returns the single entry of a key, or nothing", async () => {
      const name = await startRegistry("unique", { partitions });
      const p = await inProcess(() => Registry.register(name, "a", { n: 1 }));
      expect(Registry.lookup(name, "a")).toEqual([{ pid: p.pid, value: { n: 1 } }]);
      expect(Registry.lookup(name, "b")).toEqual([]);
      expect(Registry.whereis(name, "a")).toEqual(p.pid);
      expect(Registry.whereis(name, "b")).toBeUndefined();
    });

    it("lists a process's keys in registration order and its values per key", async () => {
      const name = await startRegistry("unique", { partitions });
      const p = await inProcess(() => {
        for (const k of ["c", "a", "b"]) Registry.register(name, k, k.toUpperCase());
      });
      expect(Registry.keys(name, p.pid)).toEqual(["c", "a", "b"]);
      expect(Registry.values(name, "a", p.pid)).toEqual(["A"]);
      expect(Registry.values(name, "z", p.pid)).toEqual([]);
      expect(Registry.count(name)).toBe(3);
    });
  });

  describe(`Registry.unregister (unique, ${partitions})`, () => {
    it("removes the caller's key and always succeeds", async () => {
      const name = await startRegistry("unique", { partitions });
      const p = await inProcess(() => {
        Registry.register(name, "a", 1);
        Registry.register(name, "b", 2);
        Registry.unregister(name, "a");
        Registry.unregister(name, "never-registered");
      });
      expect(Registry.keys(name, p.pid)).toEqual(["b"]);
      expect(Registry.lookup(name, "a")).toEqual([]);
      expect(Registry.count(name)).toBe(1);
    });

    it("never removes a key held by another process", async () => {
      const name = await startRegistry("unique", { partitions });
      const a = await inProcess(() => Registry.register(name, "k", 1));
      await inProcess(() => Registry.unregister(name, "k"));
      expect(Registry.whereis(name, "k")).toEqual(a.pid);
    });

    it("lets a process register, unregister and register again", async () => {
      const name = await startRegistry("unique", { partitions });
      const p = await inProcess(() => {
        Registry.register(name, "k", 1);
        Registry.unregister(name, "k");
        return Registry.register(name, "k", 2);
      });
      expect(p.value.ok).toBe(true);
      node.exit(p.pid, "kill");
      expect(Registry.count(name)).toBe(0);
    });
  });

  describe(`Registry.updateValue (${partitions})`, () => {
    it("updates the caller's own key and returns the new and old values", async () => {
      const name = await startRegistry("unique", { partitions });
      const p = await inProcess(() => {
        Registry.register(name, "k", 1);
        return Registry.updateValue<number>(name, "k", (n) => n + 10);
      });
      expect(p.value).toEqual({ ok: true, new: 11, old: 1 });
      expect(Registry.lookup(name, "k")).toEqual([{ pid: p.pid, value: 11 }]);
    });

    it("fails for a key the caller does not hold", async () => {
      const name = await startRegistry("unique", { partitions });
      await inProcess(() => Registry.register(name, "k", 1));
      const other = await inProcess(() => [
        Registry.updateValue(name, "k", () => 2),
        Registry.updateValue(name, "missing", () => 2),
      ]);
      expect(other.value).toEqual([{ ok: false }, { ok: false }]);
      expect(Registry.lookup(name, "k")[0]?.value).toBe(1);
    });

    it("is for unique registries only", async () => {
      const name = await startRegistry("duplicate", { partitions });
      await expect(inProcess(() => Registry.updateValue(name, "k", () => 1))).rejects.toBeInstanceOf(
        RegistryKindError,
      );
    });
  });

  describe(`automatic removal (${partitions})`, () => {
    for (const [how, end] of [
      ["exits normally", (ctx: ProcessContext) => ctx.stop("normal")],
      ["crashes", (ctx: ProcessContext) => ctx.stop(new Error("boom"))],
      ["is killed", (ctx: ProcessContext) => ctx.exit(ctx.self, "kill")],
    ] as const) {
      it(`drops every key of a process that ${how}`, async () => {
        for (const keys of ["unique", "duplicate"] as const) {
          const name = await startRegistry(keys, { partitions });
          const survivor = await inProcess(() => Registry.register(name, "shared", "s"));
          const p = await inProcess((ctx) => {
            Registry.register(name, "shared2", 1);
            Registry.register(name, "other", 2);
            if (keys === "duplicate") Registry.register(name, "shared", 3);
            return ctx;
          });
          end(p.value);
          await expect.poll(() => Registry.count(name)).toBe(1);
          expect(Registry.keys(name, p.pid)).toEqual([]);
          expect(Registry.lookup(name, "other")).toEqual([]);
          expect(Registry.lookup(name, "shared")).toEqual([{ pid: survivor.pid, value: "s" }]);
        }
      });
    }

    it("frees a unique key for another process once its holder died", async () => {
      const name = await startRegistry("unique", { partitions });
      const a = await inProcess(() => Registry.register(name, "k", 1));
      node.exit(a.pid, "kill");
      await expect.poll(() => Registry.lookup(name, "k")).toEqual([]);
      const b = await inProcess(() => Registry.register(name, "k", 2));
      expect(b.value.ok).toBe(true);
    });
  });

  describe(`Registry.dispatch (${partitions})`, () => {
    it("calls the function with every entry of the key", async () => {
      const name = await startRegistry("duplicate", { partitions });
      const pids: Pid[] = [];
      for (let i = 0; i < 5; i++) pids.push((await inProcess(() => Registry.register(name, "topic", i))).pid);
      const calls: unknown[] = [];
      Registry.dispatch(name, "topic", (entries) => calls.push(entries));
      expect(calls).toEqual([pids.map((pid, i) => ({ pid, value: i }))]);
    });

    it("never calls the function when the key has no entries", async () => {
      for (const keys of ["unique", "duplicate"] as const) {
        const name = await startRegistry(keys, { partitions });
        let called = false;
        Registry.dispatch(name, "nothing", () => {
          called = true;
        });
        expect(called).toBe(false);
      }
    });

    it("lets entries be used to send messages", async () => {
      const name = await startRegistry("unique", { partitions });
      const c = collector();
      Registry.register(name, "inbox", "tag", c.pid);
      Registry.dispatch(name, "inbox", (entries) => {
        for (const { pid, value } of entries) node.send(pid, { value });
      });
      await expect.poll(() => c.messages).toEqual([{ value: "tag" }]);
    });
  });

  describe(`Registry.register (duplicate, ${partitions})`, () => {
    it("lets one process register the same key many times", async () => {
      const name = await startRegistry("duplicate", { partitions });
      const p = await inProcess(() => [
        Registry.register(name, "hello", 1),
        Registry.register(name, "hello", 2),
      ]);
      expect(p.value.every((r) => r.ok)).toBe(true);
      expect(Registry.keys(name, p.pid)).toEqual(["hello", "hello"]);
      expect(Registry.values(name, "hello", p.pid)).toEqual([1, 2]);
      expect(Registry.lookup(name, "hello")).toEqual([
        { pid: p.pid, value: 1 },
        { pid: p.pid, value: 2 },
      ]);
      expect(Registry.count(name)).toBe(2);
    });

    it("returns the entries of many processes in registration order", async () => {
      const name = await startRegistry("duplicate", { partitions });
      const expected: unknown[] = [];
      for (let i = 0; i < 20; i++) {
        const p = await inProcess(() => Registry.register(name, "t", i));
        expected.push({ pid: p.pid, value: i });
      }
      expect(Registry.lookup(name, "t")).toEqual(expected);
    });

    it("unregister removes all the caller's entries under the key, and only those", async () => {
      const name = await startRegistry("duplicate", { partitions });
      const other = await inProcess(() => Registry.register(name, "t", "other"));
      const p = await inProcess(() => {
        Registry.register(name, "t", 1);
        Registry.register(name, "t", 2);
        Registry.register(name, "u", 3);
        Registry.unregister(name, "t");
      });
      expect(Registry.keys(name, p.pid)).toEqual(["u"]);
      expect(Registry.lookup(name, "t")).toEqual([{ pid: other.pid, value: "other" }]);
    });
  });

  describe(`Registry.match / countMatch / unregisterMatch (${partitions})`, () => {
    it("selects entries by predicate, wildcard or structural pattern", async () => {
      const name = await startRegistry("duplicate", { partitions });
      const p = await inProcess(() => {
        Registry.register(name, "k", { role: "admin", level: 3 });
        Registry.register(name, "k", { role: "user", level: 1 });
        Registry.register(name, "k", ["tag", 7]);
      });
      expect(Registry.match(name, "k", ANY)).toHaveLength(3);
      expect(Registry.match(name, "k", { role: "admin" })).toEqual([
        { pid: p.pid, value: { role: "admin", level: 3 } },
      ]);
      expect(Registry.match(name, "k", (v) => (v as { level?: number }).level === 1)).toHaveLength(1);
      expect(Registry.match(name, "k", ["tag", ANY])).toEqual([{ pid: p.pid, value: ["tag", 7] }]);
      expect(Registry.match(name, "k", ["tag"])).toEqual([]);
      expect(Registry.countMatch(name, "k", { role: ANY })).toBe(2);
      expect(Registry.match(name, "missing", ANY)).toEqual([]);
    });

    it("unregisters only the caller's entries whose value matches", async () => {
      const name = await startRegistry("duplicate", { partitions });
      const p = await inProcess(() => {
        Registry.register(name, "k", 1);
        Registry.register(name, "k", 2);
        Registry.register(name, "k", 3);
        Registry.unregisterMatch(name, "k", (v) => (v as number) >= 2);
      });
      expect(Registry.values(name, "k", p.pid)).toEqual([1]);
    });
  });
}

describe("partitions", () => {
  it("gives identical results for 1 and 8 partitions", async () => {
    async function scenario(keys: "unique" | "duplicate", partitions: number): Promise<unknown[]> {
      const name = await startRegistry(keys, { partitions });
      const out: unknown[] = [];
      const procs: Array<{ pid: Pid; value: unknown }> = [];
      for (let i = 0; i < 12; i++) {
        procs.push(
          await inProcess(() =>
            [0, 1, 2].map((j) => {
              const key = keys === "unique" ? `k${i}-${j}` : `k${j}`;
              return Registry.register(name, key, i * 10 + j).ok;
            }),
          ),
        );
      }
      const index = (pid: Pid) => procs.findIndex((p) => p.pid.equals(pid));
      const show = (entries: Array<{ pid: Pid; value: unknown }>) =>
        entries.map((e) => [index(e.pid), e.value]);
      out.push(procs.map((p) => p.value));
      for (const key of ["k0", "k1", "k2", "k3-1", "k11-2", "absent"]) {
        out.push(
          show(Registry.lookup(name, key)),
          show(Registry.match(name, key, (v) => (v as number) % 2 === 0)),
        );
        Registry.dispatch(name, key, (entries) => out.push(["dispatch", show(entries)]));
      }
      out.push(
        procs.map((p) => Registry.keys(name, p.pid)),
        Registry.count(name),
      );
      node.exit(procs[3]!.pid, "kill");
      node.exit(procs[7]!.pid, "kill");
      out.push(Registry.count(name), show(Registry.lookup(name, "k1")));
      return out;
    }
    for (const keys of ["unique", "duplicate"] as const) {
      expect(await scenario(keys, 8)).toEqual(await scenario(keys, 1));
    }
  });
});

describe("listeners", () => {
  it("are told of explicit registrations and unregistrations, not of exits", async () => {
    const l = collector();
    node.register("registry-listener", l.pid);
    const l2 = collector();
    const name = await startRegistry("unique", { listeners: ["registry-listener", l2.pid] });
    const p = await inProcess(() => {
      Registry.register(name, "a", 1);
      Registry.unregister(name, "a");
      Registry.register(name, "b", 2);
    });
    const expected: RegistryEvent[] = [
      { type: "register", registry: name, key: "a", pid: p.pid, value: 1 },
      { type: "unregister", registry: name, key: "a", pid: p.pid },
      { type: "register", registry: name, key: "b", pid: p.pid, value: 2 },
    ];
    await expect.poll(() => l.messages).toEqual(expected);
    await expect.poll(() => l2.messages).toEqual(expected);
    expect(l.messages.every(isRegistryEvent)).toBe(true);
    node.exit(p.pid, "kill");
    await expect.poll(() => Registry.count(name)).toBe(0);
    const sentinel = await inProcess(() => Registry.register(name, "after", 3));
    await expect.poll(() => l.messages.length).toBe(4);
    expect(l.messages[3]).toMatchObject({ type: "register", key: "after", pid: sentinel.pid });
  });

  it("ignores a listener name that is not registered", async () => {
    const name = await startRegistry("duplicate", { listeners: ["nobody-listens"] });
    const p = await inProcess(() => Registry.register(name, "a", 1));
    expect(p.value.ok).toBe(true);
  });
});

describe("Registry.meta / putMeta / deleteMeta", () => {
  it("reads initial metadata and reports absent keys", async () => {
    const name = await startRegistry("unique", { meta: { custom: "value" } });
    expect(Registry.meta(name, "custom")).toEqual({ ok: true, value: "value" });
    expect(Registry.meta(name, "absent")).toEqual({ ok: false });
  });

  it("puts and deletes metadata", async () => {
    const name = await startRegistry("duplicate");
    Registry.putMeta(name, "k", { n: 1 });
    Registry.putMeta(name, ["tuple", 1], "any key");
    expect(Registry.meta(name, "k")).toEqual({ ok: true, value: { n: 1 } });
    Registry.deleteMeta(name, "k");
    Registry.deleteMeta(name, "never-set");
    expect(Registry.meta(name, "k")).toEqual({ ok: false });
  });

  it("accepts a Map or [key, value] pairs as initial metadata", async () => {
    const r1 = await Registry.start({ keys: "unique", name: "meta-map", meta: new Map([["a", 1]]) });
    const r2 = await Registry.start({ keys: "unique", name: "meta-pairs", meta: [["b", 2]] });
    started.push("meta-map", "meta-pairs");
    expect(r1.ok && r2.ok).toBe(true);
    expect(Registry.meta("meta-map", "a")).toEqual({ ok: true, value: 1 });
    expect(Registry.meta("meta-pairs", "b")).toEqual({ ok: true, value: 2 });
  });
});

describe("Registry.send", () => {
  it("delivers to the holder of a key and throws NoProcError for an unregistered key", async () => {
    const name = await startRegistry("unique");
    const c = collector();
    Registry.register(name, "box", undefined, c.pid);
    Registry.send(name, "box", "hi");
    await expect.poll(() => c.messages).toEqual(["hi"]);
    expect(() => Registry.send(name, "nobody", "hi")).toThrow(NoProcError);
  });
});

describe("entries", () => {
  it("cannot be changed by the caller", async () => {
    const name = await startRegistry("unique");
    await inProcess(() => Registry.register(name, "k", 1));
    const [entry] = Registry.lookup(name, "k");
    expect(() => {
      (entry as { value: unknown }).value = 2;
    }).toThrow(TypeError);
    expect(Registry.lookup(name, "k")[0]?.value).toBe(1);
  });
});

describe("registry references", () => {
  it("accept the registry's pid as well as its name", async () => {
    const name = await startRegistry("unique");
    const owner = Registry.info(name).owner;
    const p = await inProcess(() => Registry.register(owner, "by-pid", 1));
    expect(p.value.ok).toBe(true);
    expect(Registry.lookup(name, "by-pid")).toEqual([{ pid: p.pid, value: 1 }]);
    expect(Registry.count(owner)).toBe(1);
    await Registry.stop(owner);
    expect(() => Registry.count(owner)).toThrow(UnknownRegistryError);
  });
});
