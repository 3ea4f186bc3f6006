import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { CallExitError, Node, setDefaultNode } from "../../src/process/index.js";
import { Registry, UnknownRegistryError, ViaDuplicateRegistryError } from "../../src/registry/index.js";
import { defineServer, GenServer, noreply, ok, reply } from "../../src/server/index.js";
import { childSpec, DynamicSupervisor } from "../../src/supervision/index.js";

const node = new Node({ name: "via", logger: silentLogger });
setDefaultNode(node);

interface EchoProtocol {
  calls: { echo(s: string): string; crash(): never };
  casts: { set(s: string): void };
}

const Echo = defineServer<EchoProtocol>()({
  name: "Echo",
  init: (prefix: string) => ok(prefix),
  handleCall: {
    echo: (s, prefix) => reply(`${prefix}${s}`, prefix),
    crash: () => {
      throw new Error("boom");
    },
  },
  handleCast: { set: (s) => noreply(s) },
});

let serial = 0;
async function startRegistry(keys: "unique" | "duplicate"): Promise<string> {
  const name = `via-reg-${++serial}`;
  const r = await Registry.start({ keys, name });
  if (!r.ok) throw new Error("registry did not start");
  return name;
}

describe("Registry.via", () => {
  it("names a GenServer at start and routes calls and casts to it", async () => {
    const reg = await startRegistry("unique");
    const r = await GenServer.start(Echo, "> ", { name: Registry.via(reg, "echo") });
    if (!r.ok) throw new Error("start failed");
    expect(Registry.lookup(reg, "echo")).toEqual([{ pid: r.pid, value: undefined }]);
    expect(await GenServer.call<EchoProtocol, "echo">(Registry.via(reg, "echo"), "echo", "hi")).toBe("> hi");
    GenServer.cast<EchoProtocol, "set">(Registry.via(reg, "echo"), "set", "< ");
    expect(await GenServer.call<EchoProtocol, "echo">(Registry.via(reg, "echo"), "echo", "hi")).toBe("< hi");
    expect(GenServer.whereis(Registry.via(reg, "echo"))).toEqual(r.pid);
  });

  it("registers the value given with the name", async () => {
    const reg = await startRegistry("unique");
    const r = await GenServer.start(Echo, "", { name: Registry.via(reg, ["worker", 1], { shard: 3 }) });
    if (!r.ok) throw new Error("start failed");
    expect(Registry.lookup(reg, ["worker", 1])).toEqual([{ pid: r.pid, value: { shard: 3 } }]);
  });

  it("refuses a taken name with alreadyStarted and the holder", async () => {
    const reg = await startRegistry("unique");
    const first = await GenServer.start(Echo, "", { name: Registry.via(reg, "one") });
    if (!first.ok) throw new Error("start failed");
    const second = await GenServer.start(Echo, "", { name: Registry.via(reg, "one") });
    expect(second).toEqual({ ok: false, error: { alreadyStarted: first.pid } });
    expect(node.processCount).toBeGreaterThan(0);
    expect(Registry.count(reg)).toBe(1);
  });

  it("frees the name when the server stops or crashes, so it can start again", async () => {
    const reg = await startRegistry("unique");
    const a = await GenServer.start(Echo, "", { name: Registry.via(reg, "svc") });
    if (!a.ok) throw new Error("start failed");
    await GenServer.stop(Registry.via(reg, "svc"));
    expect(Registry.whereis(reg, "svc")).toBeUndefined();
    const b = await GenServer.start(Echo, "", { name: Registry.via(reg, "svc") });
    if (!b.ok) throw new Error("restart failed");
    await expect(
      GenServer.call<EchoProtocol, "crash">(Registry.via(reg, "svc"), "crash"),
    ).rejects.toBeInstanceOf(CallExitError);
    expect(Registry.lookup(reg, "svc")).toEqual([]);
    const c = await GenServer.start(Echo, "", { name: Registry.via(reg, "svc") });
    expect(c.ok).toBe(true);
  });

  it("makes a call to an unregistered name fail with noproc", async () => {
    const reg = await startRegistry("unique");
    const err = await GenServer.call<EchoProtocol, "echo">(Registry.via(reg, "ghost"), "echo", "x").catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(CallExitError);
    expect((err as CallExitError).reason).toBe("noproc");
    expect(GenServer.whereis(Registry.via(reg, "ghost"))).toBeUndefined();
  });

  it("throws ViaDuplicateRegistryError for a duplicate registry", async () => {
    const reg = await startRegistry("duplicate");
    expect(() => Registry.via(reg, "x")).toThrow(ViaDuplicateRegistryError);
    expect(() => Registry.via(reg, "x")).toThrow("via is not supported for duplicate registries");
  });

  it("throws ViaDuplicateRegistryError when the name is used, if the registry started after the via-name was made", async () => {
    const name = Registry.via("late-duplicate", "x");
    await Registry.start({ keys: "duplicate", name: "late-duplicate" });
    expect(() => GenServer.start(Echo, "", { name })).toThrow(ViaDuplicateRegistryError);
    expect(() => GenServer.whereis(name)).toThrow(ViaDuplicateRegistryError);
  });

  it("throws UnknownRegistryError when the registry is not running", () => {
    expect(() => GenServer.start(Echo, "", { name: Registry.via("no-such-registry", "x") })).toThrow(
      UnknownRegistryError,
    );
  });

  it("unregisters through the via-module", async () => {
    const reg = await startRegistry("unique");
    const r = await GenServer.start(Echo, "", { name: Registry.via(reg, "u") });
    if (!r.ok) throw new Error("start failed");
    const name = Registry.via(reg, "u");
    name.via.unregisterName(name.key);
    expect(Registry.whereis(reg, "u")).toBeUndefined();
    expect(node.isAlive(r.pid)).toBe(true);
  });

  it("lets a supervisor restart a crashed via-named child under the same name at once", async () => {
    const reg = await startRegistry("unique");
    const sup = await DynamicSupervisor.start({ strategy: "one_for_one" });
    if (!sup.ok) throw new Error("supervisor did not start");
    const started = await DynamicSupervisor.startChild(
      sup.pid,
      childSpec(Echo, "", { startOptions: { name: Registry.via(reg, "worker") } }),
    );
    if (!started.ok) throw new Error("child did not start");
    node.exit(started.pid, "kill");
    await expect
      .poll(
        () =>
          Registry.whereis(reg, "worker")?.equals(started.pid) === false &&
          Registry.whereis(reg, "worker") !== undefined,
      )
      .toBe(true);
    expect(await GenServer.call<EchoProtocol, "echo">(Registry.via(reg, "worker"), "echo", "again")).toBe(
      "again",
    );
    await DynamicSupervisor.stop(sup.pid);
    expect(Registry.count(reg)).toBe(0);
  });

  it("lets a server register itself from init", async () => {
    const reg = await startRegistry("duplicate");
    const Member = defineServer<{}>()({
      init: (topic: string, ctx) => {
        Registry.register(reg, topic, ctx.self.id);
        return ok(topic);
      },
    });
    const a = await GenServer.start(Member, "news");
    const b = await GenServer.start(Member, "news");
    if (!a.ok || !b.ok) throw new Error("start failed");
    expect(Registry.lookup(reg, "news").map((e) => e.pid)).toEqual([a.pid, b.pid]);
  });
});
