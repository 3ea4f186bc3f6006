/**
 * `ProcessHub`: the public face of a hub on one node. `ProcessHub.start({ hubId, node, ... })`
 * spawns the hub process (registered as `hubvisor.hub.<hubId>`) and returns a handle; nodes
 * running the same hub id find each other through cluster membership and form one hub. The
 * handle starts and stops children anywhere in the hub (asynchronous by default, `awaitable`
 * for a `Future` of a `StartResult` / `StopResult`), answers registry queries locally, and
 * manages hooks. Imports `process`, the root `logger`, and the hub's files.
 */
import { InvalidOptionError } from "../errors.js";
import { type Logger, consoleLogger } from "../logger.js";
import { ExitMessage } from "../process/messages.js";
import { currentNodeOrDefault, type Node, ProcessContext } from "../process/index.js";
import type { Pid } from "../process/pid.js";
import type { Protocol, ServerRef } from "../server/protocol.js";
import { checkpointSlotOf, childIdOf } from "./child-id.js";
import { checkpointOptionsOf } from "./durable/checkpointed.js";
import { Checkpoints } from "./durable/checkpoints.js";
import { ParkedHandovers } from "./durable/parked-handover.js";
import type { HubChildSpec, NormalizedChildSpec } from "./child-spec.js";
import { awaitSettled } from "./entities/settle.js";
import { HubRef } from "./entities/ref.js";
import { EntityRouter, type EntityStats } from "./entities/router.js";
import { ChildNotRunningError } from "./entities/errors.js";
import { parseEntityOptions, parseTimeout } from "./entities/options.js";
import type { ProtocolOf } from "./entities/entity.js";
import { checkpointBlobs, checkpointBucket } from "./durable/checkpoint-bucket.js";
import { Durability } from "./durable/durability.js";
import { fenceHub } from "./durable/fenced-hub.js";
import type { Fence } from "./durable/fencing.js";
import { parseDurability } from "./durable/options.js";
import { HubAlreadyStartedError, HubStoppedError, NoChildrenError, UnknownHubError } from "./errors.js";
import { Future } from "./future.js";
import { type HookRegistration, type HubHookHandler, type HubHookName, HubHooks } from "./hooks.js";
import { checkHubName } from "../cluster/names.js";
import { HubCore, HubSignal, hubProcessName } from "./hub-core.js";
import type { ChildLookup } from "./hub-registry.js";
import type { DrainResult, StartItem } from "./messages.js";
import { clusterMembership, NO_PEERS } from "./membership.js";
import {
  type HubOptions,
  type HubSupervisorChildSpec,
  type StartInitiated,
  type StopInitiated,
  stripStrategies,
} from "./hub-options.js";
import {
  groupStarts,
  groupStartSteps,
  prepareSpec,
  prepareSpecs,
  resolveMapping,
  rollback,
} from "./start-request.js";
import {
  parseHubTuning,
  parseStartOptions,
  parseStopOptions,
  type StartOptions,
  type StopOptions,
} from "./options.js";
import { type NodePid, StartResult, type StopResult } from "./results.js";
import { HubPartitionedError } from "./strategies/errors.js";
import { parseStrategies } from "./strategies/options.js";

export type { HubOptions, HubSupervisorChildSpec, StartInitiated, StopInitiated } from "./hub-options.js";

/** Options of `hub.ref`. */
export interface HubRefOptions {
  /** Deadline of each call, cast and send through the reference, in ms. @default `entities.callTimeoutMs` */
  timeoutMs?: number | undefined;
  /**
   * Start the child on its owner when a message finds no instance (a virtual actor): the spec
   * it starts with, without its id (the reference's). @default undefined (wait for a start)
   */
  activate?: Omit<HubChildSpec, "id"> | undefined;
}

const hubsByNode = new WeakMap<Node, Map<string, ProcessHub>>();

/**
 * A hub on one node.
 * @category hub
 */
export class ProcessHub {
  /** @internal */
  readonly core: HubCore;
  readonly hooks: HubHooks;
  /** @internal */
  readonly entities: EntityRouter;
  /** @internal The declarations and reconcile of a durable hub (`durability`), else null. */
  durable: Durability | null = null;
  /** @internal The fence of a fenced durable hub (`durability.fencing`), else null. */
  fence: Fence | null = null;
  /** Behaviours this node or a member registered: what `ensure` and `activate` may start. */
  private readonly known = { has: (b: string) => this.core.behaviours.has(b) || this.core.view.anyHas(b) };

