/**
 * Fenced durable hubs over the memory transport and `MemoryDurableStore` (real time, short
 * leases). A sampler counts, every few milliseconds, the copies of each child on every node —
 * the frozen one included — and must never find two. Moves hand the claim over (a join under
 * cold and hot swap); a node frozen and cut off from the store stops its children itself before
 * its lease ends and the others adopt them only once it has lapsed; back, it begins a new
 * session and takes its share again. A hot swap whose new copy fails to start keeps the live
 * state: parked in the store, it reaches the next copy that starts. Conditions are polled, never
 * slept on.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Cluster } from "../../../src/cluster/index.js";
import { DurableStoreError } from "../../../src/hub/durable/errors.js";
import { MemoryDurableStore } from "../../../src/hub/durable/memory-store.js";
import { parkedHandoverKey } from "../../../src/hub/durable/parked-handover.js";
import type { DurableBucket, DurableStore } from "../../../src/hub/durable/store.js";
import type { HubHookEvents } from "../../../src/hub/hooks.js";
import { ProcessHub } from "../../../src/hub/process-hub.js";
import { silentLogger } from "../../../src/logger.js";
import { Node } from "../../../src/process/node.js";
import { defineServer, ok, reply } from "../../../src/server/index.js";
import { withHandover } from "../../../src/hub/strategies/handover.js";
import { MemoryNetwork } from "../../../src/transports/memory/index.js";

const Worker = withHandover(
  defineServer<{ calls: { get(): unknown } }>()({
    name: "fenced-worker",
    init: (args: unknown) => ok(args),
    handleCall: { get: (_a, s) => reply(s, s) },
  }),
  { prepareHandoverState: (s) => s, receiveHandoverState: (data) => data },
);

/** How many of the next `keeper` starts fail in `init` (a new copy that cannot start). */
const refuse = { next: 0 };

type KeeperProtocol = { calls: { bump(): number; get(): number } };

/** A counter that hands its count over; its `init` fails while `refuse.next` says so. */
const Keeper = withHandover(
  defineServer<KeeperProtocol>()({
    name: "keeper",
    init: (start: number) => {
      if (refuse.next <= 0) return ok(start);
      refuse.next--;
      return { stop: "this copy cannot start" };
    },
    handleCall: { bump: (_a, n) => reply(n + 1, n + 1), get: (_a, n) => reply(n, n) },
  }),
  { receiveHandoverState: (data: number) => data },
);

// Short for a test, long enough for a loaded machine's event-loop stalls (a stall past the stop
// margin loses the lease: safe, but the children then stop and start again).
const FENCING = { leaseMs: 2000, renewIntervalMs: 300, stopMarginMs: 600, takeoverMarginMs: 100 };

/**
 * A store view that fails every operation of one node while `down` (the node cut off from NATS),
 * and its writes of keys starting with `refusing` (one kind of record the store will not take).
 */
function cuttable(inner: DurableStore): {
  store: DurableStore;
  ctl: { down: boolean; refusing: string | null };
} {
  const ctl: { down: boolean; refusing: string | null } = { down: false, refusing: null };
  const fail = (op: string, key?: string) => {
    if (ctl.down) throw new DurableStoreError(op, undefined, "cut off");
    if (key !== undefined && ctl.refusing !== null && key.startsWith(ctl.refusing))
      throw new DurableStoreError(op, key, "refused");
  };
  const store: DurableStore = {
    kind: "cuttable",
    async open(hubId) {
      fail("open");
      const b = await inner.open(hubId);
      const wrapped: DurableBucket = {
        get: async (k) => {
          fail("get");
          return b.get(k);
        },
        create: async (k, v) => {
          fail("create", k);
          return b.create(k, v);
        },
        update: async (k, v, r) => {
          fail("update", k);
          return b.update(k, v, r);
        },
        delete: async (k, r) => {
          fail("delete");
          return b.delete(k, r);
        },
        watch: (p, fn) => b.watch(p, fn),
        lastRevision: async () => {
          fail("status");
          return b.lastRevision();
        },
        close: () => b.close(),
      };
      return wrapped;
    },
  };
  return { store, ctl };
}

type Fired = { [K in keyof HubHookEvents]?: Array<HubHookEvents[K]> };

