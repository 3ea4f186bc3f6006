/**
 * `StartResult.cids()` and `StopResult.cids()` list only the ids that started / stopped, as
 * ProcessHub's `cids/1` do (issue 15: they also listed failed ids). Through the public API: a hub
 * on one node, a start where one child fails, a stop where one id is unknown.
 */
import { afterEach, describe, expect, it } from "vitest";
import { defineServer, Node, ok, ProcessHub, silentLogger } from "../../src/index.js";

const Idle = defineServer<{}>()({ name: "Idle", init: () => ok(null) });
const Refuses = defineServer<{}>()({ name: "Refuses", init: () => ({ stop: "no" }) });

const hubs: ProcessHub[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.stop();
});

describe("result cids", () => {
  it("StartResult.cids lists the started ids only; StopResult.cids the stopped ones only", async () => {
    const hub = ProcessHub.start({
      hubId: "cids",
      node: new Node({ name: "cids", logger: silentLogger }),
      behaviours: { idle: Idle, refuses: Refuses },
    });
    hubs.push(hub);
    const started = await hub
      .startChildren(
        [
          { id: "a", behaviour: "idle" },
          { id: "bad", behaviour: "refuses" },
          { id: "b", behaviour: "idle" },
        ],
        { awaitable: true },
      )
      .await(5000);
    expect(started.status).toBe("error");
    expect(started.errors.map((e) => e.id)).toEqual(["bad"]);
    expect([...started.cids()].sort()).toEqual(["a", "b"]);
    expect(started.cids()).toEqual(started.started.map((s) => s.id));

    const stopped = await hub.stopChildren(["a", "missing"], { awaitable: true }).await(5000);
    expect(stopped.errors.map((e) => [e.id, e.reason])).toEqual([["missing", "not_found"]]);
    expect(stopped.cids()).toEqual(["a"]);
  });
});
