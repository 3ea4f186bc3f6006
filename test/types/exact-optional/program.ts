/**
 * A user program compiled with `exactOptionalPropertyTypes: true` against the published types
 * (`test/packaging/package.test.ts` copies this folder into a project that installed the built
 * package; the repository's own type-check also compiles it, against the sources). Under that
 * flag `foo?: T` refuses an explicit `undefined`, which programs pass all the time (a setting read
 * from the environment, an option forwarded as is): every option has to say `foo?: T | undefined`.
 *
 * The first half checks every optional property of every option type at once; the second passes
 * `undefined` the way a program does.
 */
import {
  type ApplicationOptions,
  type ChildSpec,
  type ChildSpecOverrides,
  Cluster,
  type ClusterOptions,
  type DistributionStrategy,
  DynamicSupervisor,
  type DynamicSupervisorOptions,
  defineServer,
  GenServer,
  type HubOptions,
  type HubStartOptions,
  type HubStopOptions,
  type HubStrategyOptions,
  type KillOptions,
  type LinkOptions,
  type Logger,
  type MemoryNetworkOptions,
  type MigrationStrategy,
  Node,
  type NodeOptions,
  ok,
  type ParentChildSpec,
  type ParentChildSpecOverrides,
  type ParentOptions,
  type ParentServerOptions,
  type ParentSupervisorOptions,
  type PartitionStrategy,
  ProcessHub,
  type RedundancyStrategy,
  Registry,
  type RegistryOptions,
  type RestartIntensityOptions,
  reply,
  type SpawnOnOptions,
  type SpawnOptions,
  type StartOptions,
  Supervisor,
  type SupervisorOptions,
  type SyncStrategy,
  type TaskChildOptions,
  type TaskOptions,
  type TaskSupervisorAsyncOptions,
  type TaskSupervisorOptions,
} from "hubvisor";
import { type NatsAuthOptions, NatsTransport, type NatsTransportOptions } from "hubvisor/nats";
import { MemoryNetwork } from "hubvisor/testing";

type OptionalKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? K : never }[keyof T];
/** The optional properties of `T` (each member of a union on its own) that refuse `undefined`. */
type RefusingUndefined<T> = T extends unknown
  ? { [K in OptionalKeys<T>]-?: { [P in K]: undefined } extends Pick<T, K> ? never : K }[OptionalKeys<T>]
  : never;
/** `true` when every optional property takes `undefined`; else names the ones that do not. */
type AcceptsUndefined<T> = [RefusingUndefined<T>] extends [never]
  ? true
  : { refuseUndefined: RefusingUndefined<T> };

/** The option types a program passes; nested ones (strategies) listed on their own. */
interface Checked {
  NodeOptions: NodeOptions;
  SpawnOptions: SpawnOptions;
  StartOptions: StartOptions;
  LinkOptions: LinkOptions;
  TaskOptions: TaskOptions;
  SupervisorOptions: SupervisorOptions;
  DynamicSupervisorOptions: DynamicSupervisorOptions;
  RestartIntensityOptions: RestartIntensityOptions;
  TaskSupervisorOptions: TaskSupervisorOptions;
  TaskChildOptions: TaskChildOptions;
  TaskSupervisorAsyncOptions: TaskSupervisorAsyncOptions;
  ParentOptions: ParentOptions;
  ParentServerOptions: ParentServerOptions;
  ParentSupervisorOptions: ParentSupervisorOptions;
  ApplicationOptions: ApplicationOptions;
  RegistryOptions: RegistryOptions;
  ClusterOptions: ClusterOptions;
  SpawnOnOptions: SpawnOnOptions;
  MemoryNetworkOptions: MemoryNetworkOptions;
  KillOptions: KillOptions;
  HubOptions: HubOptions;
  HubStrategyOptions: HubStrategyOptions;
  RedundancyStrategy: RedundancyStrategy;
  PartitionStrategy: PartitionStrategy;
  MigrationStrategy: MigrationStrategy;
  SyncStrategy: SyncStrategy;
  DistributionStrategy: DistributionStrategy;
  HubStartOptions: HubStartOptions;
  HubStopOptions: HubStopOptions;
  NatsTransportOptions: NatsTransportOptions;
  NatsAuthOptions: NatsAuthOptions;
  ChildSpec: ChildSpec;
  ChildSpecOverrides: ChildSpecOverrides;
  ParentChildSpec: ParentChildSpec;
  ParentChildSpecOverrides: ParentChildSpecOverrides;
}

