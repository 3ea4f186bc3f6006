/**
 * The one "stop a child per its shutdown" (`src/supervision/child-stop.ts`) used by Supervisor,
 * DynamicSupervisor, Parent and the hub's local children, tested directly: what comes back
 * synchronously, what waits, what each parameter changes.
 */
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { isExitMessage, Node, type Pid, type ProcessContext } from "../../src/process/index.js";
import {
  ALREADY_DEAD,
  awaitExit,
  signalChild,
  stopChild,
  stoppedCleanly,
} from "../../src/supervision/child-stop.js";
import { startMemoryCluster } from "../../src/testing.js";

const node = new Node({ name: "childstop", logger: silentLogger });

const forever = (ctx: ProcessContext) => ctx.receive((m) => m === "never");

/** A trapping owner whose mailbox keeps whatever it is sent (it only waits for "never"). */
function owner(on: Node = node): Pid {
  return on.spawn(forever, { trapExit: true });
}

/** A child linked to `to`: plain, trapping and ignoring its EXITs, or trapping and obeying them. */
function child(to: Pid, kind: "plain" | "deaf" | "obedient" = "plain", on: Node = node): Pid {
  if (kind === "plain") return on.spawn(forever, { link: to });
  if (kind === "deaf") return on.spawn(forever, { link: to, trapExit: true });
  return on.spawn(
    async (ctx) => {
      const m = await ctx.receive(isExitMessage);
      if (isExitMessage(m)) ctx.stop(m.reason);
    },
    { link: to, trapExit: true },
  );
}

const mailbox = (pid: Pid, on: Node = node) => on.processInfo(pid)!.mailboxLength;
const links = (pid: Pid, on: Node = node) => on.processInfo(pid)!.links.map(String);

describe("stopChild", () => {
  it("a child that dies at once: its reason synchronously, the owner unlinked and left no EXIT", () => {
    const o = owner();
    const c = child(o);
    const r = stopChild(node, o, c, 5000);
    expect(r).toBe("shutdown");
    expect(node.isAlive(c)).toBe(false);
    expect(links(o)).not.toContain(String(c));
    expect(mailbox(o)).toBe(0);
  });

  it("sends the reason it is given (Parent's timeout, the hub's stop reasons)", () => {
    const o = owner();
    expect(stopChild(node, o, child(o), 5000, "timeout")).toBe("timeout");
    expect(stopChild(node, o, child(o), "infinity", { shutdown: "moved" })).toEqual({ shutdown: "moved" });
  });

  it("brutal_kill kills even a trapping child, synchronously", () => {
    const o = owner();
    const c = child(o, "deaf");
    expect(stopChild(node, o, c, "brutal_kill")).toBe("killed");
    expect(node.isAlive(c)).toBe(false);
  });

  it("a trapping child that ignores the signal is killed when its shutdown ms pass", async () => {
    const o = owner();
    const c = child(o, "deaf");
    const t0 = performance.now();
    const r = stopChild(node, o, c, 30);
    expect(r).toBeInstanceOf(Promise);
    expect(node.isAlive(c)).toBe(true);
    expect(await r).toBe("killed");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(mailbox(o)).toBe(0);
  });

  it("a trapping child that stops on its EXIT is waited for, with infinity as long as it takes", async () => {
    const o = owner();
    const c = child(o, "obedient");
    const r = stopChild(node, o, c, "infinity");
    expect(r).toBeInstanceOf(Promise);
    expect(await r).toBe("shutdown");
  });

  it("a child already dead: noproc (its EXIT left queued), or with takeQueuedExit its EXIT's reason", async () => {
    const o = owner();
    const a = child(o);
    const b = child(o);
    node.exit(a, "boom");
    node.exit(b, "bang");
    expect(mailbox(o)).toBe(2);
    expect(stopChild(node, o, a, 5000)).toBe(ALREADY_DEAD);
    expect(mailbox(o)).toBe(2);
    expect(stopChild(node, o, b, 5000, "shutdown", true)).toBe("bang");
    expect(mailbox(o)).toBe(1);
    // Nothing queued for it (a child that unlinked itself): noproc either way.
    const c = node.spawn(forever);
    node.exit(c, "kill");
    expect(stopChild(node, o, c, 5000, "shutdown", true)).toBe(ALREADY_DEAD);
  });

  it("a child on another node is unlinked and signalled without waiting", async () => {
    const { nodes, clusters } = await startMemoryCluster(["stop-a", "stop-b"]);
    try {
      const [a, b] = nodes as [Node, Node];
      const o = owner(a);
      const c = child(o, "plain", b);
      await expect.poll(() => links(o, a).includes(String(c))).toBe(true);
      expect(stopChild(a, o, c, 5000)).toBe("shutdown");
      await expect.poll(() => b.isAlive(c)).toBe(false);
      expect(links(o, a)).not.toContain(String(c));
      expect(mailbox(o, a)).toBe(0);
    } finally {
      await Promise.all(clusters.map((c) => c.leave()));
    }
  });
});

describe("signalChild and awaitExit (a concurrent shutdown)", () => {
  it("signals every child first, then waits for the ones still alive, each on its own timer", async () => {
    const o = owner();
    const quick = child(o);
    const slow = child(o, "deaf");
    const obedient = child(o, "obedient");
    expect(signalChild(node, o, quick, 5000)).toBeNull();
    const s = signalChild(node, o, slow, 20);
    const ob = signalChild(node, o, obedient, 5000);
    expect(s).not.toBeNull();
    expect(ob).not.toBeNull();
    const [rs, rob] = await Promise.all([awaitExit(node, o, s!, 20), awaitExit(node, o, ob!, 5000)]);
    expect([rs, rob]).toEqual(["killed", "shutdown"]);
    expect(signalChild(node, o, quick, 5000)).toBeNull(); // already gone
  });
});

describe("stoppedCleanly", () => {
  it("is what a supervisor does not report as a shutdown error", () => {
    expect(stoppedCleanly(5000, "shutdown")).toBe(true);
    expect(stoppedCleanly(5000, "normal")).toBe(true);
    expect(stoppedCleanly(5000, { shutdown: "x" })).toBe(true);
    expect(stoppedCleanly(5000, ALREADY_DEAD)).toBe(true);
    expect(stoppedCleanly("brutal_kill", "killed")).toBe(true);
    expect(stoppedCleanly(5000, "killed")).toBe(false);
    expect(stoppedCleanly("infinity", "boom")).toBe(false);
  });
});

afterAll(() => {
  node.kill();
});
