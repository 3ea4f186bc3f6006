/**
 * Durable hubs over the memory transport and `MemoryDurableStore`: a full-cluster restart brings
 * every declared child back exactly once and none that was stopped; a stop made on one side of
 * a partition stays a stop after the heal (without durability the other side's copy runs on);
 * garbled and foreign store entries are refused with a warning and never applied; a store that
 * cannot be reached fails starts with `store_failed` and starts nothing; a child whose own start
 * fails is not left declared running.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Cluster } from "../../../src/cluster/index.js";
import { DurableStoreError } from "../../../src/hub/durable/errors.js";
import { MemoryDurableStore } from "../../../src/hub/durable/memory-store.js";
import type { DurabilityOptions } from "../../../src/hub/durable/options.js";
import { declaredKey, encodeDeclared } from "../../../src/hub/durable/declared.js";
import { ProcessHub } from "../../../src/hub/process-hub.js";
import { type Logger, silentLogger } from "../../../src/logger.js";
import { Node } from "../../../src/process/node.js";
import { defineServer, ok, reply } from "../../../src/server/index.js";
import { MemoryNetwork } from "../../../src/transports/memory/index.js";

const Worker = defineServer<{ calls: { get(): unknown } }>()({
  name: "durable-worker",
  init: (args: unknown) => (args === "fail" ? { stop: "refused" } : ok(args)),
  handleCall: { get: (_a, s) => reply(s, s) },
});

/** A logger that keeps warnings. */
function recording(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warnings, warn: (_o, msg) => void warnings.push(msg) };
}

class Cl {
  readonly network = new MemoryNetwork();
  readonly hubs = new Map<string, ProcessHub>();
  readonly clusters = new Map<string, Cluster>();
  private static seq = 0;
  readonly name = `durable${Cl.seq++}`;

  /** `childSpecs` of every hub started. */
  statics: Array<{ id: string; behaviour: string; args?: unknown }> = [];

  constructor(
    readonly store: MemoryDurableStore,
    readonly extra: Partial<DurabilityOptions> = {},
    readonly logger: Logger = silentLogger,
  ) {}

  async add(name: string): Promise<ProcessHub> {
    const node = new Node({ name, logger: silentLogger });
    const cluster = await Cluster.join({
      node,
      cluster: this.name,
      transport: this.network.transport(node),
      logger: silentLogger,
    });
    this.clusters.set(name, cluster);
    const hub = ProcessHub.start({
      hubId: "durable",
      node,
      cluster,
      behaviours: { worker: Worker },
      childSpecs: this.statics,
      logger: this.logger,
      durability: { store: this.store, reconcileIntervalMs: 100, settleMs: 200, graceMs: 300, ...this.extra },
    });
    this.hubs.set(name, hub);
    return hub;
  }

  async start(names: string[]): Promise<ProcessHub[]> {
    const hubs: ProcessHub[] = [];
    for (const n of names) hubs.push(await this.add(n));
    await expect
      .poll(() => hubs.every((h) => h.nodes().length === names.length - 1), { timeout: 10_000 })
      .toBe(true);
    return hubs;
  }

  killAll(): void {
    for (const n of this.hubs.keys()) this.network.kill(n);
    this.hubs.clear();
    this.clusters.clear();
  }

  /** How many copies of each id run, counted on the nodes themselves. */
  copies(): Map<string, number> {
    const m = new Map<string, number>();
    for (const h of this.hubs.values())
      if (h.isAlive()) for (const id of h.localChildren().keys()) m.set(id, (m.get(id) ?? 0) + 1);
    return m;
  }

  async close(): Promise<void> {
    for (const h of this.hubs.values()) await h.stop().catch(() => {});
    for (const c of this.clusters.values()) await c.leave().catch(() => {});
  }
}

let open: Cl[] = [];
afterEach(async () => {
  for (const c of open) await c.close();
  open = [];
});

function cluster(
  store = new MemoryDurableStore(),
  extra: Partial<DurabilityOptions> = {},
  logger?: Logger,
): Cl {
  const c = new Cl(store, extra, logger);
  open.push(c);
  return c;
}

const specs = (n: number, prefix = "c") =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, behaviour: "worker", args: i }));

