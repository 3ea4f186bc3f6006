/**
 * Races between hot swaps, refusals and joins, with one real hub node `a` and scripted peers
 * (their wire messages are posted straight into a's hub process; what a sends them is recorded
 * by a spy on `node.send` and goes nowhere): an ensure reaching a copy that is itself being
 * hot-swapped out is refused; under replication a non-replica's hot swap to a replica already
 * running the id does not hand the state to that copy a second time; a retry after two refusing
 * replicas ignores both refusers' stale slices; a pending joiner's `syncreq` is answered.
 */
import { afterEach, describe, expect, it } from "vitest";
import { normalizeChildSpec } from "../../../src/hub/child-spec.js";
import { HashRing } from "../../../src/hub/hash-ring.js";
import { entryOut, type HubWireMsg, itemOut, type StartMsg } from "../../../src/hub/messages.js";
import type { ProcessHub } from "../../../src/hub/process-hub.js";
import { Pid } from "../../../src/process/pid.js";
import { GenServer } from "../../../src/server/index.js";
import { scriptedHub } from "./harness.js";

const spec = (id: string) => normalizeChildSpec({ id, behaviour: "stateful" });
const ensureMsg = (
  origin: string,
  id: string,
  epoch: number,
  hops: number,
  req: number | null,
  state?: unknown,
): StartMsg => {
  const m: StartMsg = {
    t: "start",
    req,
    origin,
    hops,
    ensure: true,
    items: [itemOut({ spec: spec(id), epoch, pinned: false })],
  };
  if (state !== undefined) m.states = [[id, state]];
  return m;
};
const startedTo = (sent: Array<{ to: string; msg: HubWireMsg }>, to: string, req: number) =>
  sent.find((s) => s.to === to && s.msg.t === "started" && s.msg.req === req)?.msg as
    | Extract<HubWireMsg, { t: "started" }>
    | undefined;

let hub: ProcessHub | undefined;
let lose: ((n: string) => void) | undefined;
let peers: string[] = [];
afterEach(async () => {
  // Scripted peers never answer: let them go first, so a stop does not wait on a handover.
  for (const p of peers) lose?.(p);
  if (hub !== undefined) await expect.poll(() => hub!.nodes().length).toBe(0);
  await hub?.stop();
  hub = undefined;
  lose = undefined;
  peers = [];
});

describe("an ensure of an id whose copy here is being hot-swapped out", () => {
  it("is refused, and that copy does not take the sender's state", async () => {
    const s = scriptedHub("swapping", { migration: { type: "hotSwap", retentionMs: 60_000 } });
    ({ hub, lose } = s);
    peers = ["x"];
    const { core, node, sent } = s;
    const hops = core.tuning.maxForwards;
    // An id owned by a alone, then by x once x joins.
    const ring = new HashRing(["a", "x"], core.tuning.vnodes);
    const id = Array.from({ length: 200 }, (_, i) => `k${i}`).find((k) => ring.owner(k) === "x")!;
    core.post(ensureMsg("y", id, 1, hops, null));
    await expect.poll(() => hub!.localChildren().has(id)).toBe(true);
    const pid = hub.getPid(id)!;
    await GenServer.callOn(node, pid, "add", 5);
    core.post({ t: "hello", from: "x", inc: 21, reply: false });
    // a hot-swaps id to x (its new owner), which never answers: the handover stays open.
    await expect
      .poll(() => sent.some((m) => m.to === "x" && m.msg.t === "start" && m.msg.states !== undefined))
      .toBe(true);
    // Meanwhile S (here y) hot-swaps its own copy of id to a.
    core.post(ensureMsg("y", id, 3, hops, 7, 100));
    await expect.poll(() => startedTo(sent, "y", 7)).toBeDefined();
    const answer = startedTo(sent, "y", 7)!;
    expect(answer.ok).toEqual([]);
    expect(answer.failed.map((f) => [f[0], f[1]])).toEqual([[id, "start_failed"]]);
    // y keeps its copy and its state; a's copy keeps its own.
    expect(await GenServer.callOn(node, pid, "get", undefined)).toBe(5);
  });
});

