/**
 * What one node shows of itself, as plain data that crosses the wire and becomes JSON: its
 * counts, the longest mailboxes, its supervision trees (one level per request), one process in
 * detail, its hubs and its cluster's traffic. Pids travel as their printed form (`<node.id>`)
 * so the page and the CLI need no codec. Bounded: lists are capped (`LIMITS`), a state is
 * printed to at most 400 characters.
 *
 * Imports `process`, `supervision` (the supervisor client), `hub` (`ProcessHub.whereis`), the
 * root `logger` (`printTerm`).
 */
import type { Cluster } from "../cluster/cluster.js";
import { ProcessHub } from "../hub/process-hub.js";
import { printTerm } from "../logger.js";
import type { Node } from "../process/node.js";
import { Pid } from "../process/pid.js";
import type { ChildInfo } from "../supervision/results.js";
import { supervisorCall, supervisorsOn } from "../supervision/supervisor-client.js";

/** Caps of every list a node sends. */
export const LIMITS = Object.freeze({ topProcesses: 10, children: 200, stateChars: 400 });

/** How long a supervisor may take to list its children (a busy one is shown without them). */
const ASK_TIMEOUT_MS = 2000;

/** One process as a row of a list. */
export interface ProcessRow {
  pid: string;
  name: string | undefined;
  behaviour: string | undefined;
  status: string;
  mailbox: number;
}

/** A hub as one node sees it. */
export interface HubRow {
  hub: string;
  members: string[];
  partitioned: boolean;
  locked: boolean;
  /** Children running on this node. */
  local: number;
  /** Children per node, from this node's replica of the hub registry. */
  byNode: Record<string, number>;
}

/** The hubs running on `node` (found by their process names). */
export function hubsOf(node: Node): ProcessHub[] {
  const out: ProcessHub[] = [];
  for (const name of node.registeredNames()) {
    if (!name.startsWith("hubvisor.hub.")) continue;
    const hub = ProcessHub.whereis(name.slice("hubvisor.hub.".length), node);
    if (hub?.isAlive()) out.push(hub);
  }
  return out;
}

/** The longest mailbox on `node`: one pass over its processes. */
export function maxMailbox(node: Node): number {
  return scanMailboxes(node, 0).max;
}

/** The `n` processes with the longest mailboxes (none with an empty one). */
export function topByMailbox(node: Node, n = LIMITS.topProcesses): ProcessRow[] {
  return scanMailboxes(node, n).top;
}

/**
 * One pass over `node`'s processes: the longest mailbox and the `n` longest non-empty ones, and
 * how long the pass took (`ms`), so that callers can space passes out on a large node.
 */
export function scanMailboxes(node: Node, n: number): { max: number; top: ProcessRow[]; ms: number } {
  const t0 = performance.now();
  let max = 0;
  const top: Array<[number, Pid]> = [];
  node.forEachMailbox((pid, len) => {
    if (len > max) max = len;
    if (n === 0 || len === 0 || (top.length === n && len <= top[n - 1]![0])) return;
    top.push([len, pid]);
    top.sort((x, y) => y[0] - x[0]);
    if (top.length > n) top.pop();
  });
  const rows = top.flatMap(([, pid]) => {
    const row = processRow(node, pid);
    return row === undefined ? [] : [row];
  });
  return { max, top: rows, ms: performance.now() - t0 };
}

export function processRow(node: Node, pid: Pid): ProcessRow | undefined {
  const info = node.processInfo(pid);
  if (info === undefined) return undefined;
  return {
    pid: String(pid),
    name: info.name,
    behaviour: info.behaviour,
    status: info.status,
    mailbox: info.mailboxLength,
  };
}

/** A hub's view from `node`. */
export function hubRow(hub: ProcessHub): HubRow {
  const byNode: Record<string, number> = {};
  for (const e of hub.processList("global")) {
    if (!("nodes" in e)) continue;
    const owner = e.nodes[0]?.node;
    if (owner !== undefined) byNode[owner] = (byNode[owner] ?? 0) + 1;
  }
  return {
    hub: hub.hubId,
    members: hub.nodes({ includeLocal: true }),
    partitioned: hub.isPartitioned(),
    locked: hub.isLocked(),
    local: hub.localChildren().size,
    byNode,
  };
}

/** A supervision tree node: a supervisor or a child, with children only one level deep. */
export interface TreeRow extends ProcessRow {
  id: string | undefined;
  /** `supervisor` or `worker`; `undefined` for a root. */
  type: string | undefined;
  /** Children shown (capped) and how many there are. */
  children?: TreeRow[];
  childCount?: number;
}

/**
 * The supervisors of `node` that no other supervisor of it supervises (the roots), each with its
 * direct children; or, with `of`, the direct children of that supervisor.
 */
