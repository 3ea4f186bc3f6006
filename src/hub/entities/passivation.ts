/**
 * `Passivation`: stopping hub children nobody uses, so that a hub can address many more ids than
 * it keeps running. A sweep on each node stops its local children whose behaviour declares
 * `idleTimeoutMs` (`entity`) once they handled no message for that long, and, past the node's
 * `entities.maxActive` such children, the least recently used ones. A passivated child is
 * stopped like any (`stopChildren`: every registry drops it), and the next message through a
 * reference with `activate` starts it again on its owner.
 *
 * State: a behaviour with hand-over callbacks (`withHandover`) is asked for its data
 * (`prepareHandoverState`) before it stops; this node keeps the data for
 * `entities.passivatedStateTtlMs` and gives it to the id's next instance if that starts on this
 * node (`receiveHandoverState` with reason `migration`), before any message reaches it. An
 * instance started elsewhere (the ring changed meanwhile), or after the data expired, starts from
 * its spec's `args`; so does one whose behaviour has no hand-over callbacks. In a durable hub a
 * child is declared `dormant` before it stops (so reconcile leaves it down) and a checkpointed
 * one keeps its checkpoint, which its next instance reads wherever it starts. Imports the
 * handover strategy, the hub core type and the entity declaration.
 */
import type { HubCore } from "../hub-core.js";
import type { RegistryChange } from "../hub-registry.js";
import { giveHandoverState, supportsHandover, takeHandoverState } from "../strategies/handover.js";
import { idleTimeoutOf, lastActivity } from "./entity.js";
import type { ResolvedEntityOptions } from "./options.js";

/** Bounds of the sweep period, in ms: a quarter of the shortest idle timeout within these. */
const MIN_SWEEP_MS = 10;
const MAX_SWEEP_MS = 1000;

export class Passivation {
  /** Passivated children's data, for their next instance here. */
  private readonly stash = new Map<string, { data: unknown; at: number }>();
  private timer: ReturnType<typeof setInterval> | undefined = undefined;
  private sweeping = false;

  constructor(
    private readonly core: HubCore,
    private readonly options: ResolvedEntityOptions,
    private readonly stats: { passivated: number },
  ) {
    let shortest = Number.POSITIVE_INFINITY;
    for (const b of core.behaviours.values()) shortest = Math.min(shortest, idleTimeoutOf(b) ?? shortest);
    if (shortest === Number.POSITIVE_INFINITY && !Number.isFinite(options.maxActive)) return;
    const every =
      options.passivationSweepMs > 0
        ? options.passivationSweepMs
        : Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, shortest / 4));
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref?.();
  }

  /** A local instance started: it gets the data its passivated predecessor left here, first. */
  onChanges(changes: readonly RegistryChange[]): void {
    if (this.stash.size === 0) return;
    const core = this.core;
    for (const c of changes) {
      if (c.kind === "unregistered" || c.node !== core.self) continue;
      const kept = this.stash.get(c.id);
      if (kept === undefined) continue;
      this.stash.delete(c.id);
      // Sent now, in the hub's turn, before the start is answered: the first message it handles.
      void giveHandoverState(core.node, c.pid, kept.data, this.options.callTimeoutMs);
    }
  }

  /** Stops the idle children here, and the least recently used beyond `maxActive`. */
  async sweep(): Promise<void> {
    const core = this.core;
    if (this.sweeping || core.mode !== "running" || core.children === undefined) return;
    this.sweeping = true;
    try {
      const now = Date.now();
      for (const [id, kept] of this.stash)
        if (now - kept.at > this.options.passivatedStateTtlMs) this.stash.delete(id);
      const idle: string[] = [];
      const active: Array<[string, number]> = [];
      for (const [id, child] of core.children.byId) {
        const timeout = idleTimeoutOf(core.behaviours.get(child.spec.behaviour));
        if (timeout === undefined) continue;
        const last = lastActivity(child.pid) ?? now;
        if (now - last >= timeout) idle.push(id);
        else active.push([id, last]);
      }
      const over = active.length - this.options.maxActive;
      const beyond: string[] = [];
      if (over > 0) {
        active.sort((a, b) => a[1] - b[1]);
        for (let i = 0; i < over; i++) beyond.push(active[i]![0]);
      }
      if (idle.length + beyond.length === 0) return;
      if (core.hooks.has("childrenPassivated"))
        core.hooks.dispatch("childrenPassivated", { idle, beyondMaxActive: beyond });
      await this.passivate(idle.concat(beyond));
    } finally {
      this.sweeping = false;
    }
  }

  private async passivate(all: string[]): Promise<void> {
    const core = this.core;
    // A durable hub declares them dormant first (else reconcile would start them again); those
    // it could not declare stay up until a later sweep. Their checkpoints stay for the next instance.
    const declared = await core.durable?.declareDormant(all, this.options.callTimeoutMs);
    const ids = declared === undefined ? all : all.filter((id) => declared.has(id));
    for (const id of ids) core.checkpoints?.keep(id);
    if (ids.length === 0) return;
    await Promise.all(
      ids.map(async (id) => {
        const child = core.children.byId.get(id);
        if (child === undefined || !supportsHandover(core.behaviours.get(child.spec.behaviour))) return;
        const taken = await takeHandoverState(core.node, child.pid, this.options.callTimeoutMs);
        if (taken !== undefined) this.stash.set(id, { data: taken.data, at: Date.now() });
      }),
    );
    this.stats.passivated += ids.length;
    core.requests.stop(ids, { timeoutMs: core.tuning.migrationTimeoutMs });
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.stash.clear();
  }
}
