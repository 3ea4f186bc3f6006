/**
 * A hub process that dies while its node stays in the cluster: the other members watch each
 * member's hub process (not only node membership), so they drop it from the ring and adopt its
 * children; a new hub on that node joins again as a new member.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ProcessHub } from "../../../src/hub/process-hub.js";
import { StrategyHarness, specs } from "./harness.js";

let h: StrategyHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("a member's hub process dies while its node lives", () => {
  it("is dropped from the ring and its children are adopted; a new hub there rejoins", async () => {
    h = new StrategyHarness();
    const a = await h.add("a");
    await h.add("b");
    const c = await h.add("c");
    await h.formed();
    const ids = specs(90).map((s) => s.id);
    await a.startChildren(specs(90), { awaitable: true }).await(5000);
    await h.converged(ids);
    expect(c.localChildren().size).toBeGreaterThan(0);
    const cNode = c.node;

    cNode.exit(c.pid, "kill");
    await expect.poll(() => a.nodes().join()).toBe("b");
    // c's node is still a cluster member: only its hub is gone.
    expect(h.clusters.get("c")?.isClosed).toBe(false);
    expect(h.clusters.get("a")?.nodes()).toContain("c");
    h.hubs.delete("c");
    await h.formed([["a", "b"]]);
    await h.converged(ids, ["a", "b"]);

    // A hub started again on c joins as a new incarnation and gets its share back.
    const again = ProcessHub.start(h.hubOptions(cNode));
    h.hubs.set("c", again);
    await h.formed();
    await h.converged(ids);
    expect(again.localChildren().size).toBeGreaterThan(0);
  });
});
