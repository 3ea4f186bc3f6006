/**
 * Checkpoints of durable hubs over the memory transport and `MemoryDurableStore`: a checkpointed
 * child resumes from its last checkpoint after its node is killed (on another node), after a
 * crash (in place), after a passivation (on re-activation); hot swap still hands over the live
 * state; a stop deletes the checkpoint, so a later start begins from its args; an oversized
 * checkpoint throws `CheckpointTooLargeError` to the caller and fires `checkpointFailed`; a
 * garbled stored checkpoint is refused with a warning; a write the store failed is retried once
 * the store is back. Then what a durable hub declares for entities: `ensure` / `activate` starts
 * are declared running and come back after a full-cluster restart, passivated ones are declared
 * dormant and do not (until their next activation, which resumes from the checkpoint), and a
 * `migrate` pin is declared, so the child comes back on the node it was moved to. Conditions are
 * polled, never slept on.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Cluster } from "../../../src/cluster/index.js";
import { checkpointKey, decodeCheckpoint } from "../../../src/hub/durable/checkpoint-record.js";
import { checkpointsBucketName } from "../../../src/hub/durable/checkpoint-bucket.js";
import { withCheckpoints } from "../../../src/hub/durable/checkpointed.js";
import { MemoryDurableStore } from "../../../src/hub/durable/memory-store.js";
import { entity } from "../../../src/hub/entities/entity.js";
import type { HubHookEvents } from "../../../src/hub/hooks.js";
import type { HubOptions } from "../../../src/hub/hub-options.js";
import { ProcessHub } from "../../../src/hub/process-hub.js";
import { withHandover } from "../../../src/hub/strategies/handover.js";
import { type Logger, silentLogger } from "../../../src/logger.js";
import { Node } from "../../../src/process/node.js";
import { defineServer, ok, reply } from "../../../src/server/index.js";
import { MemoryNetwork } from "../../../src/transports/memory/index.js";

interface TallyP {
  calls: { add(n: number): number; get(): number; big(bytes: number): string; crash(): never };
}

const tallyServer = defineServer<TallyP>()({
  name: "tally",
  init: (start: number, ctx) => ok(ProcessHub.lastCheckpoint<number>(ctx) ?? start),
  handleCall: {
    add: (n, s, ctx) => {
      const next = s + n;
      ProcessHub.checkpoint(ctx, next);
      return reply(next, next);
    },
    get: (_a, s) => reply(s, s),
    big: (bytes, s, ctx) => {
      try {
        ProcessHub.checkpoint(ctx, "x".repeat(bytes));
        return reply("stored", s);
      } catch (e) {
        return reply((e as { code: string }).code, s);
      }
    },
    crash: () => {
      throw new Error("boom");
    },
  },
});

const Tally = withCheckpoints(tallyServer, { debounceMs: 20, maxBytes: 1024 });
/** Writes at most once a minute: the second of two quick checkpoints waits (for hot swap). */
const SlowTally = withHandover(withCheckpoints(tallyServer, { debounceMs: 60_000 }), {
  receiveHandoverState: (data) => data as number,
});
const IdleTally = entity(withCheckpoints(tallyServer, { debounceMs: 0 }), { idleTimeoutMs: 100 });

function recording(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warnings, warn: (_o, msg) => void warnings.push(msg) };
}

class Bed {
  readonly network = new MemoryNetwork();
  readonly hubs = new Map<string, ProcessHub>();
  readonly failed: Array<HubHookEvents["checkpointFailed"]> = [];
  private static seq = 0;
  readonly name = `cp${Bed.seq++}`;

  constructor(
    readonly store: MemoryDurableStore,
    readonly extra: Partial<HubOptions> = {},
    readonly logger: Logger = silentLogger,
  ) {}

  async start(names: string[]): Promise<ProcessHub[]> {
    for (const name of names) {
      const node = new Node({ name, logger: silentLogger });
      const cluster = await Cluster.join({
        node,
        cluster: this.name,
        transport: this.network.transport(node),
        logger: silentLogger,
      });
      const hub = ProcessHub.start({
        hubId: "cp",
        node,
        cluster,
        behaviours: { tally: Tally, slow: SlowTally, idle: IdleTally },
        logger: this.logger,
        durability: { store: this.store, reconcileIntervalMs: 50, settleMs: 100, graceMs: 200 },
        hooks: { checkpointFailed: (e) => void this.failed.push(e) },
        ...this.extra,
      });
      this.hubs.set(name, hub);
    }
    const hubs = [...this.hubs.values()];
    await expect
      .poll(() => hubs.every((h) => h.nodes().length === names.length - 1), { timeout: 10_000 })
      .toBe(true);
    await Promise.all(hubs.map((h) => h.durable!.ready));
    return hubs;
  }

