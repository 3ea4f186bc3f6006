/**
 * Fencing (`Fence`) over `MemoryDurableStore` on scripted time: each node has its own view of
 * one scripted clock, whose timers fire only when the test advances time (and not while the
 * node is frozen). A holder cut off from the store stops its children before its lease ends and
 * the taker claims them only after the lease lapsed; a frozen holder stops its children at its
 * first check after the thaw; an acknowledgement that comes too late does not extend a lease; a
 * hand-over and a released lease let the next node claim at once, as does a claim its live holder
 * gave up (it neither runs nor needs it); a restarted process under the
 * same name waits for the old one's lease; garbled entries are refused.
 */
import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../../src/errors.js";
import { DurableStoreError } from "../../../src/hub/durable/errors.js";
import { Fence, type FenceHost } from "../../../src/hub/durable/fencing.js";
import { type FenceClock, parseFencing } from "../../../src/hub/durable/fencing-options.js";
import { claimKey, leaseKey } from "../../../src/hub/durable/lease.js";
import { MemoryDurableStore } from "../../../src/hub/durable/memory-store.js";
import type { DurableBucket, DurableStore } from "../../../src/hub/durable/store.js";
import { HubHooks } from "../../../src/hub/hooks.js";
import { ProcessHub } from "../../../src/hub/process-hub.js";
import { type Logger, silentLogger } from "../../../src/logger.js";
import { Node } from "../../../src/process/node.js";

const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  owner: NodeClock;
  cancelled: boolean;
}

interface NodeClock extends FenceClock {
  frozen: boolean;
}

/** One scripted time; each node's clock reads it, and its timers wait while the node is frozen. */
class World {
  t = 0;
  private seq = 0;
  private readonly timers: Timer[] = [];

  clock(): NodeClock {
    const c: NodeClock = {
      frozen: false,
      now: () => this.t,
      after: (ms, fn) => {
        const tm: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, owner: c, cancelled: false };
        this.timers.push(tm);
        return () => {
          tm.cancelled = true;
        };
      },
    };
    return c;
  }

  /** Moves time forward by `ms`, firing due timers of unfrozen nodes in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      let next: Timer | undefined;
      for (const tm of this.timers)
        if (
          !tm.cancelled &&
          !tm.owner.frozen &&
          tm.at <= end &&
          (next === undefined || tm.at < next.at || (tm.at === next.at && tm.seq < next.seq))
        )
          next = tm;
      if (next === undefined) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
    await flush();
  }

  /** Advances in steps until `cond` holds (at most `maxMs`); the time it first held. */
  async until(cond: () => boolean, maxMs: number, step = 50): Promise<number> {
    const end = this.t + maxMs;
    while (!cond()) {
      if (this.t >= end) throw new Error(`not within ${maxMs} ms of scripted time`);
      await this.advance(step);
    }
    return this.t;
  }
}

