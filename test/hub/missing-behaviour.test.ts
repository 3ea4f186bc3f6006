/**
 * A behaviour registered on some hub nodes only: its children are placed on those nodes alone —
 * when started (from any node, even one without it), when adopted after a node dies, when a
 * graceful stop hands children over — and a child no member can run is kept, not dropped, until
 * a node that registered its behaviour joins. A behaviour no member registered is refused at once.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Cluster } from "../../src/cluster/index.js";
import { UnknownHubBehaviourError } from "../../src/hub/errors.js";
import type { HubBehaviour } from "../../src/hub/local-children.js";
import { ProcessHub } from "../../src/hub/process-hub.js";
import { silentLogger } from "../../src/logger.js";
import { Node } from "../../src/process/node.js";
import { defineServer, ok } from "../../src/server/index.js";
import { type MemoryNetwork, startMemoryCluster } from "../../src/testing.js";

const Room = defineServer<{}>()({ name: "room", init: () => ok({}) });
const Lamp = defineServer<{}>()({ name: "lamp", init: () => ok({}) });

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  cleanup = [];
});

function hubOn(node: Node, cluster: Cluster, behaviours: Record<string, HubBehaviour>): ProcessHub {
  const hub = ProcessHub.start({ hubId: "beh", node, cluster, behaviours, logger: silentLogger });
  cleanup.push(async () => {
    if (node.isAlive(hub.pid)) await hub.stop();
    await cluster.leave();
  });
  return hub;
}

async function join(network: MemoryNetwork, name: string, behaviours: Record<string, HubBehaviour>) {
  const node = new Node({ name, logger: silentLogger });
  const cluster = await Cluster.join({
    node,
    cluster: "test",
    transport: network.transport(node),
    logger: silentLogger,
  });
  return { node, hub: hubOn(node, cluster, behaviours) };
}

/** Where every running child of `hubs` runs, by id (each must run exactly once). */
function placements(hubs: ProcessHub[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const h of hubs)
    for (const id of h.localChildren().keys()) {
      const at = out.get(id) ?? [];
      at.push(h.node.name);
      out.set(id, at);
    }
  return out;
}

const rooms = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `room${i}`, behaviour: "room" }));

describe("a behaviour registered on some nodes only", () => {
  it("places, adopts and hands over its children among those nodes alone, and keeps what none can run", async () => {
    const { network, nodes, clusters } = await startMemoryCluster(["ba", "bb", "bc"]);
    const [a, b, c] = [
      hubOn(nodes[0]!, clusters[0]!, { room: Room, lamp: Lamp }),
      hubOn(nodes[1]!, clusters[1]!, { room: Room, lamp: Lamp }),
      hubOn(nodes[2]!, clusters[2]!, { lamp: Lamp }),
    ];
    const all = [a, b, c];
    await expect.poll(() => all.every((h) => h.nodes().length === 2)).toBe(true);

    // Started from c, which lacks the behaviour: placed on a and b only.
    const r = await c.startChildren(rooms(60), { awaitable: true }).await(10_000);
    expect(r.errors).toEqual([]);
    expect(c.localChildren().size).toBe(0);
    expect(a.localChildren().size + b.localChildren().size).toBe(60);
    expect(a.localChildren().size).toBeGreaterThan(0);
    expect(b.localChildren().size).toBeGreaterThan(0);
    await expect.poll(() => c.registryDump().size).toBe(60);

    // b dies: its rooms go to a, never to c.
    network.kill("bb");
    await expect.poll(() => a.localChildren().size, { timeout: 15_000 }).toBe(60);
    expect(c.localChildren().size).toBe(0);

    // a stops gracefully: no member can run rooms now; they are kept, not dropped...
    await a.stop();
    await expect.poll(() => c.nodes().length, { timeout: 15_000 }).toBe(0);
    expect(c.localChildren().size).toBe(0);
    // ...and start on the first node that registers the behaviour.
    const d = await join(network, "bd", { room: Room });
    await expect.poll(() => d.hub.localChildren().size, { timeout: 15_000 }).toBe(60);
    const at = placements([c, d.hub]);
    expect([...at.values()].every((ns) => ns.length === 1 && ns[0] === "bd")).toBe(true);
  });

  it("refuses at once a behaviour no member registered", async () => {
    const { nodes, clusters } = await startMemoryCluster(["bx", "by"]);
    const x = hubOn(nodes[0]!, clusters[0]!, { lamp: Lamp });
    const y = hubOn(nodes[1]!, clusters[1]!, { lamp: Lamp });
    await expect.poll(() => x.nodes().length + y.nodes().length).toBe(2);
    expect(() => x.startChildren(rooms(1))).toThrow(UnknownHubBehaviourError);
  });
});

describe("a hub node that registers no behaviour (a client-only node)", () => {
  it("runs no child, even when it owns ids on the ring, and reaches every child by id", async () => {
    const { nodes, clusters } = await startMemoryCluster(["ca", "cb", "cc"]);
    const Counter = defineServer<{ calls: { bump(): number } }>()({
      name: "counter",
      init: () => ok(0),
      handleCall: { bump: (_a: undefined, n: number) => ({ reply: n + 1, state: n + 1 }) },
    });
    const a = hubOn(nodes[0]!, clusters[0]!, { counter: Counter });
    const b = hubOn(nodes[1]!, clusters[1]!, { counter: Counter });
    const client = hubOn(nodes[2]!, clusters[2]!, {});
    await expect.poll(() => [a, b, client].every((h) => h.nodes().length === 2)).toBe(true);
    const specs = Array.from({ length: 30 }, (_, i) => ({ id: `n${i}`, behaviour: "counter" }));
    const r = await client.startChildren(specs, { awaitable: true }).await(10_000);
    expect(r.errors).toEqual([]);
    expect(client.localChildren().size).toBe(0);
    for (const s of specs) expect(await client.ref<typeof Counter>(s.id).call("bump", undefined)).toBe(1);
    // Settled as the client sees it: every child on an owner among the nodes that run counters
    // (the client's own ring position does not count), on the other nodes too.
    for (const h of [client, a, b]) await h.awaitSettled({ timeoutMs: 10_000 });
  });
});
