/**
 * Test helpers for the Parent suites: a tiny worker server, child specs that log when their
 * process dies, and a node per suite with a silent (or capturing) logger.
 */
import { expect } from "vitest";
import type { Logger } from "../../../src/logger.js";
import { Node, type Pid, setDefaultNode } from "../../../src/process/index.js";
import { defineServer, GenServer, ok, reply } from "../../../src/server/index.js";
import type { ParentChildSpec } from "../../../src/supervision/parent/index.js";

export interface WorkerProtocol {
  calls: { ping(): string; whoami(): unknown };
}

export const Worker = defineServer<WorkerProtocol>()({
  name: "Worker",
  init: (arg: unknown) => ok(arg),
  handleCall: {
    ping: (_a, s) => reply("pong", s),
    whoami: (_a, s) => reply(s, s),
  },
});

export interface Captured {
  level: string;
  msg: string;
  obj: Record<string, unknown>;
}

export function capturingLogger(into: Captured[]): Logger {
  const at =
    (level: string) =>
    (obj: Record<string, unknown>, msg: string): void => {
      into.push({ level, msg, obj });
    };
  return { error: at("error"), warn: at("warn"), info: at("info"), debug: () => {} };
}

/** A fresh node as the default node, logging into `logs`. */
export function freshNode(name: string, logs: Captured[] = []): Node {
  const node = new Node({ name, logger: capturingLogger(logs) });
  setDefaultNode(node);
  return node;
}

/**
 * A worker child spec whose process deaths are appended to `deaths` (by id) and whose starts
 * to `starts`.
 */
export function worker(
  node: Node,
  id: string,
  log: { deaths: string[]; starts?: string[] },
  extra: Partial<ParentChildSpec> = {},
): ParentChildSpec {
  return {
    id,
    start: async () => {
      const r = await GenServer.startLink(Worker, id);
      if (r.ok) {
        log.starts?.push(id);
        node.onExit(r.pid, () => log.deaths.push(id));
      }
      return r;
    },
    shutdown: 1000,
    ...extra,
  };
}

/** Waits until `pid` is dead. */
export async function dead(node: Node, pid: Pid): Promise<void> {
  await expect.poll(() => node.isAlive(pid), { timeout: 2000, interval: 2 }).toBe(false);
}
