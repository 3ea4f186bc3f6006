/**
 * The hub strategy scenarios, written once and run over any transport: a test file calls
 * `strategyScenarios(transport)` with a `StrategyTransport` that makes one `StrategyBed` per test
 * (memory: `memory-bed.ts`, NATS: `nats-bed.ts`). Each scenario ends with the placement invariant
 * of `harness.ts` (every id exactly on its replicas, or once when placed; no dead pid; identical
 * registries).
 *
 * On every transport: replication (factor 2 active/active, also after a kill; factor "cluster"
 * and factor 2 active/passive, the signals following the active replica after a kill), cold swap
 * with replication on a join, hot swap with handoff (on a join, on a graceful hub stop, under a
 * Supervisor, with 3000 children and no anti-entropy round, and refused by the receiver), gossip
 * start and stop, interval sync repairing a registry (gossip and default synchronization), and
 * load-aware placement.
 *
 * Only where the transport can cut and mend its network in-process (`partitions`, the memory
 * network): static, dynamic and majority quorum, divergence and its heal (cold swap, and the
 * hot-swap merge). Over NATS those strategies run with routed servers in `nats-partition.test.ts`.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { HubOptions, ProcessHub } from "../../../src/hub/process-hub.js";
import { HubPartitionedError } from "../../../src/hub/strategies/errors.js";
import { withHandover } from "../../../src/hub/strategies/handover.js";
import type { Pid } from "../../../src/process/pid.js";
import { Supervisor } from "../../../src/supervision/index.js";
import { behaviours, ledger, specs, stateful } from "./harness.js";

/** What a scenario needs of a transport's test bed: hubs on nodes of this process, and the checks. */
export interface StrategyBed {
  /** The live hubs by node name; the invariant checks look at these. */
  readonly hubs: Map<string, ProcessHub>;
  /** Joins a node and starts a hub on it with the bed's options and `extra`. */
  add(name: string, extra?: Partial<HubOptions>): Promise<ProcessHub>;
  /** Joins a node whose hub runs under a Supervisor (`ProcessHub.childSpec`). */
  addSupervised(name: string, extra?: Partial<HubOptions>): Promise<{ hub: ProcessHub; sup: Pid }>;
  /** The node dies without a leave (a crash, as the others see it). */
  kill(name: string): void | Promise<void>;
  /** Stops the node's hub gracefully and leaves it out of the checks. */
  stopHub(name: string): Promise<void>;
  hub(name: string): ProcessHub;
  /** `GenServer.call` from the node hosting `pid`. */
  call(pid: Pid, name: string, arg?: unknown): Promise<unknown>;
  /** The redundancy mode each replica of `id` reports, by node. */
  modes(id: string): Promise<Record<string, unknown>>;
  /** Waits until each listed group of hubs knows exactly its own members (default: all, one group). */
  formed(groups?: string[][], timeout?: number): Promise<void>;
  /** What is wrong with the placement of `ids` over `names` (default: all hubs), or "ok". */
  placementProblem(ids: readonly string[], names?: string[], placed?: boolean): string;
  /** Polls `placementProblem` until "ok". */
  converged(ids: readonly string[], names?: string[], placed?: boolean, timeout?: number): Promise<void>;
  close(): Promise<void>;
}

/** A bed whose network the test can cut into groups and mend. */
export interface NetworkFaults {
  /** Nodes in different groups cannot reach each other; unlisted nodes form one more group. */
  partition(...groups: string[][]): void;
  heal(): void;
}

export interface StrategyTransport {
  readonly label: string;
  /** A fresh bed whose hubs all get `options`; the suite closes it after the test. */
  bed(options?: Partial<HubOptions>): StrategyBed;
  /**
   * Present when the transport can partition its network in-process: the partition-strategy
   * scenarios are registered only then (and are then never skipped).
   */
  readonly partitions?: (options?: Partial<HubOptions>) => StrategyBed & NetworkFaults;
}

const ids = (n: number, p = "c") => specs(n, p).map((s) => s.id);

/** Children a scenario starts are awaited this long (a loaded machine, a real server). */
const START_MS = 10_000;