class Fenced {
  private static seq = 0;
  readonly network = new MemoryNetwork({ timeoutMs: 150 });
  readonly store = new MemoryDurableStore();
  readonly hubs = new Map<string, ProcessHub>();
  readonly cuts = new Map<string, { down: boolean; refusing: string | null }>();
  readonly fired = new Map<string, Fired>();
  readonly clusters: Cluster[] = [];
  readonly name = `fenced${Fenced.seq++}`;
  /** Most copies of one id seen at one sample, and samples taken. */
  worst = 0;
  samples = 0;
  private sampler: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly migration: "coldSwap" | "hotSwap" = "coldSwap") {}

  async add(name: string): Promise<ProcessHub> {
    const node = new Node({ name, logger: silentLogger });
    const cluster = await Cluster.join({
      node,
      cluster: this.name,
      transport: this.network.transport(node),
      logger: silentLogger,
    });
    this.clusters.push(cluster);
    const cut = cuttable(this.store);
    this.cuts.set(name, cut.ctl);
    const fired: Fired = {};
    this.fired.set(name, fired);
    const record =
      <K extends keyof HubHookEvents>(k: K) =>
      (d: HubHookEvents[K]) =>
        void ((fired[k] ??= []) as Array<HubHookEvents[K]>).push(d);
    const hub = ProcessHub.start({
      hubId: "fenced",
      node,
      cluster,
      behaviours: { worker: Worker, keeper: Keeper },
      logger: silentLogger,
      migration: this.migration === "hotSwap" ? { type: "hotSwap" } : { type: "coldSwap" },
      hooks: {
        leaseAcquired: record("leaseAcquired"),
        leaseLost: record("leaseLost"),
        claimTakenOver: record("claimTakenOver"),
        fencedStartRefused: record("fencedStartRefused"),
        handoverReceived: record("handoverReceived"),
      },
      durability: {
        store: cut.store,
        reconcileIntervalMs: 100,
        settleMs: 200,
        graceMs: 300,
        fencing: FENCING,
      },
    });
    this.hubs.set(name, hub);
    return hub;
  }

  async start(names: string[]): Promise<ProcessHub[]> {
    const hubs: ProcessHub[] = [];
    for (const n of names) hubs.push(await this.add(n));
    await this.formed();
    return hubs;
  }

  async formed(): Promise<void> {
    const n = this.hubs.size;
    await expect
      .poll(() => [...this.hubs.values()].every((h) => h.nodes().length === n - 1), { timeout: 10_000 })
      .toBe(true);
  }

  /** Copies of each id on every node, from the nodes' own children (a frozen node's too). */
  copies(): Map<string, number> {
    const m = new Map<string, number>();
    for (const h of this.hubs.values())
      if (h.isAlive()) for (const id of h.core.children.byId.keys()) m.set(id, (m.get(id) ?? 0) + 1);
    return m;
  }

  /** Samples every 2 ms from now on. */
  sample(): void {
    this.sampler = setInterval(() => {
      this.samples++;
      for (const c of this.copies().values()) if (c > this.worst) this.worst = c;
    }, 2);
  }

  /** What each node runs and what fencing did, for failure messages. */
  describe(): string {
    const parts: string[] = [];
    for (const [n, h] of this.hubs) {
      const fired = this.fired.get(n)!;
      const refused = (fired.fencedStartRefused ?? []).map((r) => `${r.id}:${r.reason}:${r.holder}`);
      parts.push(
        `${n}: ${h.core.children.size} running, members ${h.nodes()}, refused [${refused.slice(0, 5)}] (${refused.length}), lost ${JSON.stringify(fired.leaseLost ?? [])}, taken ${(fired.claimTakenOver ?? []).length}, valid ${h.fence?.valid()}, durable ${JSON.stringify(h.durable?.stats)}`,
      );
    }
    return parts.join("; ");
  }

  /** Every one of `ids` runs exactly once, and nothing else runs. */
  runsOnce(ids: readonly string[]): string {
    const c = this.copies();
    if (c.size !== ids.length) return `${c.size} running, want ${ids.length}`;
    for (const id of ids) if (c.get(id) !== 1) return `${id} runs ${c.get(id) ?? 0} times`;
    return "ok";
  }

  async close(): Promise<void> {
    if (this.sampler !== null) clearInterval(this.sampler);
    for (const [n, cut] of this.cuts) {
      cut.down = false;
      this.network.resume(n);
    }
    for (const h of this.hubs.values()) await h.stop().catch(() => {});
    for (const c of this.clusters) await c.leave().catch(() => {});
  }
}

let open: Fenced[] = [];
afterEach(async () => {
  refuse.next = 0;
  for (const c of open) await c.close();
  open = [];
});

