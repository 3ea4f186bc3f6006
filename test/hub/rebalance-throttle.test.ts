/**
 * Rebalance throttling: with `maxMovesPerRound`, a node joining a large hub takes its share in
 * rounds of at most that many moves (hook `childrenMigrated` per round), and still all of it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Cluster } from "../../src/cluster/index.js";
import { InvalidOptionError } from "../../src/errors.js";
import { ProcessHub } from "../../src/hub/process-hub.js";
import { silentLogger } from "../../src/logger.js";
import { Node } from "../../src/process/node.js";
import { startMemoryCluster } from "../../src/testing.js";
import { stateful } from "./strategies/harness.js";

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  cleanup = [];
});

describe("maxMovesPerRound", () => {
  it("moves a joiner's share in rounds of at most that many children", async () => {
    const { network, nodes, clusters } = await startMemoryCluster(["ta"]);
    const rounds: number[] = [];
    const common = {
      hubId: "throttle",
      behaviours: { stateful },
      logger: silentLogger,
      maxMovesPerRound: 10,
    };
    const a = ProcessHub.start({
      ...common,
      node: nodes[0]!,
      cluster: clusters[0]!,
      hooks: { childrenMigrated: (d: { ids: string[] }) => rounds.push(d.ids.length) },
    });
    const specs = Array.from({ length: 200 }, (_, i) => ({ id: `t${i}`, behaviour: "stateful" }));
    await a.startChildren(specs, { awaitable: true }).await(10_000);
    const node = new Node({ name: "tb", logger: silentLogger });
    const cluster = await Cluster.join({
      node,
      cluster: "test",
      transport: network.transport(node),
      logger: silentLogger,
    });
    const b = ProcessHub.start({ ...common, node, cluster });
    cleanup.push(async () => {
      await b.stop();
      await a.stop();
      await cluster.leave();
      await clusters[0]!.leave();
    });
    await expect.poll(() => b.nodes().join() + a.nodes().join()).toBe("tatb");
    const share = specs.filter((s) => b.ownerOf(s.id, "stateful") === "tb").length;
    await expect.poll(() => b.localChildren().size, { timeout: 15_000 }).toBe(share);
    expect(share).toBeGreaterThan(30);
    expect(rounds.length).toBeGreaterThanOrEqual(Math.ceil(share / 10));
    expect(Math.max(...rounds)).toBeLessThanOrEqual(10);
    expect(a.localChildren().size + b.localChildren().size).toBe(200);
  });

  it("is a positive integer or Infinity", async () => {
    const { nodes, clusters } = await startMemoryCluster(["tz"]);
    cleanup.push(() => clusters[0]!.leave());
    expect(() =>
      ProcessHub.start({
        hubId: "bad",
        node: nodes[0]!,
        cluster: clusters[0]!,
        behaviours: { stateful },
        maxMovesPerRound: 0,
      }),
    ).toThrow(InvalidOptionError);
  });
});
