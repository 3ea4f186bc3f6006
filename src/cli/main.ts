#!/usr/bin/env node
/**
 * The `hubvisor` command. It joins a running cluster over NATS as a node of its own that runs no
 * hub (a client-only member: no child is ever placed on it), and looks at the cluster through
 * the observer agents of its members (`startObserverAgent`), without a change to their code
 * beyond running the agent:
 *
 *   hubvisor observe nats://host:4222 --cluster NAME [--port 4100] [--host 127.0.0.1] [--token T]
 *   hubvisor top nats://host:4222 --cluster NAME [--interval-ms 2000] [--once]
 *
 * `observe` serves the Observer page; `top` prints a terminal view every interval (`--once`: one
 * view, then exit). Imports `hubvisor`'s layers, `hubvisor/nats` (loaded only here) and
 * `observe`.
 */
import { Cluster } from "../cluster/cluster.js";
import { InvalidOptionError } from "../errors.js";
import { silentLogger } from "../logger.js";
import { Node } from "../process/node.js";
import type { NodeSnapshot } from "../observe/agent.js";
import { type ClusterView, observe } from "../observe/observer.js";

const USAGE = `usage:
  hubvisor observe <nats-url> --cluster <name> [--port 4100] [--host 127.0.0.1] [--token <secret>] [--actions]
  hubvisor top <nats-url> --cluster <name> [--interval-ms 2000] [--once]
options of both: --node <name> (default hubvisor-cli-<pid>)`;

/** A parsed command line. */
export interface CliArgs {
  command: "observe" | "top";
  nats: string;
  cluster: string;
  node: string;
  port: number;
  host: string;
  token: string | undefined;
  actions: boolean;
  intervalMs: number;
  once: boolean;
}

/** Parses `argv` (without the node binary and script); throws `InvalidOptionError` on misuse. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const [command, nats, ...rest] = argv;
  if (command !== "observe" && command !== "top")
    throw new InvalidOptionError("command", "observe or top", command);
  if (nats === undefined || !/^(nats|tls|ws|wss):\/\/|^[\w.-]+:\d+$/.test(nats))
    throw new InvalidOptionError("nats-url", "a NATS server address (nats://host:port)", nats);
  const flags = new Map<string, string>();
  const bare = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith("--")) throw new InvalidOptionError("argument", "a --flag", a);
    if (a === "--once" || a === "--actions") bare.add(a.slice(2));
    else {
      const v = rest[++i];
      if (v === undefined) throw new InvalidOptionError(a.slice(2), "a value", v);
      flags.set(a.slice(2), v);
    }
  }
  const cluster = flags.get("cluster");
  if (cluster === undefined)
    throw new InvalidOptionError("cluster", "the cluster's name (--cluster)", cluster);
  const num = (k: string, d: number) => {
    const v = flags.has(k) ? Number(flags.get(k)) : d;
    if (!Number.isInteger(v) || v < 0) throw new InvalidOptionError(k, "an integer ≥ 0", flags.get(k));
    return v;
  };
  return {
    command,
    nats,
    cluster,
    node: flags.get("node") ?? `hubvisor-cli-${process.pid}`,
    port: num("port", 4100),
    host: flags.get("host") ?? "127.0.0.1",
    token: flags.get("token"),
    actions: bare.has("actions"),
    intervalMs: num("interval-ms", 2000),
    once: bare.has("once"),
  };
}

/** Joins the cluster as a client-only node. */
async function join(args: CliArgs): Promise<Cluster> {
  const { NatsTransport } = await import("../nats.js");
  const node = new Node({ name: args.node, logger: silentLogger });
  const transport = new NatsTransport({ connection: { servers: args.nats }, logger: silentLogger });
  return Cluster.join({ node, cluster: args.cluster, transport, logger: silentLogger });
}

/** Waits until the cluster shows peers (or `ms` passed): a new member hears of them in a moment. */
async function settle(cluster: Cluster, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (cluster.nodes().length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  // Peers already up announce themselves one by one; give the last a beat to arrive.
  await new Promise((r) => setTimeout(r, 300));
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const padl = (s: string | number, n: number) => String(s).padStart(n);

/** The terminal view of one cluster view (the observing CLI node itself left out). */
export function renderTop(view: ClusterView): string {
  const nodes = view.nodes.filter((n) => n.node !== view.self);
  const lines = [
    `hubvisor top · ${new Date(view.at).toLocaleTimeString()} · ${nodes.filter((n) => n.status === "up").length}/${nodes.length} nodes up`,
    "",
    `${pad("NODE", 20)}${pad("STATUS", 13)}${padl("PROCESSES", 10)}${padl("MAX MBOX", 10)}${padl("HUB CHILDREN", 14)}${padl("HEAP MB", 9)}`,
  ];
  for (const n of nodes) {
    const s: NodeSnapshot | null = n.snapshot;
    lines.push(
      pad(n.node, 20) +
        pad(n.status, 13) +
        padl(s?.processCount ?? "-", 10) +
        padl(s?.maxMailbox ?? "-", 10) +
        padl(s === null ? "-" : s.hubs.reduce((a, h) => a + h.local, 0), 14) +
        padl(s === null ? "-" : (s.memory.heapUsed / 1048576).toFixed(1), 9),
    );
  }
  const top = nodes
    .flatMap((n) => (n.snapshot?.topMailbox ?? []).map((p) => ({ node: n.node, ...p })))
    .sort((a, b) => b.mailbox - a.mailbox)
    .slice(0, 5);
  if (top.length > 0) {
    lines.push("", "LONGEST MAILBOXES");
    for (const p of top) lines.push(`  ${pad(p.node, 18)}${pad(p.name ?? p.pid, 30)}${padl(p.mailbox, 8)}`);
  }
  const events = nodes
    .flatMap((n) => (n.snapshot?.events ?? []).map((e) => ({ node: n.node, ...e })))
    .sort((a, b) => b.at - a.at)
    .slice(0, 8);
  if (events.length > 0) {
    lines.push("", "RECENT EVENTS");
    for (const e of events)
      lines.push(`  ${new Date(e.at).toLocaleTimeString()}  ${pad(e.node, 18)}${e.text}`);
  }
  const silent = nodes.filter((n) => n.status === "unreachable");
  if (silent.length > 0)
    lines.push("", `no observer agent answered on: ${silent.map((n) => n.node).join(", ")}`);
  return `${lines.join("\n")}\n`;
}

export async function main(argv: readonly string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const cluster = await join(args);
  await settle(cluster, 3000);
  const observer = await observe({
    cluster,
    port: args.command === "observe" ? args.port : 0,
    host: args.command === "observe" ? args.host : "127.0.0.1",
    token: args.token,
    actions: args.actions,
  });
  if (args.command === "observe") {
    process.stdout.write(`Observer of cluster ${args.cluster}: ${observer.url}\n`);
    await new Promise(() => {});
  }
  for (;;) {
    const text = renderTop(await observer.view());
    process.stdout.write(args.once ? text : `\x1b[2J\x1b[H${text}`);
    if (args.once) break;
    await new Promise((r) => setTimeout(r, args.intervalMs));
  }
  await observer.close();
  await cluster.leave();
  return 0;
}

// Run when executed (the bin), not when imported (tests).
if (process.argv[1] !== undefined && /cli[\\/]main\.[jt]s$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`hubvisor: ${(e as Error)?.stack ?? e}\n`);
      process.exit(1);
    },
  );
}