describe("replication with hot swap: a non-replica's copy moving to a replica already running the id", () => {
  it("is answered ok and raises the epoch, without handing the state to the running copy", async () => {
    const received: string[] = [];
    const s = scriptedHub("replicated", {
      migration: { type: "hotSwap", retentionMs: 60_000 },
      redundancy: { type: "replication", factor: 2 },
      hooks: { handoverReceived: (d: { id: string }) => received.push(d.id) },
    });
    ({ hub, lose } = s);
    peers = ["y", "z"];
    const { core, node, sent } = s;
    const hops = core.tuning.maxForwards;
    core.post({ t: "hello", from: "y", inc: 11, reply: false });
    core.post({ t: "hello", from: "z", inc: 12, reply: false });
    await expect.poll(() => hub!.nodes().join()).toBe("y,z");
    // An id whose replicas are a and z: y is not one of them.
    const id = Array.from({ length: 200 }, (_, i) => `k${i}`).find((k) => {
      const r = hub!.replicasOf(k);
      return r.includes("a") && !r.includes("y");
    })!;
    core.post(ensureMsg("z", id, 1, hops, null));
    await expect.poll(() => hub!.localChildren().has(id)).toBe(true);
    const pid = hub.getPid(id)!;
    await GenServer.callOn(node, pid, "add", 5);
    // y hands its copy to both replicas; a's copy gets the same state from z's start too.
    core.post(ensureMsg("y", id, 4, hops, 9, 5));
    await expect.poll(() => startedTo(sent, "y", 9)).toBeDefined();
    const answer = startedTo(sent, "y", 9)!;
    expect(answer.failed).toEqual([]);
    expect(answer.ok.map(([i]) => i)).toEqual([id]);
    expect(received).toEqual([]);
    expect(await GenServer.callOn(node, pid, "get", undefined)).toBe(5);
    expect(core.registry.sliceOf("a").get(id)?.epoch).toBe(4);
  });
});

describe("an adoption refused by two replicas", () => {
  it("is retried although both refusers' stale slices list the id", async () => {
    const s = scriptedHub("refused", { redundancy: { type: "replication", factor: 2 } });
    ({ hub, lose } = s);
    peers = ["y", "z"];
    const { core, sent } = s;
    core.post({ t: "hello", from: "x", inc: 10, reply: false });
    core.post({ t: "hello", from: "y", inc: 11, reply: false });
    core.post({ t: "hello", from: "z", inc: 12, reply: false });
    await expect.poll(() => hub!.nodes().join()).toBe("x,y,z");
    // An id that only x runs, and whose replicas are y and z once x is gone.
    const ring = new HashRing(["a", "y", "z"], core.tuning.vnodes);
    const id = Array.from({ length: 400 }, (_, i) => `k${i}`).find((k) => {
      const r = ring.ownersOf(k, 2);
      return r.includes("y") && r.includes("z");
    })!;
    const entry = (on: string, epoch: number) =>
      entryOut(id, { spec: spec(id), epoch, pid: Pid.fromJSON({ pid: [on, 1, 1] }) });
    core.post({ t: "delta", from: "x", inc: 10, seq: 1, up: [entry("x", 1)], rm: [] });
    await expect.poll(() => hub!.entryExists(id)).toBe(true);
    const ensuresTo = (n: string) =>
      sent.filter(
        (m) => m.to === n && m.msg.t === "start" && m.msg.ensure && m.msg.items.some((it) => it[0] === id),
      );
    lose("x"); // a asks y and z to ensure id
    await expect.poll(() => ensuresTo("y").length > 0 && ensuresTo("z").length > 0).toBe(true);
    const req = (ensuresTo("y")[0]!.msg as StartMsg).req!;
    // Both started it (another survivor's ensure), then lost quorum: their slices still list it.
    core.post({ t: "delta", from: "y", inc: 11, seq: 1, up: [entry("y", 2)], rm: [] });
    core.post({ t: "delta", from: "z", inc: 12, seq: 1, up: [entry("z", 2)], rm: [] });
    await expect.poll(() => hub!.childLookup(id)?.nodes.length).toBe(2);
    for (const n of ["y", "z"])
      core.post({ t: "started", req, node: n, ok: [], failed: [[id, "partitioned", undefined]] });
    // Their stopping deltas arrive: nobody runs id now, and the retry goes to the replicas again.
    core.post({ t: "delta", from: "y", inc: 11, seq: 2, up: [], rm: [id] });
    core.post({ t: "delta", from: "z", inc: 12, seq: 2, up: [], rm: [id] });
    await expect.poll(() => ensuresTo("y").length).toBe(2);
  });
});

describe("a pending joiner's syncreq", () => {
  it("is answered with the whole slice", async () => {
    // A long debounce: y stays a pending joiner for the whole test.
    const s = scriptedHub("joiner", { clusterEventDebounceMs: 60_000 });
    ({ hub, lose } = s);
    const { core, sent } = s;
    const slicesTo = () => sent.filter((m) => m.to === "y" && m.msg.t === "slice").length;
    core.post({ t: "hello", from: "y", inc: 11, reply: false });
    await expect.poll(slicesTo).toBe(1); // with the hello
    core.post({ t: "syncreq", from: "y" });
    await expect.poll(slicesTo).toBe(2);
    expect(hub.nodes()).toEqual([]);
  });
});

