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
import { checkpointOptionsOf } from "./durable/checkpointed.js";
import type { Checkpoints } from "./durable/checkpoints.js";
import { ChildStartTimeoutError } from "./errors.js";
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
  /**
   * Ids whose start (or restart) is under way here, and when it ends. The hub process does not
   * wait for starts (a hanging `init` must not hold it up): a later message about one of these
   * ids waits for its start instead (`whenStarted`).
   */
  private readonly starting = new Map<string, Promise<void>>();
  /**
   * Children started but not yet registered (their start not answered): one that exits now
   * failed its start (a hot-swapped child that threw taking its state, say) and is not restarted.
   */
  private readonly unconfirmed = new Set<string>();
  /** The start options of every GenServer child: one object, not one per start. */
  private readonly startOptions: { node: Node; linkTo: Pid; timeoutMs: number };

  constructor(
    private readonly node: Node,
    private readonly hubPid: Pid,
    private readonly behaviours: ReadonlyMap<string, HubBehaviour>,
    private readonly limits: { maxRestarts: number; maxSeconds: number; initTimeoutMs: number },
    private readonly logger: Logger,
    /** A durable hub's checkpoints (read before a checkpointed child starts), else null. */
    private readonly checkpoints: () => Checkpoints | null = () => null,
  ) {
    this.startOptions = { node, linkTo: hubPid, timeoutMs: limits.initTimeoutMs };
  }

  get size(): number {
    return this.byId.size;
  }

  /** Runs `task` with `ids` marked as starting here until it settles. */
  whileStarting<T>(ids: readonly string[], task: () => Promise<T>): Promise<T> {
    const run = task();
    const done = run.then(
      () => {},
      () => {},
    );
    for (const id of ids) this.starting.set(id, done);
    void done.then(() => {
      for (const id of ids) if (this.starting.get(id) === done) this.starting.delete(id);
    });
    return run;
  }

  /** When the starts under way of any of `ids` have settled, or null if none is. */
  whenStarted(ids: Iterable<string>): Promise<unknown> | null {
    let waits: Array<Promise<void>> | null = null;
    for (const id of ids) {
      const p = this.starting.get(id);
      if (p !== undefined) (waits ??= []).push(p);
    }
    return waits === null ? null : Promise.all(waits);
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
        const cp = checkpointOptionsOf(b);
        const store = cp === undefined ? null : this.checkpoints();
        if (store !== null) {
          // Its last checkpoint first: unreadable, the child does not start (it would lose its state).
          try {
            arg.checkpoint = await store.open(spec.id, cp!, this.limits.initTimeoutMs);
          } catch (error) {
            return { id: spec.id, reason: "store_failed", detail: describe(error), error };
          }
        }
        const r = await GenServer.startLink(withChildId(b), arg, this.startOptions);
        if (!r.ok) {
          if ("ignore" in r) return { id: spec.id, reason: "start_failed", detail: "ignore" };
          // The GenServer start killed the child when its `init` outlived the timeout.
          const error = r.error === "timeout" ? this.timedOut(spec.id) : r.error;
          return { id: spec.id, reason: "start_failed", detail: String(describe(error)), error };
        }
        pid = r.pid;
      } else {
        const started = await this.withinInitTimeout(
          (b as ChildStarter).start(spec.args, { node: this.node, childId: spec.id }),
        );
        if (started === undefined) {
          const error = this.timedOut(spec.id);
          return { id: spec.id, reason: "start_failed", detail: describe(error), error };
        }
        pid = started;
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

  /**
   * Starts one child and records it as soon as it started (so that its exit, should it die at
   * once, is not taken for an unknown pid's), unconfirmed until its start is answered.
   */
  async startRecorded(it: StartItem): Promise<StartOutcome> {
    const o = await this.startOne(it.spec);
    if ("pid" in o) {
      this.record(it.spec, o.pid, it.epoch, it.pinned, undefined);
      this.unconfirmed.add(it.spec.id);
    }
    return o;
  }

  /** A child `startRecorded` started is registered: from now on its exits are handled by its restart policy. */
  confirm(id: string): void {
    this.unconfirmed.delete(id);
  }

  private timedOut(id: string): ChildStartTimeoutError {
    const error = new ChildStartTimeoutError(id, this.limits.initTimeoutMs);
    this.logger.error({ id, timeoutMs: this.limits.initTimeoutMs }, "hub child start timed out");
    return error;
  }

  /**
   * A `ChildStarter`'s pid, or undefined when it did not come within `initTimeoutMs`; a pid that
   * comes later is killed (nobody will supervise it).
   */
  private withinInitTimeout(started: Pid | Promise<Pid>): Promise<Pid | undefined> {
    if (!(started instanceof Promise)) return Promise.resolve(started);
    return new Promise((resolve, reject) => {
      let late = false;
      const t = setTimeout(() => {
        late = true;
        resolve(undefined);
      }, this.limits.initTimeoutMs);
      t.unref?.();
      started.then(
        (pid) => {
          clearTimeout(t);
          if (late) this.node.exit(pid, "kill");
          else resolve(pid);
        },
        (e: unknown) => {
          clearTimeout(t);
          if (!late) reject(e);
        },
      );
    });
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
    // A checkpointed child's pending state is written now (its restart here reads after it).
    void this.checkpoints()?.ended(id);
    if (this.unconfirmed.delete(id)) return { kind: "remove", child, why: "exited" };
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
    this.unconfirmed.delete(id);
    this.byPid.delete(child.pid.key);
    const exited = stopChild(this.node, this.hubPid, child.pid, child.spec.shutdown, reason);
    const cps = checkpointOptionsOf(this.behaviours.get(child.spec.behaviour)) && this.checkpoints();
    // A checkpointed child's last state is stored before its stop is over (a move's new
    // instance, or a stop for good's deletion, comes after it).
    const last = cps ? () => cps.ended(id).then(() => true) : () => true;
    return exited instanceof Promise ? exited.then(last) : Promise.resolve(last());
  }

  /** A child stopped here by a stop request: a checkpointed one's stored state goes. */
  stoppedForGood(spec: NormalizedChildSpec): void {
    if (checkpointOptionsOf(this.behaviours.get(spec.behaviour)) !== undefined)
      this.checkpoints()?.stoppedForGood(spec.id);
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
