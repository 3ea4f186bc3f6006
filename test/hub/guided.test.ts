/**
 * Guided distribution (`distribution: { type: "guided" }`), as ProcessHub has it: every start
 * names the nodes of every child (`childMapping`: id → node, or one node per replica); a missing,
 * mismatched or malformed mapping is a named error and starts nothing. Over three memory nodes.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  ChildMappingMismatchError,
  ChildReplicationMismatchError,
  InvalidChildMappingError,
  MissingChildMappingError,
} from "../../src/hub/errors.js";
import type { HubOptions } from "../../src/hub/process-hub.js";
import { StrategyHarness, specs } from "./strategies/harness.js";

let h: StrategyHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function hubOf(options: Partial<HubOptions>) {
  h = new StrategyHarness(options);
  const a = await h.add("a");
  await h.add("b");
  await h.add("c");
  await h.formed();
  return a;
}

describe("guided distribution", () => {
  it("starts every child where its mapping says, and it stays there when a node joins", async () => {
    const a = await hubOf({ distribution: { type: "guided" } });
    const list = specs(6);
    const mapping = Object.fromEntries(list.map((s, i) => [s.id, ["a", "b", "c"][i % 3]!]));
    const r = await a.startChildren(list, { awaitable: true, childMapping: mapping }).await(5000);
    expect(r.status).toBe("ok");
    for (const s of list) expect(a.childLookup(s.id)?.nodes.map((n) => n.node)).toEqual([mapping[s.id]]);
  });

  it("under consistent hashing, children pinned off their owners: every node settles", async () => {
    const a = await hubOf({});
    const list = specs(6);
    const elsewhere = (id: string) => ["a", "b", "c"].find((n) => n !== a.ownerOf(id))!;
    const mapping = Object.fromEntries(list.map((s) => [s.id, elsewhere(s.id)]));
    const r = await a.startChildren(list, { awaitable: true, childMapping: mapping }).await(5000);
    expect(r.status).toBe("ok");
    for (const hub of h!.hubs.values()) {
      await expect.poll(() => hub.registryDump().size).toBe(list.length);
      await hub.awaitSettled({ timeoutMs: 5000 });
    }
  });

  it("refuses a call with a child left unmapped, starting nothing", () =>
    hubOf({ distribution: { type: "guided" } }).then((a) => {
      const list = specs(3);
      expect(() =>
        a.startChildren(list, { childMapping: { [list[0]!.id]: "a", [list[1]!.id]: "b" } }),
      ).toThrow(MissingChildMappingError);
      expect(a.registryDump().size).toBe(0);
    }));

  it("refuses a mapping naming an id that is not in the call, or a node that is not in the hub", () =>
    hubOf({ distribution: { type: "guided" } }).then((a) => {
      const [one] = specs(1);
      expect(() => a.startChildren([one!], { childMapping: { [one!.id]: "a", stray: "b" } })).toThrow(
        ChildMappingMismatchError,
      );
      expect(() => a.startChildren([one!], { childMapping: { [one!.id]: "zz" } })).toThrow(
        InvalidChildMappingError,
      );
      expect(() => a.startChildren([one!], { childMapping: { [one!.id]: [] } })).toThrow(
        InvalidChildMappingError,
      );
      expect(() => a.startChildren([one!], { childMapping: { [one!.id]: ["a", "a"] } })).toThrow(
        InvalidChildMappingError,
      );
      expect(a.registryDump().size).toBe(0);
    }));

  it("under replication: one node per replica, exactly the factor", async () => {
    const a = await hubOf({
      distribution: { type: "guided" },
      redundancy: { type: "replication", factor: 2 },
    });
    const [one, two] = specs(2);
    expect(() => a.startChildren([one!], { childMapping: { [one!.id]: "a" } })).toThrow(
      ChildReplicationMismatchError,
    );
    const r = await a
      .startChildren([one!, two!], {
        awaitable: true,
        childMapping: { [one!.id]: ["b", "c"], [two!.id]: ["a", "c"] },
      })
      .await(5000);
    expect(r.status).toBe("ok");
    expect(
      a
        .childLookup(one!.id)
        ?.nodes.map((n) => n.node)
        .sort(),
    ).toEqual(["b", "c"]);
    expect(
      a
        .childLookup(two!.id)
        ?.nodes.map((n) => n.node)
        .sort(),
    ).toEqual(["a", "c"]);
  });
});

describe("start and stop timeouts", () => {
  it("are timeoutMs; the ProcessHub spelling timeout is still read", async () => {
    const a = await hubOf({});
    const [one, two] = specs(2);
    expect((await a.startChildren([one!], { awaitable: true, timeoutMs: 5000 }).await(6000)).status).toBe(
      "ok",
    );
    expect((await a.startChildren([two!], { awaitable: true, timeout: 5000 }).await(6000)).status).toBe("ok");
    expect(() => a.startChildren(specs(1, "x"), { timeoutMs: -1 })).toThrow(/timeoutMs/);
    expect(
      (await a.stopChildren([one!.id, two!.id], { awaitable: true, timeoutMs: 5000 }).await(6000)).status,
    ).toBe("ok");
  });
});
