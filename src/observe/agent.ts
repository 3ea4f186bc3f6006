/**
 * The observer agent: a GenServer registered as `hubvisor.observer` on a node, which answers what
 * the Observer asks of that node — a snapshot, a level of its supervision trees, one process in
 * detail, and (only where `actions` is on) killing a process or draining the node's hubs. The Observer on any node reaches
 * every other node's agent over the cluster, with ordinary calls: no second network. The agent
 * keeps the node's metrics and recent past (`Metrics`, `Recorder`) from the moment it starts.
 *
 * Imports `server`, `process`, `cluster` (types), its own `metrics`, `recorder`, `node-view`.
 */
import type { Cluster } from "../cluster/cluster.js";
import { NameTakenError } from "../process/errors.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import * as GenServer from "../server/gen-server.js";
import { defineServer } from "../server/behaviour.js";
import { noreply, ok, reply } from "../server/results.js";
import { Metrics } from "./metrics.js";
import {
  type HubRow,
  hubRow,
  hubsOf,
  LIMITS,
  type ProcessDetail,
  type ProcessRow,
  parsePid,
  processDetail,
  scanMailboxes,
  supervisionTree,
  type TreeRow,
} from "./node-view.js";
import { type CrashRow, type EventRow, Recorder, type RestartRow } from "./recorder.js";

/** The local name of the agent on every node. */
export const OBSERVER_AGENT_NAME = "hubvisor.observer";

/** What one node reports of itself at one moment. */
export interface NodeSnapshot {
  node: string;
  /** `Date.now()` on that node. */
  at: number;
  processCount: number;
  maxMailbox: number;
  /** Of the OS process hosting the node (shared by every node of one program). */
  memory: { heapUsed: number; rss: number };
  topMailbox: ProcessRow[];
  topRestarts: RestartRow[];
  crashes: CrashRow[];
  events: EventRow[];
  hubs: HubRow[];
  cluster: {
    members: string[];
    bytesIn: number;
    bytesOut: number;
    framesIn: number;
    framesOut: number;
  } | null;
  /** Whether this node's agent accepts actions (kill, drain). */
  actions: boolean;
}

/** What the Observer asks to drain: one hub of the node, or all of them (`hub: null`). */
export interface DrainRequest {
  hub: string | null;
  /** Each hub's `drain` deadline (`ProcessHub.drain`); null: the hub's `migrationTimeoutMs`. */
  deadlineMs: number | null;
}

/** What a drain did, per hub: children a new owner confirmed (`migrated`) and not (`forced`). */
export interface DrainReply {
  ok: boolean;
  error?: string;
  hubs?: Array<{ hub: string; migrated: number; forced: number }>;
}

/** The agent's protocol, as other nodes call it. */
export interface AgentProtocol {
  calls: {
    snapshot(): NodeSnapshot;
    tree(of: string | null): TreeRow[];
    process(pid: string): ProcessDetail | null;
    kill(pid: string): { ok: boolean; error?: string };
    drain(request: DrainRequest): DrainReply;
  };
}

interface AgentState {
  node: Node;
  cluster: Cluster | undefined;
  recorder: Recorder;
  actions: boolean;
  /** The last pass over the processes, reused until a new one is due (`SCAN_BUDGET`). */
  scan: { at: number; max: number; top: ProcessRow[]; ms: number } | null;
}

/**
 * A pass over every process is spaced out so that it takes at most 1/200 of the node's time: on a
 * node where it takes 10 ms, snapshots within the next 2 s reuse it (their longest mailboxes are
 * that old at most). On a small node every snapshot scans.
 */
const SCAN_BUDGET = 200;

function scanned(s: AgentState): { max: number; top: ProcessRow[] } {
  const now = performance.now();
  const last = s.scan;
  if (last !== null && now - last.at < last.ms * SCAN_BUDGET) return last;
  s.scan = { at: now, ...scanMailboxes(s.node, LIMITS.topProcesses) };
  return s.scan;
}

function snapshot(s: AgentState): NodeSnapshot {
  const { node, cluster } = s;
  const mem = process.memoryUsage();
  const scan = scanned(s);
  const stats = cluster !== undefined && !cluster.isClosed ? cluster.stats : undefined;
  return {
    node: node.name,
    at: Date.now(),
    processCount: node.processCount,
    maxMailbox: scan.max,
    memory: { heapUsed: mem.heapUsed, rss: mem.rss },
    topMailbox: scan.top,
    topRestarts: s.recorder.topRestarts(LIMITS.topProcesses),
    crashes: [...s.recorder.crashes],
    events: [...s.recorder.events],
    hubs: hubsOf(node).map(hubRow),
    cluster:
      stats === undefined || cluster === undefined
        ? null
        : {
            members: [node.name, ...cluster.nodes()].sort(),
            bytesIn: stats.bytesIn,
            bytesOut: stats.bytesOut,
            framesIn: stats.framesIn,
            framesOut: stats.framesOut,
          },
    actions: s.actions,
  };
}