  private constructor(core: HubCore, entities: EntityRouter) {
    this.core = core;
    this.hooks = core.hooks;
    this.entities = entities;
    core.onRegistryChanges = (c) => entities.onChanges(c);
  }

  /** Starts hub `hubId` on a node. Throws `HubAlreadyStartedError` if it already runs there. */
  static start(options: HubOptions): ProcessHub {
    const { hubId, cluster, behaviours = {}, childSpecs = [] } = options;
    const ctx = options.linkTo instanceof ProcessContext ? options.linkTo : undefined;
    const node = options.node ?? cluster?.node ?? ctx?.node ?? currentNodeOrDefault();
    const linkTo = ctx !== undefined ? ctx.self : (options.linkTo as Pid | undefined);
    const membership = options.membership ?? (cluster !== undefined ? clusterMembership(cluster) : NO_PEERS);
    if (typeof hubId !== "string" || hubId.length === 0) throw new UnknownHubError(String(hubId), node.name);
    checkHubName(hubId);
    let hubs = hubsByNode.get(node);
    if (hubs === undefined) hubsByNode.set(node, (hubs = new Map()));
    if (hubs.has(hubId)) throw new HubAlreadyStartedError(hubId, node.name);
    const tuning = parseHubTuning(stripStrategies(options));
    const strategies = parseStrategies(options);
    const durability = options.durability === undefined ? undefined : parseDurability(options.durability);
    // Fencing promises one copy: replicas are copies by design.
    if (durability?.fencing != null && strategies.redundancy.factor !== 1)
      throw new InvalidOptionError(
        "durability.fencing",
        "a hub with singularity redundancy",
        strategies.redundancy.factor,
      );
    const logger = options.logger ?? node.logger ?? consoleLogger;
    const hooks = hooksOf(options, logger);
    hooks.publishAs(node.name, hubId);
    const bmap = new Map(Object.entries(behaviours));
    const core = new HubCore(hubId, node, membership, bmap, tuning, hooks, logger, strategies);
    const hub = new ProcessHub(core, new EntityRouter(core, parseEntityOptions(options.entities)));
    // Before the hub process exists: no start may reach it unfenced.
    const fenced =
      durability?.fencing != null
        ? fenceHub(core, durability.store, () => hub.durable, durability.fencing)
        : null;
    hub.fence = fenced?.fence ?? null;
    const specs = childSpecs.map((s) => prepareSpec(bmap, s, undefined));
    if (durability !== undefined) for (const s of specs) Durability.check(s);
    const handle = linkTo === undefined ? core.handle : supervisedHandle(core, linkTo, () => pid);
    const { pid } = node.spawnHandler(handle, () => core.init(pid), {
      name: hubProcessName(hubId),
      trapExit: true,
      link: linkTo ?? false,
      behaviour: "ProcessHub",
    });
    core.pid = pid;
    // A peer must not stop this node's hub by naming its pid: remote exits only through links.
    const proc = node.proc(pid);
    if (proc !== undefined) {
      proc.linkedRemoteExitsOnly = true;
      // Peers' messages say who sent them (`from`): one that names a third node is refused.
      proc.senderField = "from";
    }
    if (durability !== undefined) {
      const durable = new Durability(core, durability);
      hub.durable = durable;
      core.durable = durable;
      const bucket = checkpointBucket(durable, durability.store, hubId);
      core.checkpoints = new Checkpoints(core, bucket, checkpointBlobs(durability.store, hubId));
      // Fenced, a hot swap stops the old copy before the new one starts: its state waits there.
      if (fenced !== null) core.handovers = new ParkedHandovers(hubId, node.name, logger, bucket);
    } else warnCheckpointsWithoutStore(core);
    node.onExit(pid, () => {
      core.exited();
      fenced?.remove();
      hub.durable?.close();
      core.checkpoints?.close();
      hub.entities.close();
      if (hubsByNode.get(node)?.get(hubId) === hub) hubsByNode.get(node)!.delete(hubId);
    });
    hubs.set(hubId, hub);
    if (specs.length > 0) {
      // Static children: every node asks for them once it knows its peers; owners treat repeats
      // as already running. A durable hub declares them first, keeping a stop made since.
      core.onFirstSettled(() =>
        hub.durable !== null
          ? void hub.durable.declareStatic(specs)
          : core.requests.start(groupStarts(core, specs, undefined), {
              timeoutMs: tuning.migrationTimeoutMs,
              ensure: true,
            }),
      );
    }
    return hub;
  }