describe("a move or adoption reaching a node whose peers' departure is pending", () => {
  it("is refused with topology_pending (the sender retries), while a static start is taken", async () => {
    const s = scriptedHub("pending");
    ({ hub, lose } = s);
    peers = ["x", "y"];
    const { core, sent } = s;
    const hops = core.tuning.maxForwards;
    core.post({ t: "hello", from: "x", inc: 10, reply: false });
    core.post({ t: "hello", from: "y", inc: 11, reply: false });
    await expect.poll(() => hub!.nodes().join()).toBe("x,y");
    // x is seen gone and, in the same turn of the mailbox, y moves a child here: the departure
    // is not handled yet (it waits for the debounce).
    core.post({ t: "$peer_down", node: "x" } as never);
    core.post(ensureMsg("y", "k1", 1, hops, 7));
    // Nobody waits for a static start (req null): it is taken, a refusal would lose it.
    core.post(ensureMsg("y", "k2", 1, hops, null));
    await expect.poll(() => startedTo(sent, "y", 7)).toBeDefined();
    expect(startedTo(sent, "y", 7)!.failed.map((f) => [f[0], f[1]])).toEqual([["k1", "topology_pending"]]);
    await expect.poll(() => hub!.localChildren().has("k2")).toBe(true);
    expect(hub.localChildren().has("k1")).toBe(false);
  });
});

describe("the anti-entropy round under gossip", () => {
  it("sends this node's slice version to `recipients` random members, not to all (push sends it to all)", async () => {
    for (const [sync, want] of [
      [{ type: "gossip", recipients: 1, intervalMs: 60_000 }, 1],
      [{ type: "push" }, 4],
    ] as const) {
      const s = scriptedHub(`anti-entropy-${sync.type}`, { synchronization: sync, syncIntervalMs: 60_000 });
      ({ hub, lose } = s);
      peers = ["w", "x", "y", "z"];
      const { core, sent } = s;
      for (const [i, p] of peers.entries()) core.post({ t: "hello", from: p, inc: 30 + i, reply: false });
      await expect.poll(() => hub!.nodes().length).toBe(4);
      const before = sent.filter((m) => m.msg.t === "version").length;
      core.post({ t: "$sync" } as never);
      // A round's versions go out synchronously when the hub handles the tick: wait for the first.
      await expect.poll(() => sent.filter((m) => m.msg.t === "version").length).toBeGreaterThan(before);
      expect(sent.filter((m) => m.msg.t === "version").length - before).toBe(want);
      for (const p of peers) lose(p);
      await expect.poll(() => hub!.nodes().length).toBe(0);
      await hub.stop();
      hub = undefined;
      peers = [];
    }
  });
});

describe("a copy that loses to another node's registration", () => {
  /** Hub a running id (owned by a) at epoch 1, and peer x registering id at epoch 2. */
  async function duplicateSeen(hubId: string) {
    const stopped: string[] = [];
    const s = scriptedHub(hubId, { hooks: { duplicateStopped: (d: { id: string }) => stopped.push(d.id) } });
    ({ hub, lose } = s);
    peers = ["x"];
    const { core, sent } = s;
    core.post({ t: "hello", from: "x", inc: 40, reply: false });
    await expect.poll(() => hub!.nodes().join()).toBe("x");
    const ring = new HashRing(["a", "x"], core.tuning.vnodes);
    const id = Array.from({ length: 200 }, (_, i) => `k${i}`).find((k) => ring.owner(k) === "a")!;
    core.post(ensureMsg("x", id, 1, core.tuning.maxForwards, null));
    await expect.poll(() => hub!.localChildren().has(id)).toBe(true);
    const entry = entryOut(id, { spec: spec(id), epoch: 2, pid: Pid.fromJSON({ pid: ["x", 1, 1] }) });
    core.post({ t: "delta", from: "x", inc: 40, seq: 1, up: [entry], rm: [] });
    const asked = () => sent.find((m) => m.to === "x" && m.msg.t === "merge" && m.msg.id === id);
    await expect.poll(asked).toBeDefined();
    return { core, id, stopped, asked: asked()!.msg as Extract<HubWireMsg, { t: "merge" }> };
  }

  it("keeps running when the winner says it no longer runs the id (moved it away, not stopped)", async () => {
    const { core, id, stopped, asked } = await duplicateSeen("dup-gone");
    expect(asked).toMatchObject({ epoch: 2, handover: false });
    // Still running while it waits for the answer.
    expect(hub!.localChildren().has(id)).toBe(true);
    core.post({ t: "merged", from: "x", id, ok: false, gone: true });
    // x's stale registration goes; a's copy is the one left, and stays.
    core.post({ t: "delta", from: "x", inc: 40, seq: 2, up: [], rm: [id] });
    await expect.poll(() => core.registry.sliceOf("x").has(id)).toBe(false);
    expect(hub!.localChildren().has(id)).toBe(true);
    expect(core.registry.sliceOf("a").has(id)).toBe(true);
    expect(stopped).toEqual([]);
  });

  it("stops once the winner confirms it runs the id", async () => {
    const { core, id, stopped } = await duplicateSeen("dup-confirmed");
    core.post({ t: "merged", from: "x", id, ok: true, gone: false });
    await expect.poll(() => hub!.localChildren().has(id)).toBe(false);
    expect(stopped).toEqual([id]);
    expect(core.registry.sliceOf("a").has(id)).toBe(false);
  });
});
