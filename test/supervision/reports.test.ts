/**
 * Supervisor and Parent reports as a logger receives them: the supervisor or parent is
 * `supervisor` / `parent`, the child's pid is `process` (as in `crashReport`; never `pid`, which
 * pino writes itself in every line), and a field with no value is left out rather than sent as
 * `undefined` (an anonymous Parent child has no `id`, an unregistered supervisor no name).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  consoleLogger,
  defineServer,
  DynamicSupervisor,
  GenServer,
  Node,
  ok,
  ParentClient,
  ParentSupervisor,
  type Pid,
  setDefaultNode,
  Supervisor,
} from "../../src/index.js";
import { RecordingLogger } from "./helpers.js";

const Crashy = defineServer<{ casts: { crash(reason: unknown): void } }>()({
  name: "Crashy",
  init: () => ok(null),
  handleCast: { crash: (reason, s) => ({ stop: reason, state: s }) },
});

let serial = 0;
function fresh(logger: RecordingLogger | typeof consoleLogger = new RecordingLogger()): Node {
  const node = new Node({ name: `reports-${++serial}`, logger });
  // The clients used here (GenServer.cast, ParentClient) go through the default node.
  setDefaultNode(node);
  return node;
}

/** Fails unless no field of any report is `pid`, `msg` or has the value `undefined`. */
function expectNoPidOrUndefined(logger: RecordingLogger): void {
  for (const r of logger.records) {
    expect(Object.keys(r.obj), r.msg).not.toContain("pid");
    expect(Object.keys(r.obj), r.msg).not.toContain("msg");
    expect(
      Object.entries(r.obj).filter(([, v]) => v === undefined),
      r.msg,
    ).toEqual([]);
  }
}

async function started(r: Promise<{ ok: boolean; pid?: Pid }>): Promise<Pid> {
  const s = await r;
  if (!s.ok || s.pid === undefined) throw new Error(`did not start: ${JSON.stringify(s)}`);
  return s.pid;
}

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