  /**
   * A child spec starting this hub under a supervision tree (id `ProcessHub:<hubId>` unless
   * given, type `supervisor`, restart `permanent`, shutdown `infinity` unless given). A start
   * that throws (bad options, hub already running) answers `{ ok: false, error }`.
   */
  static childSpec(
    options: Omit<HubOptions, "linkTo"> &
      Partial<Pick<HubSupervisorChildSpec, "id" | "restart" | "shutdown">>,
  ): HubSupervisorChildSpec {
    const { id, restart, shutdown, ...hubOptions } = options;
    return {
      id: id ?? `ProcessHub:${options.hubId}`,
      start: () => {
        const node = hubOptions.node ?? hubOptions.cluster?.node ?? currentNodeOrDefault();
        const parent = node.self();
        try {
          const hub = ProcessHub.start({ ...hubOptions, node, linkTo: parent.id === 0 ? undefined : parent });
          return { ok: true, pid: hub.pid };
        } catch (error) {
          return { ok: false, error };
        }
      },
      restart: restart ?? "permanent",
      shutdown: shutdown ?? "infinity",
      type: "supervisor",
      modules: ["ProcessHub"],
    };
  }

  /** The hub `hubId` on `node`; throws `UnknownHubError` if it does not run there. */
  static get(hubId: string, node: Node = currentNodeOrDefault()): ProcessHub {
    const hub = hubsByNode.get(node)?.get(hubId);
    if (hub === undefined) throw new UnknownHubError(hubId, node.name);
    return hub;
  }

  /** The hub `hubId` on `node`, or undefined. */
  static whereis(hubId: string, node: Node = currentNodeOrDefault()): ProcessHub | undefined {
    return hubsByNode.get(node)?.get(hubId);
  }

  /**
   * The hub child id of the GenServer whose context is `ctx` — a hub child's `init` and every
   * later callback learn their own id this way (`ProcessHub.childId(ctx)`); undefined for a
   * server that is no hub child. A `ChildStarter` gets the id as `start(args, { childId })`.
   */
  static childId(ctx: ProcessContext): string | undefined {
    return childIdOf(ctx);
  }

  /**
   * Stores `state` as the last checkpoint of the checkpointed hub child whose context is `ctx`
   * (`withCheckpoints`, in a durable hub): written at most once per its `debounceMs`, the latest
   * state winning, and given to its `init` (`lastCheckpoint`) when it starts again after a crash,
   * a failover, a move or a passivation. Throws `CheckpointTooLargeError` past its `maxBytes`
   * and `UnserialisableError` for what cannot be encoded (the last stored checkpoint stays).
   * Does nothing for a server that is no checkpointed child of a durable hub. Store failures are
   * retried and reported on the hook `checkpointFailed`, never thrown here.
   */
  static checkpoint(ctx: ProcessContext, state: unknown): void {
    const slot = checkpointSlotOf(ctx);
    if (slot !== undefined) slot.owner.checkpoint(slot, state);
  }

  /**
   * The last checkpoint stored for the checkpointed hub child whose context is `ctx`, as read
   * before this instance started (undefined when there is none: a first start, a start after a
   * stop, a hub without durability). Read it in `init`.
   */
  static lastCheckpoint<S = unknown>(ctx: ProcessContext): S | undefined {
    return checkpointSlotOf(ctx)?.restored?.state as S | undefined;
  }

  get hubId(): string {
    return this.core.hubId;
  }

  get node(): Node {
    return this.core.node;
  }

  /** The hub process. */
  get pid(): Pid {
    return this.core.pid;
  }

  isAlive(): boolean {
    return this.core.alive && this.core.node.isAlive(this.core.pid);
  }

  /** True while the hub handles a topology change. */
  isLocked(): boolean {
    return this.core.locked;
  }