function fenced(migration?: "coldSwap" | "hotSwap"): Fenced {
  const f = new Fenced(migration);
  open.push(f);
  return f;
}

const specs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `f${i}`, behaviour: "worker", args: i }));
const ids = (n: number) => specs(n).map((s) => s.id);

describe("fenced durable hub over the memory transport", () => {
  for (const migration of ["coldSwap", "hotSwap"] as const)
    it(`starts every child once and moves children to a joining node by handing their claims over (${migration})`, async () => {
      const f = fenced(migration);
      const [a] = await f.start(["a", "b"]);
      f.sample();
      const r = await a!.startChildren(specs(40), { awaitable: true, timeoutMs: 10_000 }).await();
      expect(r.errors).toEqual([]);
      expect(f.runsOnce(ids(40))).toBe("ok");
      const c = await f.add("c");
      await f.formed();
      await expect
        .poll(() => (c.core.children.size > 0 ? f.runsOnce(ids(40)) : f.describe()), { timeout: 15_000 })
        .toBe("ok");
      await expect.poll(() => f.runsOnce(ids(40)), { timeout: 15_000 }).toBe("ok");
      // The claims of what c runs name c; nobody took a claim from a live node, nobody waited.
      const claims = c
        .fence!.snapshot()
        .claims.filter((cl) => cl.node === "c")
        .map((cl) => cl.id);
      for (const id of c.core.children.byId.keys()) expect(claims).toContain(id);
      for (const fired of f.fired.values()) expect(fired.claimTakenOver ?? []).toEqual([]);
      expect(f.worst).toBe(1);
      expect(f.samples).toBeGreaterThan(0);
    });

  it("a node frozen and cut off from the store stops its children itself; the others adopt them after its lease lapsed", async () => {
    const f = fenced();
    const [a, b] = await f.start(["a", "b", "c"]);
    f.sample();
    const r = await a!.startChildren(specs(30), { awaitable: true, timeoutMs: 10_000 }).await();
    expect(r.errors).toEqual([]);
    await expect.poll(() => f.runsOnce(ids(30)), { timeout: 10_000 }).toBe("ok");
    const onB = [...b!.core.children.byId.keys()];
    expect(onB.length).toBeGreaterThan(0);
    // b freezes (its processes) and loses the store; its timers still run, as a node cut off from NATS.
    f.cuts.get("b")!.down = true;
    f.network.pause("b");
    await expect.poll(() => f.fired.get("b")!.leaseLost?.length ?? 0, { timeout: 10_000 }).toBe(1);
    expect(f.fired.get("b")!.leaseLost![0]).toMatchObject({ reason: "overdue", stopped: onB.length });
    // a and c run b's children once b's lease lapsed: each taken over from b.
    await expect
      .poll(
        () => {
          const c = f.copies();
          return onB.every((id) => c.get(id) === 1);
        },
        { timeout: 15_000 },
      )
      .toBe(true);
    const taken = [...f.fired.values()].flatMap((x) => x.claimTakenOver ?? []);
    expect(taken.map((t) => t.id).sort()).toEqual([...onB].sort());
    expect(taken.every((t) => t.from === "b")).toBe(true);
    // b back: a new session, its share again (handed over by the nodes that held it).
    f.cuts.get("b")!.down = false;
    f.network.resume("b");
    await expect.poll(() => f.fired.get("b")!.leaseAcquired?.length ?? 0, { timeout: 10_000 }).toBe(2);
    await expect
      .poll(() => b!.core.children.size > 0 && f.runsOnce(ids(30)) === "ok", { timeout: 20_000 })
      .toBe(true);
    expect(f.worst).toBe(1);
  });
});