describe("Supervisor reports", () => {
  it("name the child's pid process, the supervisor supervisor, and leave out what has no value", async () => {
    const logger = new RecordingLogger();
    const node = fresh(logger);
    const sup = await started(
      Supervisor.start([{ id: "c", start: () => GenServer.startLink(Crashy, undefined) }], {
        strategy: "one_for_one",
        node,
      }),
    );
    const [child] = await Supervisor.whichChildren(sup);
    const pid = child!.pid as Pid;
    GenServer.cast(pid, "crash", "boom");
    await expect.poll(() => logger.messages()).toContain("supervisor: child restarted");
    const terminated = logger.records.find((r) => r.msg === "supervisor: child terminated")!;
    expect(terminated.obj).toEqual({
      supervisor: String(sup),
      id: "c",
      process: String(pid),
      reason: "boom",
    });
    const restarted = logger.records.find((r) => r.msg === "supervisor: child restarted")!;
    const [again] = await Supervisor.whichChildren(sup);
    expect(restarted.obj).toEqual({ supervisor: String(sup), id: "c", process: String(again!.pid) });
    // A start error has no child pid: no process field at all.
    const bad = await Supervisor.start([{ id: "bad", start: () => ({ ok: false, error: "nope" }) }], {
      strategy: "one_for_one",
      node,
    });
    expect(bad.ok).toBe(false);
    const failed = logger.records.find((r) => r.msg === "supervisor: child failed to start")!;
    expect(failed.obj).toMatchObject({ id: "bad", reason: "nope" });
    expect(Object.keys(failed.obj).sort()).toEqual(["id", "reason", "supervisor"]);
    expectNoPidOrUndefined(logger);
    await Supervisor.stop(sup);
  });

  it("name a registered supervisor with supervisorName; a DynamicSupervisor's children have no id", async () => {
    const logger = new RecordingLogger();
    const node = fresh(logger);
    const sup = await started(DynamicSupervisor.start({ name: "reports_dyn", node }));
    const pid = await started(
      DynamicSupervisor.startChild(sup, { start: () => GenServer.startLink(Crashy, undefined) }),
    );
    GenServer.cast(pid, "crash", new Error("kaput"));
    await expect.poll(() => logger.messages()).toContain("supervisor: child terminated");
    const r = logger.records.find((x) => x.msg === "supervisor: child terminated")!;
    expect(r.obj).toMatchObject({
      supervisor: String(sup),
      supervisorName: "reports_dyn",
      process: String(pid),
      reason: "Error: kaput",
    });
    expect(Object.keys(r.obj)).not.toContain("id");
    expect(String(r.obj.stack)).toContain("kaput");
    node.send(sup, "stray");
    await expect.poll(() => logger.messages()).toContain("supervisor: unexpected message");
    const stray = logger.records.find((x) => x.msg === "supervisor: unexpected message")!;
    expect(stray.obj).toEqual({ supervisor: String(sup), message: "stray" });
    expectNoPidOrUndefined(logger);
    await DynamicSupervisor.stop(sup);
  });

  it("print on the default logger without pid= or =undefined", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    restore = () => spy.mockRestore();
    const node = fresh(consoleLogger);
    const sup = await started(
      Supervisor.start([{ id: "c", start: () => GenServer.startLink(Crashy, undefined) }], {
        strategy: "one_for_one",
        node,
      }),
    );
    const [child] = await Supervisor.whichChildren(sup);
    GenServer.cast(child!.pid as Pid, "crash", "boom");
    await expect.poll(() => lines.join("")).toContain("supervisor: child restarted");
    await Supervisor.stop(sup);
    spy.mockRestore();
    const report = lines.find((l) => l.includes("supervisor: child terminated"))!;
    expect(report).toContain(`process=${String(child!.pid)}`);
    const text = lines.filter((l) => l.includes("supervisor:")).join("");
    expect(text).not.toMatch(/\bpid=|=undefined/);
  });
});

describe("Parent reports", () => {
  it("name the parent parent and the child process; an anonymous child has no id field", async () => {
    const logger = new RecordingLogger();
    const node = fresh(logger);
    const parent = await started(ParentSupervisor.start([], { node, maxRestarts: 1, maxSeconds: 60 }));
    const child = await started(
      ParentClient.startChild(parent, { start: () => GenServer.startLink(Crashy, undefined) }),
    );
    GenServer.cast(child, "crash", "boom");
    await expect.poll(() => logger.messages()).toContain("child terminated");
    const r = logger.records.find((x) => x.msg === "child terminated")!;
    expect(r.obj).toEqual({ parent: String(parent), process: String(child), reason: "boom" });
    // The second crash within the window is one too many.
    await expect
      .poll(async () => (await ParentClient.children(parent)).at(0)?.pid?.equals(child))
      .toBe(false);
    const again = (await ParentClient.children(parent))[0]!.pid as Pid;
    GenServer.cast(again, "crash", "boom");
    await expect.poll(() => logger.messages()).toContain("Too many restarts in parent process");
    const gaveUp = logger.records.find((x) => x.msg === "Too many restarts in parent process")!;
    expect(gaveUp.obj).toEqual({ parent: String(parent) });
    expectNoPidOrUndefined(logger);
  });

  it("a ParentSupervisor's failed child start names the parent, not pid", async () => {
    const logger = new RecordingLogger();
    const node = fresh(logger);
    const r = await ParentSupervisor.start([{ id: "bad", start: () => ({ ok: false, error: "nope" }) }], {
      node,
    });
    expect(r).toEqual({ ok: false, error: "start_error" });
    const failed = logger.records.find((x) => x.msg.startsWith("Error starting the child bad"))!;
    expect(failed.obj).toMatchObject({ id: "bad", reason: "nope" });
    expect(String(failed.obj.parent)).toMatch(/^</);
    expectNoPidOrUndefined(logger);
  });
});
