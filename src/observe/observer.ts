/**
 * `observe()`: the Observer, served over HTTP by any node — the page (`page.ts`), its JSON API
 * and the node's Prometheus metrics. It sees the whole cluster from the node it runs on by asking
 * every member's observer agent over the cluster (`agent.ts`), and remembers the members it saw
 * so that a node that left is shown gone rather than forgotten.
 *
 * Access: bound to loopback by default; any other address requires a `token`, and when a token is
 * set every request must carry it (`Authorization: Bearer …`, or `?token=` for the page itself).
 * Read-only unless `actions` is on: then the page can kill a process and drain a node's hubs
 * (`POST /api/kill`, `POST /api/drain`), on nodes whose agent allows actions too.
 *
 * Imports `cluster`, `process` (types), the root `errors`, its own `agent`, `page`.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Cluster } from "../cluster/cluster.js";
import { InvalidOptionError } from "../errors.js";
import type { Node } from "../process/node.js";
import { askAgent, type NodeSnapshot, type ObserverAgent, startObserverAgent } from "./agent.js";
import { observerPage } from "./page.js";

/** Options of `observe`. */
export interface ObserveOptions {
  /** The cluster to observe, through its node. Give this or `node`. @default undefined */
  cluster?: Cluster | undefined;
  /** The node to observe when it is in no cluster. @default `cluster.node` */
  node?: Node | undefined;
  /** TCP port; 0 picks a free one (read it from `url`). @default 4100 */
  port?: number | undefined;
  /** Address to listen on. Anything but a loopback address requires `token`. @default "127.0.0.1" */
  host?: string | undefined;
  /** Secret every request must carry. @default undefined (no token: loopback only) */
  token?: string | undefined;
  /**
   * Allow killing processes and draining nodes from the page (on nodes whose agent allows it
   * too). @default false
   */
  actions?: boolean | undefined;
  /** How often the page refreshes, in ms. @default 1000 */
  refreshMs?: number | undefined;
  /** How long to wait for a node's agent to answer, in ms. @default 2000 */
  askTimeoutMs?: number | undefined;
}

/** The defaults of `ObserveOptions`. */
export const DEFAULT_OBSERVE_OPTIONS = Object.freeze({
  port: 4100,
  host: "127.0.0.1",
  actions: false,
  refreshMs: 1000,
  askTimeoutMs: 2000,
});

/** A running Observer. */
export interface Observer {
  /** The page's address (with the token in its query when one is set). */
  url: string;
  port: number;
  /** The agent of the observing node (its metrics are `/metrics`). */
  agent: ObserverAgent;
  /** One cluster view, as the page gets it. */
  view(): Promise<ClusterView>;
  /** Stops serving (the agent stays, for other observers). */
  close(): Promise<void>;
}

/** A node as the page lists it. */
export interface NodeView {
  node: string;
  /** `up`: answered; `unreachable`: connected but its agent did not answer; `down`: left the cluster. */
  status: "up" | "unreachable" | "down";
  snapshot: NodeSnapshot | null;
  error?: string;
}

/** What `/api/cluster` answers. */
export interface ClusterView {
  self: string;
  at: number;
  refreshMs: number;
  actions: boolean;
  nodes: NodeView[];
}

/**
 * How long the Observer waits for a drain without an explicit deadline: the hubs' own default
 * (`migrationTimeoutMs`, 10 s) with room for a hub configured longer.
 */
const DRAIN_WAIT_MS = 30_000;

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

function parseObserveOptions(o: ObserveOptions) {
  const node = o.node ?? o.cluster?.node;
  if (node === undefined) throw new InvalidOptionError("cluster", "a Cluster (or `node`: a Node)", o.cluster);
  const port = o.port ?? DEFAULT_OBSERVE_OPTIONS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidOptionError("port", "an integer from 0 to 65535", port);
  const host = o.host ?? DEFAULT_OBSERVE_OPTIONS.host;
  const token = o.token;
  if (token !== undefined && (typeof token !== "string" || token.length < 8))
    throw new InvalidOptionError("token", "a string of at least 8 characters", token);
  if (token === undefined && !LOOPBACK.has(host))
    throw new InvalidOptionError(
      "token",
      `given when \`host\` is not a loopback address (host: ${host})`,
      token,
    );
  const refreshMs = o.refreshMs ?? DEFAULT_OBSERVE_OPTIONS.refreshMs;
  if (!(refreshMs >= 100)) throw new InvalidOptionError("refreshMs", "a number ≥ 100", refreshMs);
  const askTimeoutMs = o.askTimeoutMs ?? DEFAULT_OBSERVE_OPTIONS.askTimeoutMs;
  if (!(askTimeoutMs > 0)) throw new InvalidOptionError("askTimeoutMs", "a number > 0", askTimeoutMs);
  return {
    node,
    cluster: o.cluster,
    port,
    host,
    token,
    actions: o.actions === true,
    refreshMs,
    askTimeoutMs,
  };
}

