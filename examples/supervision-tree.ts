/**
 * A supervision tree that crashes and recovers, printing what happens. Run it with
 * `npx tsx examples/supervision-tree.ts` (Ctrl-C stops the tree in order at any time).
 *
 *   root (one_for_one)
 *   ├── config            a worker holding settings
 *   ├── pool              a DynamicSupervisor of workers started at run time
 *   └── pipeline          a rest_for_one Supervisor: producer → consumer
 */
import {
  childSpec,
  DynamicSupervisor,
  defaultNode,
  defineServer,
  exit,
  type Logger,
  Node,
  ok,
  type Pid,
  reply,
  Supervisor,
  setDefaultNode,
  startApplication,
} from "hubvisor";

const say = (line: string): void => console.log(line);

/** Prints the supervisors' reports as one readable line each. */
const printer: Logger = {
  error: (o, msg) => {
    if (msg.startsWith("supervisor:")) say(`  ! ${msg.slice(12)}: ${o.id ?? o.pid} (${o.reason})`);
  },
  warn: () => {},
  info: (o, msg) => {
    if (msg.startsWith("supervisor:")) say(`  + ${msg.slice(12)}: ${o.id ?? "a pool worker"} as ${o.pid}`);
    else if (msg.startsWith("application")) say(`  * ${msg}`);
  },
  debug: () => {},
};
setDefaultNode(new Node({ name: "demo", logger: printer }));

interface NamedProtocol {
  calls: { name(): string };
}
/** A worker that knows its name and says when it starts and stops. */
const Named = defineServer<NamedProtocol>()({
  name: "Named",
  init: (name: string) => {
    say(`    ${name} started`);
    return ok(name);
  },
  handleCall: { name: (_a, n) => reply(n, n) },
  terminate: (reason, n) => say(`    ${n} stopped (${typeof reason === "string" ? reason : "crash"})`),
});
const named = (id: string) => childSpec(Named, id, { id, startOptions: { name: id, trapExit: true } });

async function tree(sup: Pid, indent = ""): Promise<void> {
  for (const c of (await Supervisor.whichChildren(sup)).reverse()) {
    say(`${indent}${String(c.id ?? "(dynamic)")}  ${String(c.pid)}  ${c.type}`);
    if (c.type === "supervisor" && typeof c.pid === "object") await tree(c.pid, `${indent}    `);
  }
}

async function until(what: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await what())) await new Promise((r) => setTimeout(r, 5));
}

const crash = async (name: string): Promise<void> => {
  const pid = defaultNode().whereis(name)!;
  say(`\n>>> crashing ${name} ${pid}`);
  exit(pid, "kill");
  await until(() => {
    const now = defaultNode().whereis(name);
    return now !== undefined && !now.equals(pid);
  });
};

say(">>> starting the tree");
const app = await startApplication(
  [
    named("config"),
    {
      id: "pool",
      type: "supervisor",
      start: () => DynamicSupervisor.startLink({ maxChildren: 10, name: "pool" }),
    },
    {
      id: "pipeline",
      type: "supervisor",
      start: () =>
        Supervisor.startLink([named("producer"), named("consumer")], {
          strategy: "rest_for_one",
          maxRestarts: 2,
          maxSeconds: 10,
          name: "pipeline",
        }),
    },
  ],
  { strategy: "one_for_one" },
  // The application ends the program when it stops (signal or app.stop()); say so first.
  {
    exit: (code) => {
      say(`\n>>> done (exit code ${code})`);
      process.exit(code);
    },
  },
);

say("\n>>> adding three workers to the pool");
for (const n of ["job-1", "job-2", "job-3"]) await DynamicSupervisor.startChild("pool", named(n));
say("");
await tree(app.pid);

await crash("consumer"); // rest_for_one: only the consumer comes back
await crash("producer"); // rest_for_one: the consumer is restarted after the producer
await crash("job-2"); // the pool restarts just that worker

say("\n>>> crashing the producer again: the pipeline passes its 2 restarts in 10 s, gives up,");
say(">>> and the root restarts the whole pipeline");
const pipeline = defaultNode().whereis("pipeline")!;
exit(defaultNode().whereis("producer")!, "kill");
await until(() => {
  const now = defaultNode().whereis("pipeline");
  return now !== undefined && !now.equals(pipeline) && defaultNode().whereis("consumer") !== undefined;
});

say("\n>>> the tree now");
await tree(app.pid);

say("\n>>> stopping the application: children stop one by one, youngest first");
await app.stop();
