/**
 * A DynamicSupervisor: children started at run time, `extraArguments`, `maxChildren`,
 * restart after a crash, `terminateChild`, and the Supervisor-style queries.
 * Run it with `npx tsx examples/dynamic-supervisor.ts`.
 */
import {
  DynamicSupervisor,
  defineServer,
  exit,
  GenServer,
  Node,
  ok,
  type Pid,
  reply,
  setDefaultNode,
  silentLogger,
} from "hubvisor";

setDefaultNode(new Node({ name: "example", logger: silentLogger }));

interface JobProtocol {
  calls: { describe(): string };
}
// With extraArguments ["pool-a"], every start function gets "pool-a" first, so each job learns its pool.
const Job = defineServer<JobProtocol>()({
  name: "Job",
  init: ([pool, n]: [string, number]) => ok(`${pool}/job-${n}`),
  handleCall: { describe: (_a, s) => reply(s, s) },
});

const sup = await DynamicSupervisor.start({ maxChildren: 3, extraArguments: ["pool-a"], name: "jobs" });
if (!sup.ok) throw new Error("the supervisor did not start");

const pids: Pid[] = [];
for (let n = 1; n <= 4; n++) {
  // A literal spec: the start function receives the extra arguments before its own.
  const r = await DynamicSupervisor.startChild("jobs", {
    start: (pool: string) => GenServer.startLink(Job, [pool, n]),
  });
  if (r.ok && r.pid !== undefined) {
    pids.push(r.pid);
    console.log(`started ${await GenServer.call(r.pid as Pid, "describe")} as ${r.pid}`);
  } else {
    // The fourth start is refused, as OTP returns {error, max_children}.
    console.log(`start ${n} refused: ${JSON.stringify(r)}`);
  }
}

console.log("counts:", await DynamicSupervisor.countChildren("jobs"));

// A permanent child that crashes is restarted under a new pid.
const victim = pids[0]!;
exit(victim, "kill");
let restarted: Pid | undefined;
while (restarted === undefined) {
  const now = await DynamicSupervisor.whichChildren("jobs");
  restarted = now
    .map((c) => c.pid)
    .find((p): p is Pid => typeof p === "object" && !pids.some((q) => q.equals(p)));
  if (restarted === undefined) await new Promise((r) => setTimeout(r, 5));
}
console.log(`killed ${victim}; the supervisor restarted it as ${restarted}`);

console.log(`terminateChild(${pids[1]}) ->`, await DynamicSupervisor.terminateChild("jobs", pids[1]!));
console.log(`terminateChild again ->`, await DynamicSupervisor.terminateChild("jobs", pids[1]!));
console.log("counts:", await DynamicSupervisor.countChildren("jobs"));

await DynamicSupervisor.stop("jobs");
console.log("dynamic-supervisor example: done");
