/**
 * Task: run work in its own process and await its result (`Task.async` / `Task.await`,
 * `awaitMany`, `yield`), and a TaskSupervisor for supervised and fire-and-forget tasks.
 * Run it with `npx tsx examples/task.ts`.
 */
import {
  Node,
  type Pid,
  setDefaultNode,
  silentLogger,
  spawn,
  Task,
  TaskExitError,
  TaskSupervisor,
} from "hubvisor";

setDefaultNode(new Node({ name: "example", logger: silentLogger }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Tasks are linked to their owner, so this runs inside a process: a crashing linked task would
// take the owner down with it, exactly as in Elixir.
const finished = new Promise<void>((resolve, reject) => {
  spawn(async (ctx) => {
    try {
      const square = Task.async(async () => {
        await sleep(10);
        return 7 * 7;
      });
      console.log(`Task.await -> ${await Task.await(square, 1000)}`);

      // After an await the runtime no longer knows the calling process: pass `owner: ctx`.
      const parts = [1, 2, 3].map((n) => Task.async(() => n * 10, { owner: ctx }));
      console.log(`Task.awaitMany -> ${await Task.awaitMany(parts, 1000)}`);

      // yield gives the outcome or undefined, without failing on a timeout.
      const slow = Task.async(() => sleep(5000), { owner: ctx });
      console.log(`Task.yield (20 ms) -> ${await Task.yield(slow, 20)}`);
      console.log(`Task.shutdown ->`, await Task.shutdown(slow, "brutalKill"));
      resolve();
    } catch (e) {
      reject(e);
    }
  });
});
await finished;

// A TaskSupervisor owns the tasks; asyncNolink keeps a crash from reaching the caller, and the
// await reports it as TaskExitError instead.
const sup = await TaskSupervisor.start({ name: "tasks" });
if (!sup.ok) throw new Error("no task supervisor");

await new Promise<void>((resolve, reject) => {
  spawn(async (ctx) => {
    try {
      const good = await TaskSupervisor.async("tasks", () => "fine", { owner: ctx });
      console.log(`TaskSupervisor.async -> ${await Task.await(good, 1000)}`);
      const bad = await TaskSupervisor.asyncNolink(
        "tasks",
        () => {
          throw new Error("boom");
        },
        { owner: ctx },
      );
      try {
        await Task.await(bad, 1000);
      } catch (e) {
        if (!(e instanceof TaskExitError)) throw e;
        console.log(`asyncNolink crash -> ${e.code}: ${(e.reason as Error).message}`);
      }
      resolve();
    } catch (e) {
      reject(e);
    }
  });
});

// startChild: fire and forget; the supervisor keeps it until it ends.
let ran = false;
const child = await TaskSupervisor.startChild("tasks", () => {
  ran = true;
});
while (!ran) await sleep(5);
console.log(`TaskSupervisor.startChild ran: ${ran} (${child.ok ? (child.pid as Pid) : "refused"})`);
while ((await TaskSupervisor.children("tasks")).length > 0) await sleep(5);
console.log("the supervisor forgot it once it ended (temporary)");

await TaskSupervisor.stop("tasks");
console.log("task example: done");