  /** Hub nodes (other nodes running this hub), with this one when `includeLocal`. */
  nodes(options: { includeLocal?: boolean } = {}): string[] {
    const others = [...this.core.members.keys()];
    return (options.includeLocal ? [this.core.self, ...others] : others).sort();
  }

  /** True while this node has lost its partition-tolerance quorum (see `partition`). */
  isPartitioned(): boolean {
    return this.core.partitioned;
  }

  /**
   * Majority / dynamic quorum: forget the largest hub size seen (and the down log) after an
   * intended downsize; the new baseline is `size` (default: the hub's current size).
   */
  resetClusterSize(size?: number): void {
    this.assertAlive();
    this.core.post({ t: "$quorum_reset", size });
  }

  /**
   * The nodes that should run `id` (its replicas under the redundancy strategy), owner first: on
   * the ring of the nodes that registered its behaviour when `id` is registered (or `behaviour`
   * is given), else on the ring of all members.
   */
  replicasOf(id: string, behaviour?: string): string[] {
    const b = behaviour ?? this.core.registry.lookup(id)?.spec.behaviour;
    return b === undefined ? this.core.view.replicas(id) : this.core.view.replicasOf(id, b);
  }

  /** The node that owns `id` (the first of `replicasOf`; this node when no member can run it). */
  ownerOf(id: string, behaviour?: string): string {
    return this.replicasOf(id, behaviour)[0] ?? this.core.self;
  }

  // ------------------------------------------------------------------ start / stop

  startChildren(specs: HubChildSpec[], options: StartOptions & { awaitable: true }): Future<StartResult>;
  startChildren(specs: HubChildSpec[], options?: StartOptions & { awaitable?: false }): StartInitiated;
  startChildren(specs: HubChildSpec[], options?: StartOptions): StartInitiated | Future<StartResult>;
  /**
   * Starts children on their owner nodes. Throws on misuse (bad spec, unknown behaviour,
   * duplicate ids, empty list, bad mapping, a spec too large to travel:
   * `ChildSpecTooLargeError`); with `checkExisting` (default) a call naming an id already
   * registered is rejected as a whole with those ids.
   */
  startChildren(specs: HubChildSpec[], options?: StartOptions): StartInitiated | Future<StartResult> {
    this.assertAlive();
    this.assertQuorum();
    const o = parseStartOptions(options);
    const norm = prepareSpecs(this.core, specs, o.metadata);
    if (this.durable !== null) for (const s of norm) Durability.check(s);
    const pinned = resolveMapping(this.core, norm, o.childMapping);
    if (o.checkExisting) {
      const existing = this.core.registry.containsChildren(norm.map((n) => n.id));
      if (existing.length > 0) {
        if (!o.awaitable) return { status: "already_started", ids: existing };
        const errs = existing.map((id) => {
          const pid = this.core.registry.getPid(id);
          const node = this.core.registry.lookup(id)?.nodes[0]?.node;
          return { id, node, reason: "already_started" as const, detail: String(pid), pid };
        });
        return Future.resolved(new StartResult([], errs));
      }
    }
    const usable = () => {
      this.assertAlive();
      this.assertQuorum();
    };
    // A durable hub stores the declarations before anything starts (src/hub/durable/).
    if (this.durable !== null)
      return this.durable.start(norm, {
        ...o,
        pins: pinned,
        group: (s) => groupStarts(this.core, s, pinned),
        usable,
      });
    // Grouped and sent in paced steps: a million children must not hold the event loop.
    const group = (into: Map<string, StartItem[]>) => groupStartSteps(this.core, norm, pinned, into);
    if (!o.awaitable) {
      this.core.requests.startCall(group, { timeoutMs: o.timeoutMs });
      return { status: "start_initiated" };
    }
    const p = new Promise<StartResult>((resolve) =>
      this.core.requests.startCall(group, { timeoutMs: o.timeoutMs, onDone: resolve }),
    );
    if (o.onFailure !== "rollback") return new Future(p);
    return new Future(p.then((r) => rollback(this.core, r, o.timeoutMs, usable)));
  }

  startChild(spec: HubChildSpec, options: StartOptions & { awaitable: true }): Future<StartResult>;
  startChild(spec: HubChildSpec, options?: StartOptions & { awaitable?: false }): StartInitiated;
  startChild(spec: HubChildSpec, options?: StartOptions): StartInitiated | Future<StartResult> {
    return this.startChildren([spec], options);
  }

