import { describe, expect, it } from "vitest";
import type { NodeIdentity, PeerDownReason } from "../../../src/cluster/transport.js";
import { Membership } from "../../../src/transports/nats/membership.js";

const self: NodeIdentity = { cluster: "c", node: "me", incarnation: 1 };
const id = (node: string, incarnation = 1): NodeIdentity => ({ cluster: "c", node, incarnation });

function view() {
  const log: string[] = [];
  const m = new Membership(self, {
    up: (p) => log.push(`up ${p.node}#${p.incarnation}`),
    down: (p, r: PeerDownReason) => log.push(`down ${p.node}#${p.incarnation} ${r}`),
  });
  return { m, log };
}

describe("Membership.seen", () => {
  it("brings an unknown peer up once and then only refreshes it", () => {
    const { m, log } = view();
    expect(m.seen(id("a"), 0)).toBe("up");
    expect(m.seen(id("a"), 10)).toBe("alive");
    expect(log).toEqual(["up a#1"]);
    expect(m.list()).toEqual([id("a")]);
  });

  it("reports a new incarnation as the old one down then the new one up, and ignores the old one after", () => {
    const { m, log } = view();
    m.seen(id("a", 1), 0);
    expect(m.seen(id("a", 2), 5)).toBe("restarted");
    expect(m.seen(id("a", 1), 6)).toBe("ignored");
    expect(log).toEqual(["up a#1", "down a#1 connection_lost", "up a#2"]);
  });

  it("recognises itself and a duplicate of its own name", () => {
    const { m, log } = view();
    expect(m.seen(self, 0)).toBe("self");
    expect(m.seen({ ...self, incarnation: 2 }, 0)).toBe("duplicate_self");
    expect(log).toEqual([]);
  });
});

describe("Membership.left", () => {
  it("reports leave and retires the incarnation", () => {
    const { m, log } = view();
    m.seen(id("a"), 0);
    m.left(id("a"));
    expect(m.seen(id("a"), 1)).toBe("ignored");
    expect(log).toEqual(["up a#1", "down a#1 leave"]);
  });

  it("ignores a stale leave of a replaced incarnation", () => {
    const { m, log } = view();
    m.seen(id("a", 1), 0);
    m.seen(id("a", 2), 1);
    m.left(id("a", 1));
    expect(m.has("a")).toBe(true);
    expect(log).toEqual(["up a#1", "down a#1 connection_lost", "up a#2"]);
  });
});

describe("Membership.expire", () => {
  it("reports peers silent for longer than the timeout, and a returning one up again", () => {
    const { m, log } = view();
    m.seen(id("a"), 0);
    m.seen(id("b"), 0);
    m.seen(id("b"), 900);
    m.expire(1001, 1000);
    expect(log).toEqual(["up a#1", "up b#1", "down a#1 timeout"]);
    expect(m.seen(id("a"), 1100)).toBe("up");
  });

  it("refresh postpones every deadline", () => {
    const { m, log } = view();
    m.seen(id("a"), 0);
    m.refresh(5000);
    m.expire(5500, 1000);
    expect(log).toEqual(["up a#1"]);
  });
});

describe("Membership.probeMiss", () => {
  it("needs the configured number of consecutive misses, reset by any sign of life", () => {
    const { m, log } = view();
    m.seen(id("a"), 0);
    expect(m.probeMiss("a", 1, 2)).toBe(false);
    m.seen(id("a"), 1);
    expect(m.probeMiss("a", 1, 2)).toBe(false);
    expect(m.probeMiss("a", 1, 2)).toBe(true);
    expect(log).toEqual(["up a#1", "down a#1 connection_lost"]);
  });

  it("does not count misses while the peer's heartbeats say busy, for up to maxBusyMs since the first busy one", () => {
    const { m, log } = view();
    m.seen(id("a"), 0);
    m.seen(id("a"), 100, 0, true);
    m.seen(id("a"), 900, 0, true);
    expect([m.probeMiss("a", 1, 1, 1000, 1000), m.probeMiss("a", 1, 1, 1100, 1000)]).toEqual([false, false]);
    expect(m.has("a")).toBe(true);
    // Busy for longer than maxBusyMs: misses count again.
    expect(m.probeMiss("a", 1, 1, 1101, 1000)).toBe(true);
    expect(log).toEqual(["up a#1", "down a#1 connection_lost"]);
  });

  it("counts misses again once a heartbeat or probe answer says the peer's loop runs", () => {
    const { m } = view();
    m.seen(id("a"), 0, 0, true);
    expect(m.probeMiss("a", 1, 1, 10, 1000)).toBe(false);
    m.seen(id("a"), 20);
    expect(m.probeMiss("a", 1, 1, 30, 1000)).toBe(true);
  });

  it("ignores misses for another incarnation or an unknown peer", () => {
    const { m } = view();
    m.seen(id("a", 2), 0);
    expect(m.probeMiss("a", 1, 1)).toBe(false);
    expect(m.probeMiss("zz", 1, 1)).toBe(false);
    expect(m.has("a")).toBe(true);
  });
});

describe("Membership.dropAll", () => {
  it("reports everyone down with the reason and empties the view", () => {
    const { m, log } = view();
    m.seen(id("a"), 0);
    m.seen(id("b"), 0);
    m.dropAll("connection_lost");
    expect(m.list()).toEqual([]);
    expect(log.slice(2).sort()).toEqual(["down a#1 connection_lost", "down b#1 connection_lost"]);
  });
});

describe("Membership sessions", () => {
  it("takes a known incarnation under a new session for a rejoin: the old session down, the new one up, the old one ignored after", () => {
    const { m, log } = view();
    expect(m.seen(id("a"), 0, 7)).toBe("up");
    expect(m.seen(id("a"), 5, 7)).toBe("alive");
    expect(m.seen(id("a"), 6, 8)).toBe("restarted");
    expect(m.seen(id("a"), 7, 7)).toBe("ignored");
    expect(m.sessionOf("a")).toBe(8);
    expect(log).toEqual(["up a#1", "down a#1 connection_lost", "up a#1"]);
  });

  it("ignores a leave of another session of a known incarnation", () => {
    const { m, log } = view();
    m.seen(id("a"), 0, 2);
    m.left(id("a"), 1);
    expect(m.has("a")).toBe(true);
    m.left(id("a"), 2);
    expect(m.has("a")).toBe(false);
    expect(log).toEqual(["up a#1", "down a#1 leave"]);
  });
});

describe("Membership against made-up peers", () => {
  it("refuses names that are not one subject token or are too long", () => {
    const { m, log } = view();
    for (const bad of ["a.b", "*", "a>", "with space", "x".repeat(100_000), ""])
      expect(m.seen(id(bad), 0)).toBe("invalid");
    expect(m.list()).toEqual([]);
    expect(log).toEqual([]);
  });

  it("tracks at most maxPeers peers; a known one still refreshes and restarts", () => {
    const log: string[] = [];
    const m = new Membership(self, { up: (p) => log.push(`up ${p.node}`), down: () => {} }, 3);
    for (const n of ["a", "b", "c"]) expect(m.seen(id(n), 0)).toBe("up");
    expect(m.seen(id("d"), 0)).toBe("full");
    expect(m.seen(id("a"), 1)).toBe("alive");
    expect(m.seen(id("a", 2), 2)).toBe("restarted");
    expect(
      m
        .list()
        .map((p) => p.node)
        .sort(),
    ).toEqual(["a", "b", "c"]);
  });
});
