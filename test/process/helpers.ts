/**
 * Shared helpers of the process-layer tests: a fresh silent node per test and a "probe" process
 * that records every message it receives, so tests can observe signals as a process would.
 */
import { silentLogger } from "../../src/logger.js";
import { Node, type Pid, type ProcessContext, type SpawnOptions } from "../../src/process/index.js";

let counter = 0;

/** A new node with a unique name and a silent logger. */
export function newNode(name = `t${++counter}`): Node {
  return new Node({ name, logger: silentLogger });
}

/** A process that records every message it gets; `ctx` is its context once it runs. */
export interface Probe {
  pid: Pid;
  got: unknown[];
  ctx: () => ProcessContext;
}

/** Spawns a probe. `setup` runs first, inside the process (trap exits, link, monitor...). */
export function probe(node: Node, setup?: (ctx: ProcessContext) => void, options?: SpawnOptions): Probe {
  const got: unknown[] = [];
  let context: ProcessContext | undefined;
  const pid = node.spawn(async (ctx) => {
    context = ctx;
    setup?.(ctx);
    for (;;) got.push(await ctx.receive());
  }, options);
  return {
    pid,
    got,
    ctx: () => {
      if (context === undefined) throw new Error("probe not started yet");
      return context;
    },
  };
}

/** A process that waits forever for a message that never comes. */
export function idle(node: Node, options?: SpawnOptions): Pid {
  return node.spawn(async (ctx) => {
    await ctx.receive(() => false);
  }, options);
}

/** Resolves once the process has run its first synchronous step (it is blocked in receive). */
export async function started(node: Node, pid: Pid): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (node.processInfo(pid)?.status !== "running") return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`${pid} never blocked`);
}

/** Records the exit reason of `pid` (through an exit hook). */
export function watchExit(node: Node, pid: Pid): { dead: boolean; reason: unknown } {
  const seen = { dead: false, reason: undefined as unknown };
  node.onExit(pid, (_pid, reason) => {
    seen.dead = true;
    seen.reason = reason;
  });
  return seen;
}