  stopChildren(ids: string[], options: StopOptions & { awaitable: true }): Future<StopResult>;
  stopChildren(ids: string[], options?: StopOptions & { awaitable?: false }): StopInitiated;
  stopChildren(ids: string[], options?: StopOptions): StopInitiated | Future<StopResult>;
  /** Stops children wherever they run. An id no node runs is `not_found` in the result. */
  stopChildren(ids: string[], options?: StopOptions): StopInitiated | Future<StopResult> {
    this.assertAlive();
    this.assertQuorum();
    const o = parseStopOptions(options);
    if (!Array.isArray(ids) || ids.length === 0) throw new NoChildrenError();
    // A durable hub stores the stops before any goes out (src/hub/durable/).
    if (this.durable !== null) return this.durable.stop([...new Set(ids)], o.awaitable, o.timeoutMs);
    // Repeated ids are dropped in the paced steps (a million ids take seconds to dedupe).
    const unique = ids.slice();
    if (!o.awaitable) {
      this.core.requests.stopCall(unique, { timeoutMs: o.timeoutMs, dedupe: true });
      return { status: "stop_initiated" };
    }
    return new Future(
      new Promise<StopResult>((resolve) =>
        this.core.requests.stopCall(unique, { timeoutMs: o.timeoutMs, onDone: resolve, dedupe: true }),
      ),
    );
  }

  stopChild(id: string, options: StopOptions & { awaitable: true }): Future<StopResult>;
  stopChild(id: string, options?: StopOptions & { awaitable?: false }): StopInitiated;
  stopChild(id: string, options?: StopOptions): StopInitiated | Future<StopResult> {
    return this.stopChildren([id], options);
  }

  /**
   * Moves child `id` to hub node `node` (this one or a member that registered its behaviour),
   * by the migration strategy (hot swap: with its state), and pins it there: rebalancing leaves it
   * (until that node goes). Resolves with its pid there once this node's registry shows it; rejects
   * with `ChildNotRunningError` if it does not within `timeoutMs` (default `migrationTimeoutMs`).
   */
  async migrate(id: string, node: string, options: { timeoutMs?: number | undefined } = {}): Promise<Pid> {
    this.assertAlive();
    const core = this.core;
    const timeoutMs = parseTimeout(options.timeoutMs, core.tuning.migrationTimeoutMs);
    if (typeof node !== "string" || !core.view.isMember(node))
      throw new InvalidOptionError("node", "a node of this hub", node);
    const on = () => core.registry.lookup(id)?.nodes.find((np) => np.node === node)?.pid;
    const here = on();
    if (here !== undefined) return here;
    const entry = core.registry.lookup(id);
    const runners = entry?.nodes ?? [];
    if (entry === undefined || runners.length === 0) throw new ChildNotRunningError(id, 0);
    // A durable hub declares the pin first: a restart of the whole hub starts it there again.
    if (this.durable !== null) await this.durable.declarePin(entry.spec, [node], timeoutMs);
    for (const np of runners) core.send(np.node, { t: "migrate", from: core.self, id, to: node });
    // Read again on each registry change of `id` (no polling).
    return this.entities.watch(id, on, timeoutMs);
  }

  /**
   * Drains this node for a rolling deploy: every local child goes to its owner on the ring
   * without this node, by the migration strategy (hot swap: with its state), within
   * `deadlineMs` (default `migrationTimeoutMs`); then the hub stops here. Resolves with how many
   * children a new owner confirmed (`migrated`) and how many it did not (`forced`: they stop with
   * the hub and the members adopt them, without their state).
   */
  async drain(options: { deadlineMs?: number | undefined } = {}): Promise<DrainResult> {
    if (!this.isAlive()) return { migrated: 0, forced: 0 };
    const d = options.deadlineMs;
    if (d !== undefined && (typeof d !== "number" || !(d > 0) || !Number.isFinite(d)))
      throw new InvalidOptionError("deadlineMs", "a finite number > 0", d);
    const deadlineMs = d ?? this.core.tuning.migrationTimeoutMs;
    const node = this.core.node;
    const pid = this.core.pid;
    const r = await new Promise<DrainResult>((done) => this.core.post({ t: "$drain", deadlineMs, done }));
    const proc = node.proc(pid);
    if (proc !== undefined) node.terminate(proc, "normal");
    return r;
  }