  /** The node running `id`, from the nodes' own children. */
  host(id: string): string | undefined {
    for (const [n, h] of this.hubs) if (h.isAlive() && h.localChildren().has(id)) return n;
    return undefined;
  }

  /** The decoded stored checkpoint of `id` (null: none or deleted). */
  async stored(id: string): Promise<unknown> {
    const bucket = await this.store.open(checkpointsBucketName("cp"));
    const e = await bucket.get(checkpointKey(id));
    if (e === null || e.value === null) return null;
    const d = decodeCheckpoint("cp", id, e.value);
    return "refused" in d ? { refused: d.refused } : "obj" in d ? { obj: d.obj } : d.state;
  }

  /** A call to child `id` from node `on` (through a reference: it waits for an instance). */
  call<K extends keyof TallyP["calls"]>(on: string, id: string, name: K, arg?: unknown): Promise<unknown> {
    const ref = this.hubs.get(on)!.ref(id, { timeoutMs: 3000 });
    return (ref.call as (n: string, a?: unknown) => Promise<unknown>)(name, arg);
  }

  /** Every node killed at once (no graceful stop: what a crash of the whole hub looks like). */
  killAll(): void {
    for (const n of this.hubs.keys()) this.network.kill(n);
    this.hubs.clear();
  }

  async close(): Promise<void> {
    for (const h of this.hubs.values()) await h.stop().catch(() => {});
  }
}

let open: Bed[] = [];
afterEach(async () => {
  for (const b of open) await b.close();
  open = [];
});

function bed(store = new MemoryDurableStore(), extra: Partial<HubOptions> = {}, logger?: Logger): Bed {
  const b = new Bed(store, extra, logger);
  open.push(b);
  return b;
}