/**
 * Serves the Observer on `host:port` and resolves once it listens. Starts the observer agent on
 * the observing node; the other nodes of the cluster are seen once their agent runs
 * (`startObserverAgent`), and are listed as unreachable until then.
 * @category observe
 */
export async function observe(options: ObserveOptions): Promise<Observer> {
  const o = parseObserveOptions(options);
  const agent = await startObserverAgent({ node: o.node, cluster: o.cluster, actions: o.actions });
  const seen = new Set<string>([o.node.name]);

  const members = (): string[] =>
    o.cluster === undefined || o.cluster.isClosed ? [o.node.name] : [o.node.name, ...o.cluster.nodes()];

  const view = async (): Promise<ClusterView> => {
    const up = members();
    for (const n of up) seen.add(n);
    const live = new Set(up);
    const nodes = await Promise.all(
      [...seen].sort().map(async (name): Promise<NodeView> => {
        if (!live.has(name)) return { node: name, status: "down", snapshot: null };
        try {
          const snapshot = await askAgent(o.node, name, "snapshot", undefined, o.askTimeoutMs);
          return { node: name, status: "up", snapshot };
        } catch (e) {
          return {
            node: name,
            status: "unreachable",
            snapshot: null,
            error: String((e as Error)?.message ?? e),
          };
        }
      }),
    );
    return { self: o.node.name, at: Date.now(), refreshMs: o.refreshMs, actions: o.actions, nodes };
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => send(res, 500, "text/plain", String((e as Error)?.message ?? e)));
  });

  const authorized = (req: IncomingMessage, url: URL): boolean => {
    if (o.token === undefined) return true;
    const header = req.headers.authorization;
    const given = header?.startsWith("Bearer ") ? header.slice(7) : (url.searchParams.get("token") ?? "");
    const a = Buffer.from(given);
    const b = Buffer.from(o.token);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://observer");
    if (!authorized(req, url)) return send(res, 401, "text/plain", "token required\n");
    const q = (k: string) => url.searchParams.get(k) ?? "";
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case "GET /":
        return send(res, 200, "text/html; charset=utf-8", observerPage(o.node.name));
      case "GET /api/cluster":
        return json(res, await view());
      case "GET /api/tree":
        return json(res, await askAgent(o.node, q("node"), "tree", q("of") || null, o.askTimeoutMs));
      case "GET /api/process":
        return json(res, await askAgent(o.node, q("node"), "process", q("pid"), o.askTimeoutMs));
      case "POST /api/kill":
        if (!o.actions) return send(res, 403, "text/plain", "actions are off\n");
        return json(res, await askAgent(o.node, q("node"), "kill", q("pid"), o.askTimeoutMs));
      case "POST /api/drain":
        if (!o.actions) return send(res, 403, "text/plain", "actions are off\n");
        return drain(res, q("node"), q("hub") || null, q("deadlineMs"));
      case "GET /metrics":
        return send(res, 200, "text/plain; version=0.0.4; charset=utf-8", await agent.metrics.prometheus());
      default:
        return send(res, 404, "text/plain", "not found\n");
    }
  }

  /**
   * Drains `node`'s hubs (or one) through its agent: the node that runs them moves their
   * children to the other members and stops them there. Answers once the drains end; waits for
   * at most the deadline and the ask timeout (the drain goes on if the answer comes later).
   */
  async function drain(res: ServerResponse, node: string, hub: string | null, deadline: string) {
    const deadlineMs = deadline === "" ? null : Number(deadline);
    if (deadlineMs !== null && !(deadlineMs > 0 && Number.isFinite(deadlineMs)))
      return send(res, 400, "text/plain", "deadlineMs: a finite number > 0\n");
    if (!members().includes(node)) return send(res, 404, "text/plain", `no node ${node} in the cluster\n`);
    const wait = (deadlineMs ?? DRAIN_WAIT_MS) + o.askTimeoutMs;
    try {
      return json(res, await askAgent(o.node, node, "drain", { hub, deadlineMs }, wait));
    } catch (e) {
      const why = String((e as Error)?.message ?? e);
      return send(
        res,
        504,
        "text/plain",
        `no answer from ${node} in ${wait} ms (it may still be draining): ${why}\n`,
      );
    }
  }

  await listen(server, o.port, o.host);
  const port = (server.address() as AddressInfo).port;
  const hostText = o.host.includes(":") ? `[${o.host}]` : o.host;
  const url = `http://${hostText}:${port}/${o.token === undefined ? "" : `?token=${encodeURIComponent(o.token)}`}`;
  return {
    url,
    port,
    agent,
    view,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

function json(res: ServerResponse, value: unknown): void {
  send(res, 200, "application/json", JSON.stringify(value));
}