export async function supervisionTree(node: Node, of?: string): Promise<TreeRow[]> {
  const hubs = hubsOf(node);
  if (of !== undefined) {
    const hub = hubs.find((h) => String(h.pid) === of);
    if (hub !== undefined) return [hubTree(node, hub)];
    const pid = parsePid(node, of);
    const row = pid === undefined ? undefined : await treeRow(node, pid, undefined, undefined);
    return row === undefined ? [] : [row];
  }
  const sups = supervisorsOn(node).filter((p) => node.isAlive(p));
  const rows = (await Promise.all(sups.map((p) => treeRow(node, p, undefined, undefined)))).filter(
    (r): r is TreeRow => r !== undefined,
  );
  const nested = new Set(rows.flatMap((r) => (r.children ?? []).map((c) => c.pid)));
  return [...hubs.map((h) => hubTree(node, h)), ...rows.filter((r) => !nested.has(r.pid))];
}

/** A hub process supervises its local children itself: it is the root of their tree. */
function hubTree(node: Node, hub: ProcessHub): TreeRow {
  const base = processRow(node, hub.pid) ?? {
    pid: String(hub.pid),
    name: undefined,
    behaviour: "ProcessHub",
    status: "-",
    mailbox: 0,
  };
  const local = [...hub.localChildren()];
  return {
    ...base,
    id: `hub ${hub.hubId}`,
    type: undefined,
    childCount: local.length,
    children: local.slice(0, LIMITS.children).flatMap(([id, c]) => {
      const pid = c.nodes.find((n) => n.node === node.name)?.pid;
      const row = pid === undefined ? undefined : processRow(node, pid);
      return row === undefined ? [] : [{ ...row, id, type: "worker" }];
    }),
  };
}

async function treeRow(node: Node, pid: Pid, id: string | undefined, type: string | undefined) {
  const base = processRow(node, pid);
  if (base === undefined) return undefined;
  const row: TreeRow = { ...base, id, type };
  if (type !== undefined && type !== "supervisor") return row;
  let kids: ChildInfo[];
  try {
    kids = await supervisorCall<ChildInfo[]>(pid, "whichChildren", undefined, ASK_TIMEOUT_MS, node);
  } catch {
    return type === undefined ? undefined : row;
  }
  row.childCount = kids.length;
  row.children = kids.slice(0, LIMITS.children).map((c) => {
    const childPid = c.pid instanceof Pid ? c.pid : undefined;
    const childBase = childPid === undefined ? undefined : processRow(node, childPid);
    return {
      ...(childBase ?? {
        pid: String(c.pid ?? "-"),
        name: undefined,
        behaviour: undefined,
        status: "-",
        mailbox: 0,
      }),
      id: c.id === undefined ? undefined : printTerm(c.id, 80),
      type: c.type,
    };
  });
  return row;
}

/** A process in detail: links, monitors, and for a server its state and the message it is on. */
export interface ProcessDetail extends ProcessRow {
  links: string[];
  monitors: string[];
  monitoredBy: string[];
  trapExit: boolean;
  state: string | undefined;
  /** The message being (or last) handled: the current call while the server is busy. */
  lastMessage: string | undefined;
}

export function processDetail(node: Node, text: string): ProcessDetail | undefined {
  const pid = parsePid(node, text);
  if (pid === undefined) return undefined;
  const info = node.processInfo(pid);
  if (info === undefined) return undefined;
  const server = node.proc(pid)?.behaviourState as { state?: unknown; lastMessage?: unknown } | undefined;
  const isServer = typeof server === "object" && server !== null && "state" in server;
  return {
    pid: String(pid),
    name: info.name,
    behaviour: info.behaviour,
    status: info.status,
    mailbox: info.mailboxLength,
    links: info.links.map(String),
    monitors: info.monitors.map(String),
    monitoredBy: info.monitoredBy.map(String),
    trapExit: info.trapExit,
    state: isServer ? printTerm(server.state, LIMITS.stateChars) : undefined,
    lastMessage:
      isServer && server.lastMessage !== undefined ? printTerm(server.lastMessage, 200) : undefined,
  };
}

/** A pid of `node`'s current incarnation from its printed form `<node.id>`. */
export function parsePid(node: Node, text: string): Pid | undefined {
  const m = /^<?(.*)\.(\d+)>?$/.exec(text);
  if (m === null || m[1] !== node.name) return undefined;
  return new Pid(node.name, Number(m[2]), node.creation);
}

/** The NATS round trip of a cluster over the NATS transport, in ms; undefined otherwise. */
export async function natsRttMs(cluster: Cluster): Promise<number | undefined> {
  const conn = (cluster.transport as { connection?: { rtt?: () => Promise<number> } }).connection;
  if (conn === undefined || typeof conn.rtt !== "function") return undefined;
  try {
    return await conn.rtt();
  } catch {
    return undefined;
  }
}