describe("checkpoints of a durable hub (memory transport)", () => {
  it("resumes a child from its last checkpoint on another node after its node is killed", async () => {
    const b = bed();
    const [a] = await b.start(["k1", "k2", "k3"]);
    const r = await a!
      .startChildren([{ id: "t1", behaviour: "tally", args: 100 }], { awaitable: true })
      .await(5000);
    expect(r.errors).toEqual([]);
    for (let i = 1; i <= 5; i++) await b.call("k1", "t1", "add", i);
    await expect.poll(() => b.stored("t1"), { timeout: 5000 }).toBe(115);
    const host = b.host("t1")!;
    b.network.kill(host);
    b.hubs.delete(host);
    const survivor = [...b.hubs.keys()][0]!;
    await expect.poll(() => b.host("t1"), { timeout: 10_000 }).toBeDefined();
    await expect.poll(() => b.hubs.get(survivor)!.getPid("t1")?.node, { timeout: 10_000 }).toBe(b.host("t1"));
    expect(await b.call(survivor, "t1", "get")).toBe(115);
    const restored = [...b.hubs.values()].reduce((n, h) => n + h.core.checkpoints!.stats.restored, 0);
    expect(restored).toBe(1);
  });

  it("resumes a crashed child from its last checkpoint in place", async () => {
    const b = bed();
    const [a] = await b.start(["c1", "c2"]);
    await a!.startChildren([{ id: "t2", behaviour: "tally", args: 0 }], { awaitable: true }).await(5000);
    await b.call("c1", "t2", "add", 7);
    const before = a!.getPid("t2")!;
    await b.call("c1", "t2", "crash").catch(() => {});
    await expect.poll(() => a!.getPid("t2")?.equals(before) === false, { timeout: 5000 }).toBe(true);
    expect(await b.call("c1", "t2", "get")).toBe(7);
  });

  it("deletes the checkpoint of a stopped child: a later start begins from its args", async () => {
    const b = bed();
    const [a] = await b.start(["s1", "s2"]);
    await a!.startChildren([{ id: "t3", behaviour: "tally", args: 1 }], { awaitable: true }).await(5000);
    await b.call("s1", "t3", "add", 41);
    await expect.poll(() => b.stored("t3"), { timeout: 5000 }).toBe(42);
    const s = await a!.stopChildren(["t3"], { awaitable: true }).await(5000);
    expect(s.errors).toEqual([]);
    await expect.poll(() => b.stored("t3"), { timeout: 5000 }).toBeNull();
    const again = await a!
      .startChildren([{ id: "t3", behaviour: "tally", args: 1 }], { awaitable: true })
      .await(5000);
    expect(again.errors).toEqual([]);
    expect(await b.call("s1", "t3", "get")).toBe(1);
  });

  it("hands the live state over under hot swap, not the older checkpoint", async () => {
    const b = bed(new MemoryDurableStore(), { migration: { type: "hotSwap" } });
    const [a] = await b.start(["h1", "h2"]);
    await a!.startChildren([{ id: "t4", behaviour: "slow", args: 0 }], { awaitable: true }).await(5000);
    await b.call("h1", "t4", "add", 1); // stored at once
    await expect.poll(() => b.stored("t4"), { timeout: 5000 }).toBe(1);
    await b.call("h1", "t4", "add", 2); // waits for the minute to pass
    const host = b.host("t4")!;
    const other = [...b.hubs.keys()].find((n) => n !== host)!;
    await a!.migrate("t4", other, { timeoutMs: 5000 });
    await expect.poll(() => b.host("t4"), { timeout: 5000 }).toBe(other);
    expect(await b.call(other, "t4", "get")).toBe(3);
  });

  it("re-activates a passivated entity from its checkpoint", async () => {
    const b = bed();
    const [a] = await b.start(["p1", "p2"]);
    const ref = a!.ref<typeof tallyServer>("t5", { activate: { behaviour: "idle", args: 0 } });
    expect(await ref.call("add", 5)).toBe(5);
    expect(await ref.call("add", 6)).toBe(11);
    // Idle past its timeout: passivated everywhere, and not restarted by reconcile.
    await expect.poll(() => b.host("t5"), { timeout: 5000 }).toBeUndefined();
    expect(await b.stored("t5")).toBe(11);
    expect(await ref.call("get")).toBe(11);
  });

  it("throws CheckpointTooLargeError to the caller, reports it, and keeps the last checkpoint", async () => {
    const b = bed();
    const [a] = await b.start(["z1", "z2"]);
    await a!.startChildren([{ id: "t6", behaviour: "tally", args: 0 }], { awaitable: true }).await(5000);
    await b.call("z1", "t6", "add", 3);
    await expect.poll(() => b.stored("t6"), { timeout: 5000 }).toBe(3);
    expect(await b.call("z1", "t6", "big", 5000)).toBe("HV_ERR_HUB_CHECKPOINT_TOO_LARGE");
    expect(b.failed).toContainEqual(expect.objectContaining({ id: "t6", reason: "too_large" }));
    expect(await b.stored("t6")).toBe(3);
  });

  it("refuses a garbled stored checkpoint with a warning and starts from the args", async () => {
    const store = new MemoryDurableStore();
    const logger = recording();
    const b = bed(store, {}, logger);
    const [a] = await b.start(["g1", "g2"]);
    await store.open(checkpointsBucketName("cp"));
    store.inject(checkpointsBucketName("cp"), checkpointKey("t7"), Uint8Array.of(0xc1, 0xff));
    await a!.startChildren([{ id: "t7", behaviour: "tally", args: 9 }], { awaitable: true }).await(5000);
    expect(await b.call("g1", "t7", "get")).toBe(9);
    expect(b.failed).toContainEqual(expect.objectContaining({ id: "t7", reason: "refused" }));
    expect(logger.warnings).toContain("hub checkpoint failed");
    // Its next checkpoint replaces the garbled one.
    await b.call("g1", "t7", "add", 1);
    await expect.poll(() => b.stored("t7"), { timeout: 5000 }).toBe(10);
  });

  it("retries a checkpoint the store failed once the store is back", async () => {
    const store = new MemoryDurableStore();
    const b = bed(store);
    const [a] = await b.start(["u1", "u2"]);
    await a!.startChildren([{ id: "t8", behaviour: "tally", args: 0 }], { awaitable: true }).await(5000);
    store.down = true;
    await b.call("u1", "t8", "add", 4);
    await expect
      .poll(() => b.failed.some((e) => e.id === "t8" && e.reason === "store"), { timeout: 5000 })
      .toBe(true);
    store.down = false;
    await expect.poll(() => b.stored("t8"), { timeout: 10_000 }).toBe(4);
  });
});