  /** Stops the hub on this node: its children stop and the other hub nodes adopt them. */
  async stop(): Promise<void> {
    if (!this.isAlive()) return;
    const node = this.core.node;
    const pid = this.core.pid;
    await new Promise<void>((resolve) => this.core.post({ t: "$stop", done: resolve }));
    const proc = node.proc(pid);
    if (proc !== undefined) node.terminate(proc, "normal");
  }

  // ------------------------------------------------------------------ reaching children by id

  /**
   * A typed reference to child `id`, valid across moves, restarts and node losses:
   * `hub.ref<typeof Room>("room-42").call("post", msg)`. `T` is a behaviour or a protocol.
   * See `HubRef` and `docs/hub-guarantees.md` (what is delivered at most once, what is retried).
   */
  ref<T = unknown>(id: string, options: HubRefOptions = {}): HubRef<ProtocolOf<T>> {
    if (typeof id !== "string" || id.length === 0)
      throw new InvalidOptionError("id", "a non-empty string", id);
    const timeoutMs = parseTimeout(options.timeoutMs, this.entities.options.callTimeoutMs);
    const activate =
      options.activate === undefined
        ? undefined
        : prepareSpec(this.known, { ...options.activate, id }, undefined);
    return new HubRef<ProtocolOf<T>>(this.entities, id, timeoutMs, activate);
  }

  /**
   * The pid of `spec.id`, started on its owner first if no instance runs (never
   * `already_started`: concurrent ensures of one id from every node start one copy). Rejects
   * with `EntityActivationError` (the start failed), `EntityNoOwnerError` /
   * `EntityPartitionedError` (not running within `timeoutMs`), `HubStoppedError`.
   */
  ensure(spec: HubChildSpec, options: { timeoutMs?: number | undefined } = {}): Promise<Pid> {
    this.assertAlive();
    const norm = prepareSpec(this.known, spec, undefined);
    return this.entities.ensure(norm, parseTimeout(options.timeoutMs, this.entities.options.callTimeoutMs));
  }

  /**
   * Resolves with a reachable pid of `id` once the registry shows one (at once if it does);
   * rejects with `ChildNotRunningError` after `timeoutMs` (default `entities.callTimeoutMs`).
   */
  whenRunning(id: string, options: { timeoutMs?: number | undefined } = {}): Promise<Pid> {
    return this.entities.whenRunning(
      id,
      parseTimeout(options.timeoutMs, this.entities.options.callTimeoutMs),
    );
  }

  /**
   * Resolves once this hub has settled as far as this node can tell: no membership change
   * pending or being handled, no start, stop, move or adoption of this node awaiting answers,
   * every local child on one of its replicas, no registry placement on a node that is not a
   * member and no id on more nodes than its redundancy allows. Rejects with
   * `HubSettleTimeoutError` (naming what was still unsettled) after `timeoutMs` (default 30000).
   */
  awaitSettled(options: { timeoutMs?: number | undefined } = {}): Promise<void> {
    return awaitSettled(this.core, parseTimeout(options.timeoutMs, 30_000));
  }

  /** Counters of references on this node: messages waiting, retried, dropped; starts on demand. */
  entityStats(): Readonly<EntityStats> {
    return this.entities.stats;
  }

  // ------------------------------------------------------------------ registry queries (local)

  /** Spec, placements and metadata of a child, or undefined. */
  childLookup(id: string): ChildLookup | undefined {
    return this.core.registry.lookup(id);
  }

  /**
   * The pid of child `id` (its first placement), or undefined. With a protocol, `getPid<P>(id)`
   * is a `ServerRef<P>`, so `GenServer.call` on it is typed (a claim the caller makes: the hub
   * does not know what protocol a behaviour speaks).
   */
  getPid(id: string): Pid | undefined;
  getPid<P extends Protocol>(id: string): ServerRef<P> | undefined;
  getPid(id: string): Pid | undefined {
    return this.core.registry.getPid(id);
  }

  /** Every placement's pid of child `id`; `getPids<P>(id)`: typed as `getPid<P>`. */
  getPids(id: string): Pid[];
  getPids<P extends Protocol>(id: string): ServerRef<P>[];
  getPids(id: string): Pid[] {
    return this.core.registry.getPids(id);
  }