export const everyOptionAcceptsUndefined: { [K in keyof Checked]: AcceptsUndefined<Checked[K]> } = {
  NodeOptions: true,
  SpawnOptions: true,
  StartOptions: true,
  LinkOptions: true,
  TaskOptions: true,
  SupervisorOptions: true,
  DynamicSupervisorOptions: true,
  RestartIntensityOptions: true,
  TaskSupervisorOptions: true,
  TaskChildOptions: true,
  TaskSupervisorAsyncOptions: true,
  ParentOptions: true,
  ParentServerOptions: true,
  ParentSupervisorOptions: true,
  ApplicationOptions: true,
  RegistryOptions: true,
  ClusterOptions: true,
  SpawnOnOptions: true,
  MemoryNetworkOptions: true,
  KillOptions: true,
  HubOptions: true,
  HubStrategyOptions: true,
  RedundancyStrategy: true,
  PartitionStrategy: true,
  MigrationStrategy: true,
  SyncStrategy: true,
  DistributionStrategy: true,
  HubStartOptions: true,
  HubStopOptions: true,
  NatsTransportOptions: true,
  NatsAuthOptions: true,
  ChildSpec: true,
  ChildSpecOverrides: true,
  ParentChildSpec: true,
  ParentChildSpecOverrides: true,
};

/** Settings as a program reads them: any of them may be missing. */
interface Settings {
  nodeName: string | undefined;
  logger: Logger | undefined;
  timeoutMs: number | undefined;
  serverName: string | undefined;
  maxRestarts: number | undefined;
  natsUrl: string | undefined;
}

const Echo = defineServer<{ calls: { echo(x: string): string } }>()({
  init: () => ok(null),
  handleCall: { echo: (x, s) => reply(x, s) },
});

/**
 * Starts a server, supervisors, a registry, a one-node cluster with a hub and a NATS transport
 * object, passing whatever `settings` holds (here: nothing) straight through, then stops it all.
 * Run by `test/types/exact-optional.test.ts`: an explicit `undefined` must mean "the default" at
 * run time too, not only type-check.
 */
export async function program(settings: Settings): Promise<string[]> {
  const done: string[] = [];
  const node = new Node({ name: settings.nodeName, logger: settings.logger, batch: undefined });
  const server = await GenServer.start(Echo, undefined, {
    name: settings.serverName,
    node,
    timeoutMs: settings.timeoutMs,
  });
  if (server.ok) done.push(`call: ${await GenServer.callOn(node, server.pid, "echo", "hi")}`);
  const sup = await Supervisor.start([], {
    strategy: "one_for_one",
    maxRestarts: settings.maxRestarts,
    maxSeconds: undefined,
    name: undefined,
    node,
  });
  if (sup.ok) done.push("supervisor");
  const dyn = await DynamicSupervisor.start({
    maxChildren: undefined,
    maxRestarts: settings.maxRestarts,
    node,
  });
  if (dyn.ok) done.push("dynamic supervisor");
  const registry = await Registry.start({ keys: "unique", name: "reg", partitions: undefined, node });
  if (registry.ok) done.push("registry");
  const network = new MemoryNetwork({ timeoutMs: undefined });
  const cluster = await Cluster.join({
    node,
    cluster: "app",
    transport: network.transport(node),
    logger: settings.logger,
  });
  const hub = ProcessHub.start({
    hubId: "h",
    cluster,
    behaviours: { Echo },
    logger: settings.logger,
    migration: { type: "hotSwap", retentionMs: undefined, handoverTimeoutMs: settings.timeoutMs },
    partition: undefined,
    syncIntervalMs: undefined,
  });
  const started = await hub
    .startChildren([{ id: "e", behaviour: "Echo" }], { awaitable: true, timeoutMs: settings.timeoutMs })
    .await();
  done.push(`hub start: ${started.status}`);
  const stopped = await hub.stopChildren(["e"], { awaitable: true, timeoutMs: settings.timeoutMs }).await();
  done.push(`hub stop: ${stopped.status}`);
  await hub.stop();
  await cluster.leave();
  void new NatsTransport({
    heartbeatIntervalMs: settings.timeoutMs,
    logger: settings.logger,
    connection: { servers: settings.natsUrl ?? "nats://127.0.0.1:4222" },
  });
  return done;
}