const Agent = defineServer<AgentProtocol>()({
  name: "ObserverAgent",
  init: (s: AgentState) => ok(s),
  handleCall: {
    snapshot: (_a, s) => reply(snapshot(s), s),
    tree: async (of, s) => reply(await supervisionTree(s.node, of ?? undefined), s),
    process: (pid, s) => reply(processDetail(s.node, pid) ?? null, s),
    kill: (text, s) => {
      if (!s.actions) return reply({ ok: false, error: "actions are off on this node" }, s);
      const pid = parsePid(s.node, text);
      if (pid === undefined || !s.node.isAlive(pid)) return reply({ ok: false, error: "no such process" }, s);
      s.node.exit(pid, "kill");
      return reply({ ok: true }, s);
    },
    drain: (request, s, ctx) => {
      if (!s.actions) return reply({ ok: false, error: "actions are off on this node" }, s);
      // The request comes over the wire from any member: its shape is checked, not trusted.
      const { hub, deadlineMs } = (request ?? {}) as Partial<DrainRequest>;
      if (hub !== null && typeof hub !== "string")
        return reply({ ok: false, error: "hub: a hub id or null" }, s);
      if (
        deadlineMs !== null &&
        !(typeof deadlineMs === "number" && deadlineMs > 0 && Number.isFinite(deadlineMs))
      )
        return reply({ ok: false, error: "deadlineMs: a finite number > 0 or null" }, s);
      const hubs = hubsOf(s.node).filter((h) => hub === null || h.hubId === hub);
      if (hubs.length === 0)
        return reply(
          { ok: false, error: hub === null ? "no hub runs on this node" : `no hub ${hub} here` },
          s,
        );
      const from = ctx.from!;
      const options = deadlineMs === null ? {} : { deadlineMs };
      // Answered when every drain has ended, so that the agent answers snapshots meanwhile.
      Promise.all(hubs.map(async (h) => ({ hub: h.hubId, ...(await h.drain(options)) }))).then(
        (done) => s.node.reply(from, { ok: true, hubs: done } satisfies DrainReply),
        (e: unknown) => s.node.reply(from, { ok: false, error: String((e as Error)?.message ?? e) }),
      );
      return noreply(s);
    },
  },
  terminate: (_r, s) => s.recorder.close(),
});

/** Options of `startObserverAgent`. */
export interface ObserverAgentOptions {
  /** The node to report on. */
  node: Node;
  /** Its cluster: membership and traffic in snapshots, metrics of the transport. @default undefined */
  cluster?: Cluster | undefined;
  /** Let the Observer kill this node's processes and drain its hubs. @default false */
  actions?: boolean | undefined;
}

/** A running agent. */
export interface ObserverAgent {
  pid: Pid;
  /** The node's metrics, counted since the agent started. */
  metrics: Metrics;
  /** Stops the agent and its counting. */
  stop(): Promise<void>;
}

/**
 * Starts the observer agent on a node (one per node; a second start answers the running one), so
 * that an Observer anywhere in the cluster can see this node. `observe()` starts one on its own
 * node.
 * @category observe
 */
export async function startObserverAgent(options: ObserverAgentOptions): Promise<ObserverAgent> {
  const { node } = options;
  const existing = agents.get(node);
  if (existing !== undefined && node.isAlive(existing.pid)) return existing;
  const recorder = new Recorder(node.name);
  const state: AgentState = {
    node,
    cluster: options.cluster,
    recorder,
    actions: options.actions === true,
    scan: null,
  };
  const started = await GenServer.start(Agent, state, { node, name: OBSERVER_AGENT_NAME });
  if (!started.ok) {
    recorder.close();
    // The name is held by a process that is not this program's agent for the node.
    const holder = node.whereis(OBSERVER_AGENT_NAME);
    if (holder !== undefined) throw new NameTakenError(OBSERVER_AGENT_NAME, holder);
    const error = "error" in started ? started.error : undefined;
    throw error instanceof Error ? error : new NameTakenError(OBSERVER_AGENT_NAME, node.systemPid);
  }
  const metrics = new Metrics({ node, cluster: options.cluster });
  const agent: ObserverAgent = {
    pid: started.pid,
    metrics,
    stop: async () => {
      metrics.close();
      agents.delete(node);
      recorder.close();
      if (node.isAlive(started.pid)) node.exit(started.pid, "shutdown");
    },
  };
  agents.set(node, agent);
  return agent;
}

const agents = new WeakMap<Node, ObserverAgent>();

/** Calls the agent of `peer` through `node` (an ordinary cluster call). */
export function askAgent<K extends keyof AgentProtocol["calls"]>(
  node: Node,
  peer: string,
  call: K,
  arg: Parameters<AgentProtocol["calls"][K]>[0],
  timeoutMs: number,
): Promise<ReturnType<AgentProtocol["calls"][K]>> {
  const dest = peer === node.name ? OBSERVER_AGENT_NAME : { name: OBSERVER_AGENT_NAME, node: peer };
  return GenServer.callOn(node, dest, call as string, arg, timeoutMs) as Promise<
    ReturnType<AgentProtocol["calls"][K]>
  >;
}