/** Resolves once every node ran `rounds` more reconcile rounds. */
async function rounds(hubs: ProcessHub[], n = 3): Promise<void> {
  const from = hubs.map((h) => h.durable!.stats.rounds);
  await expect
    .poll(() => hubs.every((h, i) => h.durable!.stats.rounds >= from[i]! + n), { timeout: 10_000 })
    .toBe(true);
}

describe("durable hub over the memory transport", () => {
  it("brings every declared child back exactly once after a full-cluster restart, and no stopped one", async () => {
    const store = new MemoryDurableStore();
    const before = cluster(store);
    const [a, b] = await before.start(["n1", "n2", "n3"]);
    const r = await a!.startChildren(specs(1000), { awaitable: true }).await(20_000);
    expect(r.errors).toEqual([]);
    const stopped = specs(1000)
      .filter((_, i) => i % 10 === 0)
      .map((s) => s.id);
    const s = await b!.stopChildren(stopped, { awaitable: true }).await(20_000);
    expect(s.errors).toEqual([]);
    await expect.poll(() => before.copies().size, { timeout: 10_000 }).toBe(900);
    before.killAll();

    const after = cluster(store);
    const hubs = await after.start(["n1", "n2", "n3"]);
    const want = new Set(
      specs(1000)
        .map((x) => x.id)
        .filter((id) => !stopped.includes(id)),
    );
    const exact = () => {
      const c = after.copies();
      return c.size === want.size && [...c].every(([id, n]) => n === 1 && want.has(id));
    };
    await expect.poll(exact, { timeout: 20_000 }).toBe(true);
    // Still so after more rounds: nothing more is started, nothing stopped.
    await rounds(hubs);
    expect(exact()).toBe(true);
    expect(hubs.reduce((n, h) => n + h.durable!.stats.reconciledStarts, 0)).toBe(900);
  });

  it("keeps a stop made on one side of a partition after the heal", async () => {
    const c = cluster();
    const [a, b, x] = await c.start(["p1", "p2", "p3"]);
    const r = await a!.startChildren(specs(60), { awaitable: true }).await(10_000);
    expect(r.errors).toEqual([]);
    // A child that p1 runs: p2 and p3 adopt it during the partition, p1 keeps its copy.
    const target = [...a!.localChildren().keys()][0]!;
    c.network.partition(["p1"], ["p2", "p3"]);
    await expect
      .poll(() => b!.nodes().length === 1 && a!.nodes().length === 0, { timeout: 10_000 })
      .toBe(true);
    await expect.poll(() => c.copies().get(target), { timeout: 10_000 }).toBe(2);
    // Stopped on the majority side; p1 never hears the stop request, but reads the declaration.
    const s = await b!.stopChildren([target], { awaitable: true }).await(10_000);
    expect(s.errors).toEqual([]);
    await expect.poll(() => c.copies().get(target) ?? 0, { timeout: 10_000 }).toBe(0);
    c.network.heal();
    await expect.poll(() => a!.nodes().length, { timeout: 10_000 }).toBe(2);
    const settled = () => {
      const m = c.copies();
      return m.size === 59 && !m.has(target) && [...m.values()].every((n) => n === 1);
    };
    await expect.poll(settled, { timeout: 20_000 }).toBe(true);
    await rounds([a!, b!, x!]);
    expect(settled()).toBe(true);
    expect(a!.durable!.stats.reconciledStops).toBeGreaterThanOrEqual(1);
  });

  it("refuses garbled and foreign entries with a warning and never applies them", async () => {
    const store = new MemoryDurableStore();
    const logger = recording();
    const c = cluster(store, {}, logger);
    const [a] = await c.start(["g1", "g2"]);
    await a!.durable!.ready;
    const r = await a!.startChildren(specs(3, "kept"), { awaitable: true }).await(10_000);
    expect(r.errors).toEqual([]);
    const enc = new TextEncoder();
    store.inject("durable", declaredKey("garbled"), Uint8Array.of(0xc1, 0xff, 0x00));
    store.inject(
      "durable",
      declaredKey("json"),
      enc.encode(JSON.stringify({ desired: "running", spec: { id: "json", behaviour: "worker" } })),
    );
    store.inject("durable", "d.not*base64", Uint8Array.of(1));
    // A declaration of another hub, and a garbled value over a running child's declaration.
    const foreign = encodeDeclared(
      "other-hub",
      "x",
      "running",
      { id: "foreign", behaviour: "worker", args: 1, restart: "permanent", shutdown: 5000, metadata: {} },
      "foreign",
    );
    store.inject("durable", declaredKey("foreign"), foreign);
    store.inject("durable", declaredKey("kept0"), Uint8Array.of(0x93, 1, 2, 3));
    await expect.poll(() => a!.durable!.stats.refused, { timeout: 5000 }).toBeGreaterThanOrEqual(5);
    expect(logger.warnings).toContain("durable store entry refused");
    await rounds([...c.hubs.values()]);
    const copies = c.copies();
    expect([...copies.keys()].sort()).toEqual(["kept0", "kept1", "kept2"]);
    expect(a!.durable!.declared.get("kept0")?.desired).toBe("running");
    // The writer's next change to kept0 is based on the garbled entry's revision and succeeds.
    const s = await a!.stopChildren(["kept0"], { awaitable: true }).await(10_000);
    expect(s.errors).toEqual([]);
  });

  it("fails starts and stops with store_failed while the store is unreachable, starting nothing", async () => {
    const store = new MemoryDurableStore();
    const c = cluster(store);
    const [a] = await c.start(["u1", "u2"]);
    await a!.durable!.ready;
    store.down = true;
    const r = await a!.startChildren(specs(5), { awaitable: true }).await(10_000);
    expect(r.started).toEqual([]);
    expect(r.errors.map((e) => e.reason)).toEqual(Array(5).fill("store_failed"));
    expect(r.errors[0]!.error).toBeInstanceOf(DurableStoreError);
    store.down = false;
    await rounds([...c.hubs.values()]);
    expect(c.copies().size).toBe(0);
    const ok2 = await a!.startChildren(specs(5), { awaitable: true }).await(10_000);
    expect(ok2.errors).toEqual([]);
    store.down = true;
    const s = await a!.stopChildren(["c0"], { awaitable: true }).await(10_000);
    expect(s.errors.map((e) => e.reason)).toEqual(["store_failed"]);
    expect(c.copies().get("c0")).toBe(1);
  });

  it("declares static children once: a stop of one is kept across a full-cluster restart", async () => {
    const store = new MemoryDurableStore();
    const before = cluster(store);
    before.statics = specs(20, "s");
    const hubs = await before.start(["s1", "s2", "s3"]);
    await expect.poll(() => before.copies().size, { timeout: 10_000 }).toBe(20);
    const r = await hubs[0]!.stopChildren(["s0", "s1"], { awaitable: true }).await(10_000);
    expect(r.errors).toEqual([]);
    await expect.poll(() => before.copies().size, { timeout: 10_000 }).toBe(18);
    before.killAll();
    const after = cluster(store);
    after.statics = specs(20, "s");
    const again = await after.start(["s1", "s2", "s3"]);
    const exact = () => {
      const c = after.copies();
      return c.size === 18 && !c.has("s0") && !c.has("s1") && [...c.values()].every((n) => n === 1);
    };
    await expect.poll(exact, { timeout: 10_000 }).toBe(true);
    await rounds(again);
    expect(exact()).toBe(true);
  });

  it("takes back the declaration of a child whose own start failed, and refuses non-permanent children", async () => {
    const c = cluster();
    const [a] = await c.start(["f1", "f2"]);
    const r = await a!
      .startChildren([{ id: "bad", behaviour: "worker", args: "fail" }], { awaitable: true })
      .await(10_000);
    expect(r.errors.map((e) => e.reason)).toEqual(["start_failed"]);
    await expect.poll(() => a!.durable!.declared.get("bad")?.desired).toBe("stopped");
    await rounds([...c.hubs.values()]);
    expect(c.copies().size).toBe(0);
    expect(() => a!.startChildren([{ id: "t", behaviour: "worker", restart: "transient" }])).toThrow(
      /durable/,
    );
  });
});