  /** The pid of child `id` on this node, or undefined; `localPid<P>(id)`: typed as `getPid<P>`. */
  localPid(id: string): Pid | undefined;
  localPid<P extends Protocol>(id: string): ServerRef<P> | undefined;
  localPid(id: string): Pid | undefined {
    return this.core.registry.localPid(id);
  }

  entryExists(id: string): boolean {
    return this.core.registry.exists(id);
  }

  /** Which of `ids` are registered anywhere in the hub (in the order given), from the local replica. */
  containsChildren(ids: Iterable<string>): string[] {
    return this.core.registry.containsChildren(ids);
  }

  registryDump(): Map<string, ChildLookup> {
    return this.core.registry.dump();
  }

  /** Children whose metadata `tag` equals `tag`. */
  tagQuery(tag: string): Array<{ id: string; nodes: NodePid[] }> {
    return this.core.registry.matchTag(tag);
  }

  localChildren(): Map<string, ChildLookup> {
    return this.core.registry.localChildren();
  }

  localChildSpecs(): NormalizedChildSpec[] {
    return this.core.registry.localChildSpecs();
  }

  processList(scope: "global"): Array<{ id: string; nodes: NodePid[] }>;
  processList(scope: "local"): Array<{ id: string; pid: Pid }>;
  processList(scope: "global" | "local"): Array<{ id: string; nodes: NodePid[] } | { id: string; pid: Pid }> {
    return scope === "local"
      ? this.core.registry.processList("local")
      : this.core.registry.processList("global");
  }

  /** Per node, the children it runs, from this node's replica (no network). */
  whichChildren(
    scope: "local" | "global" = "global",
  ): Map<string, Array<{ id: string; pid: Pid; behaviour: string }>> {
    return this.core.registry.whichChildren(scope);
  }

  /** Canonical content of the local replica: equal on two nodes iff their registries are identical. */
  registryDigest(): string {
    return this.core.registry.digest();
  }

  // ------------------------------------------------------------------ hooks

  registerHook<K extends HubHookName>(hook: K, fn: HubHookHandler<K>, options?: HookRegistration): string {
    return this.hooks.register(hook, fn, options);
  }

  cancelHook(hook: HubHookName, ids?: string | string[]): number {
    return this.hooks.cancel(hook, ids);
  }

  // ------------------------------------------------------------------ internals

  private assertAlive(): void {
    if (!this.core.alive) throw new HubStoppedError(this.core.hubId);
  }

  private assertQuorum(): void {
    if (this.core.partitioned) throw new HubPartitionedError(this.core.hubId, this.core.self);
  }
}

/** Checkpointed behaviours keep nothing in a hub without a store: said once, at start. */
function warnCheckpointsWithoutStore(core: HubCore): void {
  const names = [...core.behaviours].filter(([, b]) => checkpointOptionsOf(b) !== undefined).map(([n]) => n);
  if (names.length > 0)
    core.logger.warn(
      { hub: core.hubId, behaviours: names },
      "checkpointed behaviours in a hub without durability: their checkpoints are not kept",
    );
}

function hooksOf(options: HubOptions, logger: Logger): HubHooks {
  const hooks = new HubHooks(logger);
  for (const [name, fns] of Object.entries(options.hooks ?? {})) {
    for (const fn of Array.isArray(fns) ? fns : [fns])
      hooks.register(name as HubHookName, fn as HubHookHandler<HubHookName>);
  }
  return hooks;
}

/**
 * The hub process's handler under a supervisor (`linkTo`): the parent's exit signal (a
 * supervisor stopping the hub) means a graceful stop, not a crash — the same `$stop` as
 * `hub.stop()`, so under hot swap the children hand over first — after which the process exits
 * with the parent's reason.
 */
function supervisedHandle(core: HubCore, linkTo: Pid, pid: () => Pid): (msg: unknown) => unknown {
  const node = core.node;
  return (msg) => {
    if (!(msg instanceof ExitMessage) || !msg.from.equals(linkTo)) return core.handle(msg);
    const done = () => {
      const proc = node.proc(pid());
      if (proc !== undefined) node.terminate(proc, msg.reason);
    };
    return core.handle(new HubSignal({ t: "$stop", done }));
  };
}