describe("fenced hot swap whose new copy fails to start", () => {
  /** Starts keeper `k` (at 0), bumps it `n` times; resolves the node it runs on and the other. */
  async function keeperAt5(f: Fenced): Promise<{ from: ProcessHub; to: ProcessHub; toName: string }> {
    const [a] = await f.start(["a", "b"]);
    const r = await a!
      .startChildren([{ id: "k", behaviour: "keeper", args: 0 }], { awaitable: true, timeoutMs: 10_000 })
      .await();
    expect(r.errors).toEqual([]);
    for (let i = 0; i < 5; i++) await a!.ref<KeeperProtocol>("k", { timeoutMs: 5000 }).call("bump");
    const [fromName, toName] = f.hubs.get("a")!.core.children.byId.has("k") ? ["a", "b"] : ["b", "a"];
    return { from: f.hubs.get(fromName!)!, to: f.hubs.get(toName!)!, toName: toName! };
  }

  /** The count of keeper `k` once it runs exactly once, on `on`. */
  async function countOn(f: Fenced, on: ProcessHub): Promise<number> {
    await expect
      .poll(() => (on.core.children.byId.has("k") ? f.runsOnce(["k"]) : f.describe()), { timeout: 20_000 })
      .toBe("ok");
    return on.ref<KeeperProtocol>("k", { timeoutMs: 5000 }).call("get");
  }

  it("keeps the live state: parked in the store, it reaches the copy that starts next", async () => {
    const f = fenced("hotSwap");
    const { from, to, toName } = await keeperAt5(f);
    f.sample();
    // The hot swap's own start fails (the new copy's init), and the old copy is gone.
    refuse.next = 1;
    await from.migrate("k", toName, { timeoutMs: 20_000 }).catch(() => {});
    // Reconcile starts it again on its pinned node, and that start takes the parked state.
    expect(await countOn(f, to)).toBe(5);
    const received = (f.fired.get(toName)!.handoverReceived ?? []).filter((h) => h.id === "k");
    expect(received.map((h) => h.ok)).toEqual([true]);
    expect(to.core.handovers!.stats.taken).toBe(1);
    expect(f.worst, f.describe()).toBeLessThanOrEqual(1);
    // Taken once: nothing is left parked for a later start.
    const bucket = await f.store.open("fenced.checkpoints");
    expect((await bucket.get(parkedHandoverKey("k")))?.value ?? null).toBeNull();
  });

  it("a child whose state cannot be parked is not moved: it runs on where it was, with its state", async () => {
    const f = fenced("hotSwap");
    const { from, to, toName } = await keeperAt5(f);
    const fromName = toName === "a" ? "b" : "a";
    f.sample();
    f.cuts.get(fromName)!.refusing = "h.";
    await expect(from.migrate("k", toName, { timeoutMs: 1500 })).rejects.toThrow();
    expect(from.core.children.byId.has("k")).toBe(true);
    expect(f.runsOnce(["k"])).toBe("ok");
    expect(await countOn(f, from)).toBe(5);
    // The store takes it again: the next move goes through, with the state.
    f.cuts.get(fromName)!.refusing = null;
    await from.migrate("k", toName, { timeoutMs: 20_000 });
    expect(await countOn(f, to)).toBe(5);
    expect(f.worst).toBeLessThanOrEqual(1);
  });

  it("a successful fenced hot swap leaves nothing parked", async () => {
    const f = fenced("hotSwap");
    const { from, to, toName } = await keeperAt5(f);
    await from.migrate("k", toName, { timeoutMs: 20_000 });
    expect(await countOn(f, to)).toBe(5);
    expect(from.core.handovers!.stats.parked).toBe(1);
    const bucket = await f.store.open("fenced.checkpoints");
    expect((await bucket.get(parkedHandoverKey("k")))?.value ?? null).toBeNull();
  });

  it("a child stopped for good drops its parked state: a later start begins from its args", async () => {
    const f = fenced("hotSwap");
    const { from, toName } = await keeperAt5(f);
    // Every copy refuses: the state stays parked while reconcile keeps trying.
    refuse.next = 1_000_000;
    await from.migrate("k", toName, { timeoutMs: 500 }).catch(() => {});
    const bucket = await f.store.open("fenced.checkpoints");
    await expect.poll(async () => (await bucket.get(parkedHandoverKey("k")))?.value != null).toBe(true);
    const a = f.hubs.get("a")!;
    await a.stopChildren(["k"], { awaitable: true, timeoutMs: 10_000 }).await();
    await expect
      .poll(async () => (await bucket.get(parkedHandoverKey("k")))?.value ?? null, { timeout: 10_000 })
      .toBeNull();
    refuse.next = 0;
    // The node that tried last holds the claim until its next renewal gives it up.
    await expect
      .poll(
        async () => {
          const r = await a
            .startChildren([{ id: "k", behaviour: "keeper", args: 100 }], {
              awaitable: true,
              timeoutMs: 10_000,
            })
            .await();
          return r.errors.map((e) => e.reason).filter((why) => why !== "already_started");
        },
        { timeout: 10_000, interval: 200 },
      )
      .toEqual([]);
    expect(await a.ref<KeeperProtocol>("k", { timeoutMs: 5000 }).call("get")).toBe(100);
  });
});
