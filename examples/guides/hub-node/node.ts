/**
 * A hub node template: one OS process per node, joined to the others over NATS, running a
 * ProcessHub of chat rooms and an HTTP API that any node answers for any room. Copy it, change
 * the behaviour and the routes. Guide: `docs/guides/hub-node.md`.
 *
 *   NATS_URL=nats://127.0.0.1:4222 NODE_NAME=node-a npx tsx examples/guides/hub-node/node.ts
 *
 * Settings (environment): NATS_URL, NODE_NAME (required), CLUSTER (default "chat"), HTTP_PORT
 * (default 0: a free port, printed), MIGRATION ("hotSwap", the default, or "coldSwap").
 *
 *   POST /rooms/<id>             start the room (anywhere in the cluster: its owner node)
 *   POST /rooms/<id>/messages    body = the message text; answers { count, node }
 *   GET  /rooms/<id>             { node, messages }
 *   GET  /health                 { node, members }
 *
 * SIGTERM (or SIGINT) leaves gracefully: the HTTP server stops taking requests, the hub hands its
 * rooms to their next owners (with their state under hot swap) and the node leaves the cluster.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import {
  Cluster,
  consoleLogger,
  defineServer,
  GenServer,
  Node,
  ok,
  ProcessHub,
  reply,
  withHandover,
} from "hubvisor";
import { NatsTransport } from "hubvisor/nats";

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const nodeName = env("NODE_NAME");
const migration = env("MIGRATION", "hotSwap");
if (migration !== "hotSwap" && migration !== "coldSwap") throw new Error(`MIGRATION=${migration}?`);

interface RoomProtocol {
  calls: { post(text: string): number; history(): string[] };
}
interface RoomState {
  topic: string;
  messages: string[];
}

/**
 * A room keeps its messages in its process. `withHandover` says what travels when the room moves
 * to another node under hot swap: here the whole state. After a partition heals, two copies may
 * both have taken messages: the handover merges them instead of keeping one side.
 */
const Room = withHandover(
  defineServer<RoomProtocol>()({
    name: "Room",
    init: (topic: string) => ok<RoomState>({ topic, messages: [] }),
    handleCall: {
      post: (text, s) => {
        s.messages.push(text);
        return reply(s.messages.length, s);
      },
      history: (_arg, s) => reply([...s.messages], s),
    },
  }),
  {
    prepareHandoverState: (s) => s,
    receiveHandoverState: (data, mine, info) => {
      const theirs = data as RoomState;
      if (info.reason !== "heal") return theirs;
      return {
        ...mine,
        messages: [...theirs.messages, ...mine.messages.filter((m) => !theirs.messages.includes(m))],
      };
    },
  },
);

const logger = consoleLogger;
const node = new Node({ name: nodeName, logger });
const cluster = await Cluster.join({
  node,
  cluster: env("CLUSTER", "chat"),
  transport: new NatsTransport({ connection: { servers: env("NATS_URL") }, logger }),
  logger,
});
const hub = ProcessHub.start({
  hubId: "rooms",
  cluster,
  behaviours: { Room },
  migration: migration === "hotSwap" ? { type: "hotSwap" } : { type: "coldSwap" },
  logger,
});

// ---------------------------------------------------------------- HTTP API

type Answer = [status: number, body: unknown];

async function route(method: string, path: string, body: string): Promise<Answer> {
  if (method === "GET" && path === "/health")
    return [200, { node: nodeName, members: hub.nodes({ includeLocal: true }).sort() }];
  const m = /^\/rooms\/([\w-]+)(\/messages)?$/.exec(path);
  if (m === null) return [404, { error: "no such route" }];
  const id = m[1]!;
  if (method === "POST" && m[2] === undefined) {
    const r = await hub.startChild({ id, behaviour: "Room", args: id }, { awaitable: true }).await(5000);
    return r.status === "ok" || r.errors.every((e) => e.reason === "already_started")
      ? [200, { id, node: hub.childLookup(id)?.nodes[0]?.node }]
      : [500, { error: r.format() }];
  }
  // The pid comes from this node's replica of the registry, without a network call; the call
  // goes to whichever node runs the room.
  const pid = hub.getPid(id);
  if (pid === undefined) return [404, { error: `no room ${id}` }];
  if (method === "POST")
    return [200, { count: await GenServer.callOn(node, pid, "post", body), node: pid.node }];
  if (method === "GET")
    return [200, { node: pid.node, messages: await GenServer.callOn(node, pid, "history", undefined) }];
  return [405, { error: "method not allowed" }];
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body = "";
  for await (const chunk of req) body += chunk;
  let answer: Answer;
  try {
    answer = await route(req.method ?? "GET", req.url ?? "/", body);
  } catch (e) {
    answer = [503, { error: String(e) }];
  }
  res.writeHead(answer[0], { "content-type": "application/json" }).end(JSON.stringify(answer[1]));
}

const http = createServer((req, res) => void handle(req, res));
await new Promise<void>((resolve) => http.listen(Number(env("HTTP_PORT", "0")), "127.0.0.1", resolve));
const address = http.address();
console.log(
  `${nodeName}: listening on http://127.0.0.1:${typeof address === "object" && address ? address.port : "?"}`,
);

// ---------------------------------------------------------------- graceful leave

let leaving = false;
async function leave(signal: string): Promise<void> {
  if (leaving) return;
  leaving = true;
  console.log(`${nodeName}: ${signal}, leaving`);
  // No new requests; those in flight finish. Then the hub hands its rooms over (hot swap: the new
  // owner gets each room's state before the old copy stops) and the node leaves the cluster.
  http.close();
  await hub.stop();
  await cluster.leave();
  console.log(`${nodeName}: left`);
  process.exit(0);
}
process.once("SIGTERM", () => void leave("SIGTERM"));
process.once("SIGINT", () => void leave("SIGINT"));
