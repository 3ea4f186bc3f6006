/**
 * KVServer: the TCP side. An acceptor (a GenServer that owns the listening socket) starts one
 * task per connection under the `kv-tasks` TaskSupervisor; the task reads lines and answers them.
 *
 * A socket is not a process: nothing in the runtime closes it when the task serving it dies. So
 * the acceptor monitors every connection task and destroys its socket on the DOWN, whatever
 * killed the task (its own crash, a kill, its supervisor shutting it down). When the acceptor
 * stops (the application shutting down, youngest child first) it closes the listener and every
 * connection still open.
 */
import { createServer, type Server, type Socket } from "node:net";
import {
  defineServer,
  isDownMessage,
  noreply,
  ok,
  type ProcessContext,
  reply,
  TaskSupervisor,
} from "hubvisor";
import { parse, run } from "./command.js";

export const TASKS = "kv-tasks";
export const ACCEPTOR = "kv-acceptor";

/** What a connection's socket tells its task, as messages in the task's mailbox. */
type SocketEvent = { tag: "data"; chunk: string } | { tag: "closed" };
const isSocketEvent = (m: unknown): m is SocketEvent =>
  typeof m === "object" &&
  m !== null &&
  ((m as SocketEvent).tag === "data" || (m as SocketEvent).tag === "closed");

/** The loop of one connection's task: one answer per line, until the client hangs up. */
export async function serve(ctx: ProcessContext, socket: Socket): Promise<void> {
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => ctx.send(ctx.self, { tag: "data", chunk }));
  socket.on("close", () => ctx.send(ctx.self, { tag: "closed" }));
  socket.on("error", () => {}); // "close" follows
  let buffered = "";
  for (;;) {
    const event = (await ctx.receive(isSocketEvent)) as SocketEvent;
    if (event.tag === "closed") return;
    buffered += event.chunk;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const command = parse(line);
      socket.write(command === undefined ? "UNKNOWN COMMAND\r\n" : await run(ctx.node, command));
    }
  }
}

export interface AcceptorOptions {
  /** 0 picks a free port; `port()` says which. */
  port: number;
  host?: string | undefined;
}

interface State {
  server: Server;
  port: number;
  /** Monitor ref (its key) of a connection task → the socket it serves. */
  sockets: Map<string, Socket>;
}

type Accepted = { tag: "accepted"; socket: Socket };
const isAccepted = (m: unknown): m is Accepted =>
  typeof m === "object" && m !== null && (m as Accepted).tag === "accepted";

export const Acceptor = defineServer<{ calls: { port(): number } }>()({
  name: "KVServer.Acceptor",
  init: async (options: AcceptorOptions, ctx) => {
    const server = createServer((socket) => ctx.send(ctx.self, { tag: "accepted", socket }));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host ?? "127.0.0.1", resolve);
    });
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : options.port;
    return ok<State>({ server, port, sockets: new Map() });
  },
  handleCall: { port: (_arg, s) => reply(s.port, s) },
  handleInfo: async (msg, s, ctx) => {
    if (isAccepted(msg)) {
      const started = await TaskSupervisor.startChild(TASKS, (task) => serve(task, msg.socket));
      if (!started.ok || started.pid === undefined) msg.socket.destroy();
      // A task that already ended is monitored all the same: its DOWN comes at once (noproc).
      else s.sockets.set(ctx.monitor(started.pid).key, msg.socket);
    } else if (isDownMessage(msg)) {
      s.sockets.get(msg.ref.key)?.destroy();
      s.sockets.delete(msg.ref.key);
    }
    return noreply(s);
  },
  terminate: (_reason, s) => {
    s.server.close();
    for (const socket of s.sockets.values()) socket.destroy();
  },
});
