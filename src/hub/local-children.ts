/**
 * `LocalChildren`: the hub's own small supervisor for the hub children running on this node. It
 * starts children from registered behaviours (a GenServer behaviour, or any `ChildStarter`),
 * links them to the hub process (which traps exits), decides restarts by each child's restart
 * policy with per-child restart intensity, and stops children honouring their shutdown budget.
 * It is a plain object driven by the hub process, not a process of its own, so that every
 * placement change goes through the hub's single mailbox. The restart window and the stop per
 * shutdown are the supervisors' own (`supervision/restart-intensity`, `supervision/child-stop`),
 * with Parent's window rules (wall clock, an entry exactly `maxSeconds` old out). Imports
 * `process`, `server`, `supervision`, `child-spec`, `messages`, `results`.
 */
import type { Logger } from "../logger.js";
import { isNormalOrShutdown } from "../process/exit-reason.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import { GenServer, type ServerBehaviour, StartCrashError } from "../server/index.js";
import { stopChild } from "../supervision/child-stop.js";
import { RestartIntensity, WALL_CLOCK } from "../supervision/restart-intensity.js";
import { type WithChildId, withChildId } from "./child-id.js";
import type { NormalizedChildSpec } from "./child-spec.js";
import type { StartItem } from "./messages.js";
import type { HubErrorReason } from "./results.js";

/** A start function for children that are not GenServers. It must return the child's pid. */
export interface ChildStarter {
  start(args: unknown, ctx: { node: Node; childId: string }): Pid | Promise<Pid>;
}

/**
 * What can be registered with a hub under a behaviour name: a GenServer behaviour (its `init`
 * gets the child spec's `args`) or a `ChildStarter`.
 * @category hub
 */
export type HubBehaviour = ServerBehaviour<any, any, any> | ChildStarter;

/** One child running here. */
export interface LocalChild {
  spec: NormalizedChildSpec;
  pid: Pid;
  epoch: number;
  pinned: boolean;
  /** The child's restart window, created at its first restart; carried over to the new pid. */
  restarts: RestartIntensity | undefined;
}

export type StartOutcome =
  | { id: string; pid: Pid }
  /** `error`: the start's error as a value (see `ChildError.error`). */
  | { id: string; reason: HubErrorReason; detail?: string; error?: unknown };

/** What the hub should do after a child exited. */
export type ExitDecision =
  | { kind: "ignore" }
  | { kind: "restart"; child: LocalChild }
  | { kind: "remove"; child: LocalChild; why: "exited" | "intensity" };

export class LocalChildren {
  readonly byId = new Map<string, LocalChild>();
  private readonly byPid = new Map<string, string>();
  /** The start options of every GenServer child: one object, not one per start. */
  private readonly startOptions: { node: Node; linkTo: Pid };

  constructor(
    private readonly node: Node,
    private readonly hubPid: Pid,
    private readonly behaviours: ReadonlyMap<string, HubBehaviour>,
    private readonly limits: { maxRestarts: number; maxSeconds: number },
    private readonly logger: Logger,
  ) {
    this.startOptions = { node, linkTo: hubPid };
  }

  get size(): number {
    return this.byId.size;
  }

  /** Starts one child (not registering it); resolves with its pid or why it failed. */
  async startOne(spec: NormalizedChildSpec): Promise<StartOutcome> {
    const b = this.behaviours.get(spec.behaviour);
    if (b === undefined) return { id: spec.id, reason: "unknown_behaviour", detail: spec.behaviour };
    try {
      let pid: Pid;
      if ("init" in b && typeof b.init === "function") {
        // Through a copy whose init records the child id (`ProcessHub.childId(ctx)`).
        const arg: WithChildId = { childId: spec.id, args: spec.args };
        const r = await GenServer.startLink(withChildId(b), arg, this.startOptions);
        if (!r.ok)
          return "ignore" in r
            ? { id: spec.id, reason: "start_failed", detail: "ignore" }
            : { id: spec.id, reason: "start_failed", detail: String(describe(r.error)), error: r.error };
        pid = r.pid;
      } else {
        pid = await (b as ChildStarter).start(spec.args, { node: this.node, childId: spec.id });
        this.node.link(pid, this.hubPid);
      }
      return { id: spec.id, pid };
    } catch (e) {
      // A start that threw is a crash, told apart from a GenServer `init` returning `{ stop }`
      // (whose reason is the detail as is), as for the children of any supervisor.
      const crash = new StartCrashError(`${spec.behaviour}.start`, e);
      return { id: spec.id, reason: "start_failed", detail: describe(crash), error: crash };
    }
  }

  /** Starts many children concurrently and records the ones that started. */
  async startMany(items: readonly StartItem[]): Promise<StartOutcome[]> {
    const out = await Promise.all(items.map((it) => this.startOne(it.spec)));
    for (let i = 0; i < out.length; i++) {
      const o = out[i]!;
      if ("pid" in o) this.record(items[i]!.spec, o.pid, items[i]!.epoch, items[i]!.pinned, undefined);
    }
    return out;
  }

  record(
    spec: NormalizedChildSpec,
    pid: Pid,
    epoch: number,
    pinned: boolean,
    restarts: RestartIntensity | undefined,
  ): LocalChild {
    const child: LocalChild = { spec, pid, epoch, pinned, restarts };
    const old = this.byId.get(spec.id);
    if (old !== undefined) this.byPid.delete(old.pid.key);
    this.byId.set(spec.id, child);
    this.byPid.set(pid.key, spec.id);
    return child;
  }

  /** Classifies the exit of a linked pid: unknown pids (already stopped children) are ignored. */
  onExit(pid: Pid, reason: unknown): ExitDecision {
    const id = this.byPid.get(pid.key);
    if (id === undefined) return { kind: "ignore" };
    const child = this.byId.get(id)!;
    this.byPid.delete(pid.key);
    this.byId.delete(id);
    const r = child.spec.restart;
    if (r === "temporary" || (r === "transient" && isNormalOrShutdown(reason)))
      return { kind: "remove", child, why: "exited" };
    // Parent's rules: wall clock, a restart exactly maxSeconds old has left the window.
    const window = (child.restarts ??= new RestartIntensity({
      maxRestarts: this.limits.maxRestarts,
      maxSeconds: this.limits.maxSeconds,
      clock: WALL_CLOCK,
      dropAtBoundary: true,
    }));
    if (!window.record()) {
      this.logger.error({ id, reason: describe(reason) }, "hub child restarted too often; giving up on it");
      return { kind: "remove", child, why: "intensity" };
    }
    return { kind: "restart", child };
  }

  /** Stops a child and forgets it; resolves true if it was running here. */
  stop(id: string, reason: unknown = "shutdown"): Promise<boolean> {
    const child = this.byId.get(id);
    if (child === undefined) return Promise.resolve(false);
    this.byId.delete(id);
    this.byPid.delete(child.pid.key);
    const exited = stopChild(this.node, this.hubPid, child.pid, child.spec.shutdown, reason);
    return exited instanceof Promise ? exited.then(() => true) : Promise.resolve(true);
  }

  /** Stops every child (hub shutdown); does not wait longer than each child's budget. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.byId.keys()].map((id) => this.stop(id)));
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  if (typeof e === "string") return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}
