/**
 * Type tests of child specs: compiled by `npm run typecheck` (never executed). Each
 * `@ts-expect-error` line must fail to compile; if it ever compiles, tsc reports the unused
 * directive and the suite fails. Runtime validation (a named `ChildSpecError` for JavaScript
 * callers) is tested in test/supervision.
 */
import {
  type ChildSpec,
  childSpec,
  DynamicSupervisor,
  defineServer,
  GenServer,
  ok,
  Parent,
  ParentClient,
  parentChildSpec,
  ParentSupervisor,
  type Pid,
  ProcessHub,
  Supervisor,
  TaskSupervisor,
} from "../../src/index.js";

const Worker = defineServer<{}>()({ name: "Worker", init: (n: number) => ok(n) });
const start = () => GenServer.startLink(Worker, 1);

export async function supervisorSpecs(sup: Pid): Promise<void> {
  // What compiles: literal specs, built specs, nested supervisors, a task supervisor.
  await Supervisor.startLink(
    [
      { id: "a", start, restart: "transient", shutdown: "brutal_kill", type: "worker" },
      { id: "b", start, restart: undefined, shutdown: undefined },
      childSpec(Worker, 2),
      Supervisor.childSpec("nested", [{ id: "c", start }], { strategy: "one_for_all" }),
      DynamicSupervisor.childSpec("pool"),
      TaskSupervisor.childSpec({ name: "tasks" }),
      ProcessHub.childSpec({ hubId: "rooms" }),
    ],
    { strategy: "one_for_one" },
  );
  const specs: ChildSpec[] = [{ id: "a", start }];
  await Supervisor.start(specs, { strategy: "rest_for_one" });
  await Supervisor.startChild(sup, { id: "d", start, significant: false });
  await DynamicSupervisor.startChild(sup, { start, restart: "temporary" });
  await DynamicSupervisor.startChild(sup, childSpec(Worker, 3));

  // @ts-expect-error a misspelt restart type
  await Supervisor.startLink([{ id: "a", start, restart: "permanant" }], { strategy: "one_for_one" });
  // @ts-expect-error a misspelt restart type
  await Supervisor.start([{ id: "a", start, restart: "permanant" }], { strategy: "one_for_one" });
  // @ts-expect-error brutal kill is spelt "brutal_kill"
  await Supervisor.startChild(sup, { id: "a", start, shutdown: "brutalKill" });
  // @ts-expect-error a child spec is an object with a start function
  await Supervisor.startChild(sup, "worker");
  // @ts-expect-error a child spec needs a start function
  await DynamicSupervisor.startChild(sup, { id: "a" });
  // @ts-expect-error a misspelt restart type
  await DynamicSupervisor.startChild(sup, { start, restart: "permanant" });
  // @ts-expect-error a start function returns a start result or a pid
  await DynamicSupervisor.startChild(sup, { start: () => "started" });
  // @ts-expect-error the type of a child is "worker" or "supervisor"
  await Supervisor.startLink([{ id: "a", start, type: "server" }], { strategy: "one_for_one" });
  // @ts-expect-error a nested supervisor's children are child specs
  Supervisor.childSpec("nested", [42], { strategy: "one_for_one" });
  // @ts-expect-error a module supervisor's init returns child specs
  await Supervisor.start({ init: () => ({ strategy: "one_for_one", children: [{ id: "a" }] }) }, undefined);
  // @ts-expect-error Worker's init takes a number
  childSpec(Worker, "two");
  // @ts-expect-error TaskSupervisor.childSpec's overrides cannot replace the start function
  TaskSupervisor.childSpec({}, { start });
}

export async function parentSpecs(sup: Pid): Promise<void> {
  await ParentSupervisor.startLink([
    { id: "a", start, restart: "transient", ephemeral: true, bindsTo: ["b"], timeoutMs: 1000 },
    parentChildSpec(Worker, 1, { id: "w" }),
  ]);
  await ParentClient.startChild(sup, { start, meta: { any: "value" } });

  // @ts-expect-error a misspelt restart type
  await ParentSupervisor.startLink([{ id: "a", start, restart: "permanant" }]);
  // @ts-expect-error a misspelt restart type
  await ParentSupervisor.start([{ id: "a", start, restart: "permanant" }]);
  // @ts-expect-error ephemeral is a boolean
  await ParentClient.startChild(sup, { start, ephemeral: "yes" });
  // @ts-expect-error a Parent child spec needs a start function
  await ParentClient.startChild(sup, { id: "a" });
  // @ts-expect-error a misspelt shutdown
  await Parent.startChild({ start, shutdown: "brutalKill" });
  // @ts-expect-error Worker's init takes a number
  parentChildSpec(Worker, "one");
}
