/**
 * Parent: children bound to each other (`bindsTo`), a shutdown group, an ephemeral child,
 * `ParentClient` from another process and the synchronous `ParentRegistry` reads.
 * Run it with `npx tsx examples/parent.ts`.
 *
 *   db ← cache, api      (bound: when db stops, they stop too, and all restart together)
 *   ws1, ws2             (one shutdown group: they stop and restart as one)
 *   job                  (ephemeral: removed for good when it ends)
 */
import {
  defineParentServer,
  defineServer,
  exit,
  GenServer,
  Node,
  ok,
  Parent,
  ParentClient,
  ParentGenServer,
  ParentRegistry,
  ParentSupervisor,
  type Pid,
  reply,
  setDefaultNode,
  silentLogger,
  stop,
} from "hubvisor";

setDefaultNode(new Node({ name: "example", logger: silentLogger }));

interface WorkerProtocol {
  calls: { name(): string };
  casts: { finish(): void };
}
const Worker = defineServer<WorkerProtocol>()({
  name: "Worker",
  init: (name: string) => ok(name),
  handleCall: { name: (_a, s) => reply(s, s) },
  handleCast: { finish: (_a, s) => stop("normal", s) },
});
const worker = (id: string, extra: object = {}) => ({
  id,
  start: () => GenServer.startLink(Worker, id),
  ...extra,
});

const started = await ParentSupervisor.start(
  [
    worker("db"),
    worker("cache", { bindsTo: ["db"] }),
    worker("api", { bindsTo: ["db"] }),
    worker("ws1", { shutdownGroup: "ws" }),
    worker("ws2", { shutdownGroup: "ws" }),
    worker("other"),
  ],
  { name: "app", registry: true, maxRestarts: 10, maxSeconds: 5 },
);
if (!started.ok) throw new Error("the parent did not start");

const pids = () =>
  new Map(ParentRegistry.children("app").map((c) => [String(c.id), c.pid as Pid | undefined]));
const moved = (before: Map<string, Pid | undefined>) =>
  [...pids()].filter(([id, pid]) => !pid?.equals(before.get(id)!)).map(([id]) => id);

async function crashAndWait(id: string): Promise<string[]> {
  const before = pids();
  exit(before.get(id)!, "kill");
  // The registry is read in place (no message), so polling it is cheap.
  while (moved(before).length === 0 || [...pids().values()].some((p) => p === undefined))
    await new Promise((r) => setTimeout(r, 5));
  return moved(before);
}

console.log(
  "children:",
  ParentRegistry.children("app")
    .map((c) => c.id)
    .join(", "),
);
console.log("crash db  -> restarted:", (await crashAndWait("db")).join(", "));
console.log("crash ws1 -> restarted:", (await crashAndWait("ws1")).join(", "));
console.log("crash api -> restarted:", (await crashAndWait("api")).join(", "));

// shutdownChild stops the closure (db and what is bound to it); returnChildren puts it back.
const stopped = await ParentClient.shutdownChild("app", "db");
if (stopped.ok) {
  console.log("shutdownChild(db) stopped:", [...stopped.stopped.keys()].join(", "));
  await ParentClient.returnChildren("app", stopped.stopped);
  console.log("returned; db is", ParentRegistry.childPid("app", "db"));
}

// An ephemeral child leaves the parent when it ends, instead of staying with an undefined pid.
const job = await ParentClient.startChild("app", {
  id: "job",
  start: () => GenServer.startLink(Worker, "job"),
  restart: "temporary",
  ephemeral: true,
});
console.log("started ephemeral job:", job.ok);
GenServer.cast(ParentClient.via("app", "job"), "finish");
while (ParentRegistry.childPid("app", "job").ok) await new Promise((r) => setTimeout(r, 5));
console.log("job ended; childPid(job) ->", ParentRegistry.childPid("app", "job"));

// A child by id as a via-name, and Supervisor-shaped queries.
console.log("call via(app, api) ->", await GenServer.call(ParentClient.via("app", "api"), "name"));
console.log("countChildren ->", await ParentClient.countChildren("app"));

await GenServer.stop("app");

// A custom parent: an ordinary GenServer behaviour that is also a parent. It starts its own
// children in init and answers its own calls about them.
const Pool = defineParentServer<{ calls: { size(): number } }>()({
  name: "Pool",
  async init(size: number, ctx) {
    const parent = Parent.of(ctx);
    for (let i = 0; i < size; i++) await parent.startChild(worker(`runner-${i}`));
    return ok(null);
  },
  handleCall: { size: (_a, s, ctx) => reply(Parent.of(ctx).countChildren().active, s) },
});
const pool = await ParentGenServer.start(Pool, 3, { name: "pool" });
console.log("custom parent started:", pool.ok, "size ->", await GenServer.call("pool", "size"));
await GenServer.stop("pool");
console.log("parent example: done");