export function strategyScenarios(transport: StrategyTransport): void {
  describe(`strategy scenarios over ${transport.label}`, () => {
    let current: StrategyBed | undefined;
    const setup = (options: Partial<HubOptions> = {}): StrategyBed => (current = transport.bed(options));
    afterEach(async () => {
      await current?.close();
      current = undefined;
    });

    describe("redundancy", () => {
      it("replication 2, active/active: every child runs on its two replicas, both active, also after a kill", async () => {
        const b = setup({ redundancy: { type: "replication", factor: 2 } });
        const a = await b.add("a");
        await b.add("b");
        await b.add("c");
        await b.formed();
        const r = await a.startChildren(specs(100), { awaitable: true }).await(START_MS);
        expect(r.status).toBe("ok");
        expect(r.started.every((s) => s.nodes.length === 2)).toBe(true);
        await b.converged(ids(100));
        for (const id of ids(100).slice(0, 10)) {
          const [first, second] = a.replicasOf(id);
          await expect.poll(() => b.modes(id)).toEqual({ [first!]: "active", [second!]: "active" });
        }
        await b.kill("b");
        await b.formed();
        // Two nodes left, factor 2: every child now runs on both, and every copy is active.
        await b.converged(ids(100));
        expect(a.localChildren().size).toBe(100);
        for (const id of ids(100).slice(0, 10))
          await expect.poll(() => b.modes(id)).toEqual({ a: "active", c: "active" });
      });

      it('replication "cluster", active/passive: every node runs every child; the signals follow the active replica after a kill', async () => {
        const b = setup({ redundancy: { type: "replication", factor: "cluster", mode: "activePassive" } });
        const a = await b.add("a");
        await b.add("b");
        await b.add("c");
        await b.formed();
        await a.startChildren(specs(30), { awaitable: true }).await(START_MS);
        await b.converged(ids(30));
        const id = ids(30).find((x) => a.replicasOf(x)[0] === "c")!;
        const [, second, third] = a.replicasOf(id);
        await expect
          .poll(() => b.modes(id))
          .toEqual({ c: "active", [second!]: "passive", [third!]: "passive" });
        await b.kill("c");
        await b.formed();
        await b.converged(ids(30));
        // The next replica on the ring took over and was told so; the third stays passive.
        await expect.poll(() => b.modes(id)).toEqual({ [second!]: "active", [third!]: "passive" });
      });

      it("replication 2, active/passive: killing the active node signals the passive replica active", async () => {
        const b = setup({ redundancy: { type: "replication", factor: 2, mode: "activePassive" } });
        const a = await b.add("a");
        await b.add("b");
        await b.add("c");
        await b.formed();
        const r = await a.startChildren(specs(90), { awaitable: true }).await(START_MS);
        expect(r.status).toBe("ok");
        await b.converged(ids(90));
        const onC = ids(90).filter((id) => a.replicasOf(id)[0] === "c");
        expect(onC.length).toBeGreaterThan(0);
        const second = new Map(onC.map((id) => [id, a.replicasOf(id)[1]!]));
        for (const id of onC)
          await expect.poll(() => b.modes(id)).toEqual({ c: "active", [second.get(id)!]: "passive" });
        await b.kill("c");
        await b.formed();
        await b.converged(ids(90));
        // Every child that was active on c is now active on its former passive replica, and has
        // a fresh passive replica on the last node.
        for (const id of onC) {
          const other = second.get(id) === "a" ? "b" : "a";
          await expect.poll(() => b.modes(id)).toEqual({ [second.get(id)!]: "active", [other]: "passive" });
        }
        expect(b.placementProblem(ids(90))).toBe("ok");
      });

      it("cold swap with replication: a joining node takes over exactly the replicas it now owns", async () => {
        const b = setup({ redundancy: { type: "replication", factor: 2 } });
        const a = await b.add("a");
        await b.add("b");
        await b.add("c");
        await b.formed();
        await a.startChildren(specs(200), { awaitable: true }).await(START_MS);
        await b.converged(ids(200));
        const before = new Map(ids(200).map((id) => [id, a.getPids(id).map(String).sort().join()]));
        const d = await b.add("d");
        await b.formed();
        await b.converged(ids(200));
        const onD = [...d.localChildren().keys()];
        expect(onD.length).toBeGreaterThan(0);
        // Only replica sets that gained d changed; every other child kept both of its pids.
        for (const id of ids(200)) {
          const gainedD = a.replicasOf(id).includes("d");
          expect(onD.includes(id)).toBe(gainedD);
          if (!gainedD) expect(a.getPids(id).map(String).sort().join()).toBe(before.get(id));
        }
      });
    });

    describe("migration", () => {
      /** Starts `n` children from `a`, adds `i + 1` to the i-th, and returns their ids. */
      async function counted(b: StrategyBed, a: ProcessHub, n: number): Promise<string[]> {
        await a.startChildren(specs(n), { awaitable: true }).await(START_MS);
        await b.converged(ids(n));
        for (const [i, id] of ids(n).entries()) await b.call(a.getPid(id)!, "add", i + 1);
        return ids(n);
      }

      async function expectCounts(b: StrategyBed, a: ProcessHub, list: string[]): Promise<void> {
        for (const [i, id] of list.entries()) expect(await b.call(a.getPid(id)!, "get")).toBe(i + 1);
      }

      it("hot swap with handoff: children moving to a joining node arrive with their state", async () => {
        const b = setup({ migration: { type: "hotSwap", retentionMs: 5000 } });
        const a = await b.add("a");
        await b.add("b");
        await b.formed();
        const list = await counted(b, a, 100);
        const received: string[] = [];
        const c = await b.add("c", {
          hooks: { handoverReceived: (d: { id: string; ok: boolean }) => d.ok && received.push(d.id) },
        });
        await b.formed();
        await b.converged(list);
        const onC = [...c.localChildren().keys()];
        expect(onC.length).toBeGreaterThan(10);
        expect(new Set(received)).toEqual(new Set(onC));
        await expectCounts(b, a, list);
        expect(b.placementProblem(list)).toBe("ok");
      });

      it("hot swap on graceful shutdown: a stopping hub hands every local child's state to its next owner", async () => {
        const b = setup({ migration: { type: "hotSwap", retentionMs: 5000 } });
        const a = await b.add("a");
        const leaving = await b.add("b");
        await b.add("c");
        await b.formed();
        const list = await counted(b, a, 150);
        expect(leaving.localChildren().size).toBeGreaterThan(10);
        await b.stopHub("b");
        await b.formed();
        await b.converged(list);
        await expectCounts(b, a, list);
      });

      it("hot swap under a Supervisor: the supervisor stopping the hub hands every local child's state over", async () => {
        const b = setup({ migration: { type: "hotSwap", retentionMs: 5000 } });
        const a = await b.add("a");
        const { hub: leaving, sup } = await b.addSupervised("b");
        await b.add("c");
        await b.formed();
        const list = await counted(b, a, 150);
        expect(leaving.localChildren().size).toBeGreaterThan(10);
        await Supervisor.stop(sup);
        expect(leaving.isAlive()).toBe(false);
        b.hubs.delete("b");
        await b.formed();
        await b.converged(list);
        await expectCounts(b, a, list);
      });

      it("hot swap to a joiner: every registry shows the moved children without waiting for the anti-entropy round", async () => {
        // No periodic sync within the test: only deltas can tell `a` what now runs on `b`.
        const b = setup({ migration: { type: "hotSwap", retentionMs: 5000 }, syncIntervalMs: 600_000 });
        const a = await b.add("a");
        await a.startChildren(specs(3000), { awaitable: true }).await(START_MS);
        await b.converged(ids(3000));
        const joiner = await b.add("b");
        await b.formed();
        await b.converged(ids(3000));
        expect(joiner.localChildren().size).toBeGreaterThan(1000);
        // `a` stopping hands the rest over; its deltas and b's must still be in order (no resync).
        await b.stopHub("a");
        await b.converged(ids(3000));
        expect(joiner.localChildren().size).toBe(3000);
      });

      it("handover refused by the receiver: the old copy keeps its state and the new one stops", async () => {
        const flaky = withHandover(stateful, {
          prepareHandoverState: (s: { n: number }) => s.n,
          receiveHandoverState: () => {
            throw new Error("cannot take state");
          },
        });
        const b = setup({
          migration: { type: "hotSwap", retentionMs: 5000 },
          behaviours: { ...behaviours, flaky },
        });
        const a = await b.add("a");
        await b.add("b");
        await b.formed();
        const fl = Array.from({ length: 40 }, (_, i) => ({ id: `f${i}`, behaviour: "flaky" }));
        await a.startChildren(fl, { awaitable: true }).await(START_MS);
        const flIds = fl.map((s) => s.id);
        await b.converged(flIds, undefined, true);
        for (const id of flIds) await b.call(a.getPid(id)!, "add", 7);
        const refused: string[] = [];
        await b.add("c", {
          hooks: { handoverReceived: (d: { id: string; ok: boolean }) => !d.ok && refused.push(d.id) },
        });
        await b.formed();
        await expect.poll(() => refused.length).toBeGreaterThan(0);
        await b.converged(flIds, undefined, true);
        for (const id of flIds) expect(await b.call(a.getPid(id)!, "get")).toBe(7);
      });
    });

    describe("synchronization", () => {
      it("gossip (2 recipients): starts 500 children over five nodes and stops them all from another node", async () => {
        const b = setup({ synchronization: { type: "gossip", recipients: 2, intervalMs: 150 } });
        const a = await b.add("a");
        for (const n of ["b", "c", "d", "e"]) await b.add(n);
        await b.formed();
        const r = await a.startChildren(specs(500), { awaitable: true }).await(START_MS);
        expect(r.status).toBe("ok");
        await b.converged(ids(500));
        const s = await b.hub("c").stopChildren(ids(500), { awaitable: true }).await(START_MS);
        expect(s.stopped).toHaveLength(500);
        await b.converged([]);
      });

      it("gossip (1 recipient): starts children over four nodes, stops some, every registry converging", async () => {
        const b = setup({ synchronization: { type: "gossip", recipients: 1, intervalMs: 150 } });
        const a = await b.add("a");
        for (const n of ["b", "c", "d"]) await b.add(n);
        await b.formed();
        const r = await a.startChildren(specs(200), { awaitable: true }).await(START_MS);
        expect(r.status).toBe("ok");
        await b.converged(ids(200));
        const s = await b.hub("c").stopChildren(ids(200).slice(0, 120), { awaitable: true }).await(START_MS);
        expect(s.stopped).toHaveLength(120);
        await b.converged(ids(200).slice(120));
      });

      for (const [label, options] of [
        ["gossip", { synchronization: { type: "gossip", recipients: 1, intervalMs: 100 } }],
        ["default synchronization", {}],
      ] as const) {
        it(`interval sync (${label}): the periodic anti-entropy repairs a registry that lost a node's entries`, async () => {
          const b = setup(options);
          const a = await b.add("a");
          const other = await b.add("b");
          await b.add("c");
          await b.formed();
          await a.startChildren(specs(60), { awaitable: true }).await(START_MS);
          await b.converged(ids(60));
          other.core.registry.dropNode("a");
          expect(other.registryDigest()).not.toBe(a.registryDigest());
          await b.converged(ids(60));
        });
      }
    });

    describe("distribution", () => {
      it("load-aware: new children go to the least-loaded nodes", async () => {
        const b = setup({
          distribution: { type: "loadAware", reportIntervalMs: 30, weights: { lag: 0, memory: 0 } },
        });
        const a = await b.add("a");
        await b.add("b");
        await b.add("c");
        await b.formed();
        // Load node a by hand (guided), then let the strategy place 300 more.
        await a
          .startChildren(specs(200, "pre"), {
            awaitable: true,
            childMapping: Object.fromEntries(ids(200, "pre").map((i) => [i, "a"])),
          })
          .await(START_MS);
        await expect.poll(() => a.core.loads.get("a")?.children).toBe(200);
        await expect.poll(() => b.hub("b").core.loads.get("a")?.children).toBe(200);
        const r = await b.hub("b").startChildren(specs(300), { awaitable: true }).await(START_MS);
        expect(r.status).toBe("ok");
        const per = (n: string) => r.started.filter((s) => s.nodes[0]!.node === n).length;
        // Children-only weights: fill b and c up to a's 200 first, then spread evenly.
        expect(per("a")).toBeLessThan(per("b"));
        expect(per("b") + per("c")).toBeGreaterThanOrEqual(290);
        await b.converged([...ids(200, "pre"), ...ids(300)], undefined, true);
      });
    });

    const partitions = transport.partitions;
    if (partitions !== undefined) {
      const split = (options: Partial<HubOptions> = {}) => {
        const b = partitions(options);
        current = b;
        return b;
      };

      describe("partition tolerance", () => {
        it("static quorum: the minority stops its children, refuses calls, and restores them on heal", async () => {
          const locks: Array<{ locked: boolean; reason?: string }> = [];
          const b = split({ partition: { type: "static", quorumSize: 2 } });
          const a = await b.add("a", { hooks: { lockStateChanged: (d) => locks.push(d) } });
          const hb = await b.add("b");
          await b.add("c");
          await b.formed();
          await hb.startChildren(specs(300), { awaitable: true }).await(START_MS);
          await b.converged(ids(300));
          b.partition(["a"], ["b", "c"]);
          await expect.poll(() => a.isPartitioned()).toBe(true);
          await expect.poll(() => a.localChildren().size).toBe(0);
          expect(() => a.startChild({ id: "x", behaviour: "stateful" })).toThrow(HubPartitionedError);
          expect(() => a.stopChild("c1")).toThrow(HubPartitionedError);
          await b.formed([["a"], ["b", "c"]]);
          await b.converged(ids(300), ["b", "c"]);
          expect(locks).toContainEqual({ locked: true, reason: "partition" });
          b.heal();
          await b.formed();
          await expect.poll(() => a.isPartitioned()).toBe(false);
          await b.converged(ids(300));
          expect(a.localChildren().size).toBeGreaterThan(0);
          expect(locks).toContainEqual({ locked: false, reason: "partition" });
        });

        it("dynamic quorum: judges the nodes lost within the window", async () => {
          const b = split({ partition: { type: "dynamic", quorumPercent: 60, windowMs: 60_000 } });
          const a = await b.add("a");
          const hb = await b.add("b");
          await b.add("c");
          await b.formed();
          await hb.startChildren(specs(200), { awaitable: true }).await(START_MS);
          b.partition(["a"], ["b", "c"]);
          await b.formed([["a"], ["b", "c"]]);
          await expect.poll(() => a.isPartitioned()).toBe(true);
          expect(hb.isPartitioned()).toBe(false);
          await b.converged(ids(200), ["b", "c"]);
          expect(a.localChildren().size).toBe(0);
          b.heal();
          await b.formed();
          await expect.poll(() => a.isPartitioned()).toBe(false);
          await b.converged(ids(200));
        });

        it("majority quorum: tracks the largest hub seen; resetClusterSize accepts an intended downsize", async () => {
          const b = split({ partition: { type: "majority" } });
          const a = await b.add("a");
          await b.add("b");
          await b.add("c");
          await b.formed();
          await a.startChildren(specs(100), { awaitable: true }).await(START_MS);
          await b.converged(ids(100));
          await b.kill("c");
          await b.formed();
          await b.converged(ids(100)); // 2 of 3: still a majority
          expect(a.isPartitioned()).toBe(false);
          await b.kill("b");
          await b.formed();
          await expect.poll(() => a.isPartitioned()).toBe(true); // 1 of 3
          expect(a.localChildren().size).toBe(0);
          a.resetClusterSize(1);
          await expect.poll(() => a.isPartitioned()).toBe(false);
          await b.converged(ids(100));
        });

        it("divergence: both sides run every child during a split; one copy each after it heals", async () => {
          const stopped: string[] = [];
          const onDup = (d: { id: string; handedOver: boolean }) => {
            // Cold swap: nothing is handed over.
            expect(d.handedOver).toBe(false);
            stopped.push(d.id);
          };
          const b = split();
          const a = await b.add("a", { hooks: { duplicateStopped: onDup } });
          await b.add("b", { hooks: { duplicateStopped: onDup } });
          await b.formed();
          await a.startChildren(specs(200), { awaitable: true }).await(START_MS);
          await b.converged(ids(200));
          b.partition(["a"], ["b"]);
          await b.formed([["a"], ["b"]]);
          await b.converged(ids(200), ["a"]);
          await b.converged(ids(200), ["b"]);
          b.heal();
          await b.formed();
          await b.converged(ids(200));
          expect(stopped.length).toBeGreaterThan(0);
        });

        it("divergence under hot swap: after a heal the losing copy hands its state to the winner, which ends on the ring owner with both", async () => {
          const duplicates: Array<{ id: string; handedOver: boolean }> = [];
          const onDup = (d: { id: string; handedOver: boolean }) => duplicates.push(d);
          const b = split({
            migration: { type: "hotSwap", retentionMs: 3000 },
            behaviours: { ...behaviours, ledger },
          });
          const a = await b.add("a", { hooks: { duplicateStopped: onDup } });
          const hb = await b.add("b", { hooks: { duplicateStopped: onDup } });
          const c = await b.add("c", { hooks: { duplicateStopped: onDup } });
          await b.formed();
          const list = Array.from({ length: 60 }, (_, i) => ({ id: `l${i}`, behaviour: "ledger" }));
          const lids = list.map((x) => x.id);
          await a.startChildren(list, { awaitable: true }).await(START_MS);
          await b.converged(lids);
          for (const id of lids) await b.call(a.getPid(id)!, "mark", "before");

          b.partition(["a", "b"], ["c"]);
          await b.formed([["a", "b"], ["c"]]);
          await b.converged(lids, ["a", "b"]);
          await b.converged(lids, ["c"]);
          for (const id of lids) {
            await b.call(hb.getPid(id)!, "mark", "side-ab");
            await b.call(c.getPid(id)!, "mark", "side-c");
          }

          b.heal();
          await b.formed();
          await b.converged(lids);
          // Every child had one copy per side: each heal stopped one copy, having handed it over.
          await expect.poll(() => duplicates.length).toBe(lids.length);
          expect(duplicates.every((d) => d.handedOver)).toBe(true);
          expect(new Set(duplicates.map((d) => d.id))).toEqual(new Set(lids));
          for (const id of lids) {
            expect(await b.call(a.getPid(id)!, "marks")).toEqual(["before", "side-ab", "side-c"]);
            expect(await b.call(a.getPid(id)!, "heals")).toBe(1);
          }
        });
      });
    }
  });
}