describe("declarations of entities and pins (memory transport)", () => {
  it("keeps reconciling while children checkpoint (checkpoints do not make the declarations' replica look stale)", async () => {
    const b = bed();
    const hubs = await b.start(["k1", "k2"]);
    await hubs[0]!
      .startChildren([{ id: "t9", behaviour: "tally", args: 0 }], { awaitable: true })
      .await(5000);
    for (let i = 1; i <= 5; i++) {
      await b.call("k1", "t9", "add", 1);
      await expect.poll(() => b.stored("t9"), { timeout: 5000 }).toBe(i);
    }
    // Rounds act again after the last checkpoint write, on every node.
    const acted = hubs.map((h) => h.durable!.stats.rounds);
    await expect
      .poll(() => hubs.every((h, i) => h.durable!.stats.rounds >= acted[i]! + 3), { timeout: 10_000 })
      .toBe(true);
  });

  it("restarts ensured children after a full-cluster restart, not dormant ones until activated", async () => {
    const store = new MemoryDurableStore();
    const before = bed(store);
    const [a] = await before.start(["e1", "e2", "e3"]);
    await a!.ensure({ id: "kept", behaviour: "tally", args: 7 });
    const idle = a!.ref<typeof tallyServer>("sleepy", { activate: { behaviour: "idle", args: 0 } });
    expect(await idle.call("add", 3)).toBe(3);
    await expect.poll(() => before.host("sleepy"), { timeout: 5000 }).toBeUndefined();
    expect(a!.durable!.declared.get("sleepy")?.desired).toBe("dormant");
    expect(a!.durable!.declared.get("kept")?.desired).toBe("running");
    before.killAll();

    const after = bed(store);
    const hubs = await after.start(["e1", "e2", "e3"]);
    await expect.poll(() => after.host("kept"), { timeout: 10_000 }).toBeDefined();
    // Reconcile rounds pass and the dormant child stays down.
    const from = hubs.map((h) => h.durable!.stats.rounds);
    await expect
      .poll(() => hubs.every((h, i) => h.durable!.stats.rounds >= from[i]! + 3), { timeout: 10_000 })
      .toBe(true);
    expect(after.host("sleepy")).toBeUndefined();
    const again = hubs[1]!.ref<typeof tallyServer>("sleepy", { activate: { behaviour: "idle", args: 0 } });
    expect(await again.call("get")).toBe(3);
    expect(hubs[1]!.durable!.declared.get("sleepy")?.desired).toBe("running");
  });

  it("deletes the checkpoint of a checkpointed child stopped while it ran nowhere (dormant)", async () => {
    const store = new MemoryDurableStore();
    const b = bed(store);
    const [a] = await b.start(["s1", "s2", "s3"]);
    await a!.startChildren([{ id: "plain", behaviour: "tally", args: 1 }], { awaitable: true }).await(5000);
    const idle = a!.ref<typeof tallyServer>("sleepy", { activate: { behaviour: "idle", args: 0 } });
    expect(await idle.call("add", 3)).toBe(3);
    await expect.poll(() => b.host("sleepy"), { timeout: 5000 }).toBeUndefined();
    await expect.poll(() => b.stored("sleepy"), { timeout: 5000 }).toBe(3);
    const r = await a!.stopChildren(["sleepy", "plain"], { awaitable: true }).await(5000);
    expect(r.stopped.map((x) => x.id)).toEqual(["plain"]);
    expect(r.errors.map((e) => [e.id, e.reason])).toEqual([["sleepy", "not_found"]]);
    expect(a!.durable!.declared.get("sleepy")?.desired).toBe("stopped");
    // Its spec was taken from the declaration the stop replaced: the checkpoint goes with it.
    await expect.poll(() => b.stored("sleepy"), { timeout: 5000 }).toBeNull();
  });

  it("declares a migrate pin: after a full-cluster restart the child runs on the node it was moved to", async () => {
    const store = new MemoryDurableStore();
    const before = bed(store);
    const [a] = await before.start(["m1", "m2", "m3"]);
    await a!.startChildren([{ id: "moved", behaviour: "tally", args: 0 }], { awaitable: true }).await(5000);
    const owner = a!.ownerOf("moved");
    const to = ["m1", "m2", "m3"].find((n) => n !== owner)!;
    await a!.migrate("moved", to, { timeoutMs: 5000 });
    expect(a!.durable!.declared.get("moved")?.pin).toEqual([to]);
    before.killAll();

    const after = bed(store);
    await after.start(["m1", "m2", "m3"]);
    await expect.poll(() => after.host("moved"), { timeout: 10_000 }).toBe(to);
  });
});