/** A store whose buckets fail (`down`) or hold lease writes (`hold`) for one node. */
function cuttable(inner: DurableStore) {
  const ctl = {
    down: false,
    hold: false,
    held: [] as Array<() => void>,
    release() {
      for (const r of ctl.held.splice(0)) r();
    },
  };
  const fail = (op: string) => {
    if (ctl.down) throw new DurableStoreError(op, undefined, "cut off");
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
          fail("create");
          return b.create(k, v);
        },
        update: async (k, v, r) => {
          fail("update");
          if (ctl.hold) await new Promise<void>((res) => ctl.held.push(res));
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
  return { ctl, store };
}

class Host implements FenceHost {
  readonly hubId = "fenced";
  readonly hooks = new HubHooks();
  readonly running = new Set<string>();
  readonly events: Array<{ at: number; hook: string; data: unknown }> = [];
  stoppedAt: number[] = [];

  constructor(
    readonly self: string,
    private readonly world: World,
    readonly logger: Logger = silentLogger,
  ) {
    for (const h of ["leaseAcquired", "leaseLost", "fencedStartRefused", "claimTakenOver"] as const)
      this.hooks.register(h, (data) => this.events.push({ at: world.t, hook: h, data }));
  }

  alive(): boolean {
    return true;
  }

  holds(id: string): boolean {
    return this.running.has(id);
  }

  stopAll() {
    const count = this.running.size;
    this.running.clear();
    this.stoppedAt.push(this.world.t);
    return { count, kill: () => {} };
  }

  releasable(): boolean {
    return true;
  }

  fired(hook: string): unknown[] {
    return this.events.filter((e) => e.hook === hook).map((e) => e.data);
  }
}

const TIMINGS = {
  leaseMs: 3000,
  renewIntervalMs: 1000,
  stopMarginMs: 600,
  takeoverMarginMs: 200,
  clockDriftRate: 0,
};

function fence(world: World, host: Host, store: DurableStore, clock = world.clock()) {
  const f = new Fence(host, store, parseFencing({ ...TIMINGS, clock })!);
  return { f, clock, host };
}

/** Starts `id` on `node` as the hub would: claim, then run. */
async function start(n: { f: Fence; host: Host }, id: string) {
  const r = await n.f.acquire(id);
  if (r === null) {
    n.host.running.add(id);
    n.f.settled(id);
  }
  return r;
}

describe("Fence: leases and claims on scripted time", () => {
  it("holds its lease by renewing it; a claim of a live holder is refused", async () => {
    const world = new World();
    const store = new MemoryDurableStore();
    const a = fence(world, new Host("a", world), store);
    const b = fence(world, new Host("b", world), store);
    await world.advance(0);
    expect(a.f.valid() && b.f.valid()).toBe(true);
    expect(await start(a, "x")).toBeNull();
    let refused: unknown;
    void start(b, "x").then((r) => (refused = r));
    // Refused as soon as the holder is seen renewing (its next renewal), not before.
    await world.advance(900);
    expect(refused).toBeUndefined();
    await world.advance(200);
    expect(refused).toBe("held");
    expect(b.host.fired("fencedStartRefused")).toEqual([{ id: "x", reason: "held", holder: "a" }]);
    await world.advance(10_000);
    expect(a.f.valid()).toBe(true);
    expect(a.f.stats.renewals).toBeGreaterThanOrEqual(11);
    expect(a.host.fired("leaseLost")).toEqual([]);
    a.f.close();
    b.f.close();
  });

  it("a holder cut off from the store stops its children first; the taker claims them after the lapse", async () => {
    const world = new World();
    const store = new MemoryDurableStore();
    const cut = cuttable(store);
    const a = fence(world, new Host("a", world), cut.store);
    const b = fence(world, new Host("b", world), store);
    await world.advance(0);
    expect(await start(a, "x")).toBeNull();
    expect(await start(a, "y")).toBeNull();
    await world.advance(1000); // a renewal at 1000
    const lastRenewal = world.t;
    cut.ctl.down = true;
    let taken: unknown;
    void start(b, "x").then((r) => (taken = r));
    const takenAt = await world.until(() => taken !== undefined, 10_000);
    expect(taken).toBeNull();
    // a stopped both children at its stop point (leaseMs - stopMarginMs after its last renewal)...
    expect(a.host.fired("leaseLost")).toEqual([
      { session: expect.any(String), reason: "overdue", stopped: 2 },
    ]);
    expect(a.host.stoppedAt).toEqual([lastRenewal + 3000 - 600]);
    // ...and b took x only once the lease had lapsed as b saw it, plus the margin.
    expect(takenAt).toBeGreaterThanOrEqual(lastRenewal + 3000 + 200);
    expect(b.host.fired("claimTakenOver")).toEqual([{ id: "x", from: "a" }]);
    // Back on the store, a begins a new session; x is b's, y (its own old claim) is a's again.
    cut.ctl.down = false;
    await world.until(() => a.f.valid(), 5000);
    expect(await start(a, "y")).toBeNull();
    let again: unknown;
    void start(a, "x").then((r) => (again = r));
    await world.until(() => again !== undefined, 5000);
    expect(again).toBe("held");
    a.f.close();
    b.f.close();
  });

  it("a frozen holder stops its children at its first check after the thaw, before anything runs", async () => {
    const world = new World();
    const store = new MemoryDurableStore();
    const a = fence(world, new Host("a", world), store);
    const b = fence(world, new Host("b", world), store);
    await world.advance(0);
    expect(await start(a, "x")).toBeNull();
    a.clock.frozen = true; // SIGSTOP: no timer of a fires, nothing of a runs
    let taken: unknown;
    void start(b, "x").then((r) => (taken = r));
    await world.until(() => taken !== undefined, 10_000);
    expect(taken).toBeNull();
    // Still frozen: a never got to stop x, so on its thaw x is still among its children...
    expect(a.host.running.has("x")).toBe(true);
    a.clock.frozen = false;
    // ...until the node's scheduler asks the fence, before it runs any process.
    a.f.check();
    expect(a.host.running.size).toBe(0);
    expect(a.f.valid()).toBe(false);
    expect(a.host.fired("leaseLost")).toEqual([
      { session: expect.any(String), reason: "overdue", stopped: 1 },
    ]);
    a.f.close();
    b.f.close();
  });

  it("an acknowledgement that comes after the stop point does not extend the lease", async () => {
    const world = new World();
    const store = new MemoryDurableStore();
    const cut = cuttable(store);
    const a = fence(world, new Host("a", world), cut.store);
    const b = fence(world, new Host("b", world), store);
    await world.advance(0);
    const first = a.f.currentSession;
    expect(await start(a, "x")).toBeNull();
    cut.ctl.hold = true; // the store takes the renewals but acknowledges them late
    await world.until(() => a.host.fired("leaseLost").length === 1, 5000);
    cut.ctl.hold = false;
    cut.ctl.release();
    await world.advance(0);
    expect(a.f.valid()).toBe(false);
    // A new session, once the old lease has ended; x's claim (old session) is dead for everyone.
    await world.until(() => a.f.valid(), 5000);
    expect(a.f.currentSession).not.toBe(first);
    const t = world.t;
    expect(await start(b, "x")).toBeNull();
    expect(world.t).toBe(t);
    a.f.close();
    b.f.close();
  });

  it("a hand-over or a released lease lets the next node claim at once", async () => {
    const world = new World();
    const store = new MemoryDurableStore();
    const a = fence(world, new Host("a", world), store);
    const b = fence(world, new Host("b", world), store);
    await world.advance(0);
    expect(await start(a, "x")).toBeNull();
    expect(await start(a, "y")).toBeNull();
    a.host.running.delete("x");
    await a.f.handOver("x", "b");
    const t = world.t;
    expect(await start(b, "x")).toBeNull();
    a.host.stopAll();
    await a.f.releaseLease();
    await world.advance(0);
    expect(await start(b, "y")).toBeNull();
    expect(world.t).toBe(t);
    expect(b.host.fired("claimTakenOver")).toEqual([{ id: "y", from: "a" }]);
    a.f.close();
    b.f.close();
  });

  it("a claim its live holder neither runs nor needs is released at a renewal; the next node claims it at once", async () => {
    const world = new World();
    const store = new MemoryDurableStore();
    const a = fence(world, new Host("a", world), store);
    const b = fence(world, new Host("b", world), store);
    await world.advance(0);
    expect(await start(a, "x")).toBeNull();
    // x stopped on a without a hand-over (its start failed, a stop, a move whose claim write
    // failed): a renews on and keeps its lease, but must not keep x's claim.
    a.host.running.delete("x");
    await world.advance(1100);
    expect(a.f.snapshot().claims.find((c) => c.id === "x")?.node ?? null).toBeNull();
    const t = world.t;
    expect(await start(b, "x")).toBeNull();
    expect(world.t).toBe(t);
    expect(b.host.fired("claimTakenOver")).toEqual([]);
    expect(a.f.valid()).toBe(true);
    a.f.close();
    b.f.close();
  });

  it("of two concurrent claims of a free child exactly one wins", async () => {
    const world = new World();
    const store = new MemoryDurableStore();
    const a = fence(world, new Host("a", world), store);
    const b = fence(world, new Host("b", world), store);
    await world.advance(0);
    const results: unknown[] = [];
    void start(a, "z").then((r) => results.push(r));
    void start(b, "z").then((r) => results.push(r));
    await world.until(() => results.length === 2, 5000);
    expect(results.sort()).toEqual(["held", null].sort());
    a.f.close();
    b.f.close();
  });

  it("a restarted process under the same name waits until the old one's lease lapsed", async () => {
    const world = new World();
    const store = new MemoryDurableStore();
    const old = fence(world, new Host("a", world), store);
    await world.advance(0);
    expect(await start(old, "x")).toBeNull();
    const fresh = fence(world, new Host("a", world), store);
    // The old process keeps renewing: the new one must not begin (it could be a frozen twin).
    await world.advance(8000);
    expect(fresh.host.fired("leaseAcquired")).toEqual([]);
    old.clock.frozen = true; // then the old one stops renewing (killed, or frozen)
    const at = await world.until(() => fresh.f.valid(), 10_000);
    expect(at).toBeGreaterThanOrEqual(8000 + 3000 - 1000);
    expect(await start(fresh, "x")).toBeNull();
    old.f.close();
    fresh.f.close();
  });

  it("refuses garbled or foreign lease and claim entries with a warning", async () => {
    const world = new World();
    const store = new MemoryDurableStore();
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_o, msg) => void warnings.push(msg) };
    const a = fence(world, new Host("a", world, logger), store);
    await world.advance(0);
    store.inject("fenced.fencing", leaseKey("q"), new Uint8Array([1, 2, 3]));
    store.inject("fenced.fencing", claimKey("k"), new TextEncoder().encode("{}"));
    store.inject("fenced.fencing", "fc.not_canonical=", new Uint8Array([0]));
    await world.advance(0);
    expect(a.f.stats.rejected).toBe(3);
    expect(warnings).toContain("fencing store entry refused");
    // The refused claim is no claim: x can be claimed.
    expect(await start(a, "k")).toBeNull();
    a.f.close();
  });
});

describe("fencing options", () => {
  it("refuses a renewal period that leaves no room before the stop point, and replicas", () => {
    expect(() => parseFencing({ leaseMs: 1000, renewIntervalMs: 900, stopMarginMs: 200 })).toThrow(
      InvalidOptionError,
    );
    expect(() => parseFencing({ leaseMs: 5 })).toThrow(InvalidOptionError);
    expect(parseFencing(true)).toMatchObject({
      leaseMs: 30_000,
      renewIntervalMs: 10_000,
      stopMarginMs: 6000,
    });
    expect(parseFencing(false)).toBeNull();
    const node = new Node({ name: "f", logger: silentLogger });
    expect(() =>
      ProcessHub.start({
        hubId: "fenced-replicas",
        node,
        redundancy: { type: "replication", factor: 2 },
        durability: { store: new MemoryDurableStore(), fencing: true },
      }),
    ).toThrow(InvalidOptionError);
  });
});
