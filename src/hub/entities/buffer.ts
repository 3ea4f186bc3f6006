/**
 * `EntityBuffer`: the messages through references that wait for an instance of their id — one
 * bounded list per id (in arrival order) and a bound per node, each `Waiting` with a timer at its
 * deadline. A message joins it when no placement is reachable, or after a delivery that failed
 * and may be made again (`router.ts` decides); it leaves when it goes out, fails, or its deadline
 * passes. Imports the hub's child spec type and the entity errors.
 */
import type { Pid } from "../../process/pid.js";
import type { NormalizedChildSpec } from "../child-spec.js";
import { EntityOverflowError } from "./errors.js";
import type { ResolvedEntityOptions } from "./options.js";

/** What a message through a reference is: a call (awaits a reply), a cast, or a plain message. */
export const Kind = { Call: 0, Cast: 1, Send: 2 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/**
 * One message through a reference, from the moment it is sent until it settles: a call is one
 * of these on its first delivery too, so that a failed delivery can wait and go again.
 */
export class Waiting {
  /** A pid it must not go to again (it was dead there, or its instance left). */
  avoid: Pid | undefined = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** How many instances crashed while handling it (idempotent messages go again, up to a bound). */
  crashes = 0;
  constructor(
    readonly id: string,
    readonly kind: Kind,
    readonly name: string,
    readonly arg: unknown,
    /**
     * `performance.now()` after which it fails (a call) or is dropped (a cast or send); a call's
     * first delivery sets it from the call it opened (one clock read per call, not two).
     */
    public deadline: number,
    readonly timeoutMs: number,
    /** The caller's word on idempotence; undefined: the behaviour's declaration. */
    readonly idempotent: boolean | undefined,
    /** The spec to start the id from when no instance runs (`activate`), or undefined. */
    readonly activate: NormalizedChildSpec | undefined,
    readonly resolve: (v: unknown) => void,
    readonly reject: (e: unknown) => void,
  ) {}
}

export class EntityBuffer {
  private readonly byId = new Map<string, Waiting[]>();

  constructor(
    private readonly options: ResolvedEntityOptions,
    /** The router's counters: `waiting` is how many messages this buffer holds. */
    private readonly stats: { waiting: number },
    /** Called with a message whose deadline passed while it waited (already out of the buffer). */
    private readonly onDeadline: (w: Waiting) => void,
  ) {}

  /** Messages waiting now, on this node. */
  get size(): number {
    return this.stats.waiting;
  }

  /** Ids with waiting messages. */
  ids(): IterableIterator<string> {
    return this.byId.keys();
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** A snapshot of the waiting messages of `id`, oldest first (safe to change the buffer meanwhile). */
  of(id: string): Waiting[] {
    const list = this.byId.get(id);
    return list === undefined ? [] : [...list];
  }

  /** Every waiting message (a snapshot). */
  all(): Waiting[] {
    const out: Waiting[] = [];
    for (const list of this.byId.values()) out.push(...list);
    return out;
  }

  /** Adds `w` with a timer at its deadline; the overflow error (and nothing added) when full. */
  add(w: Waiting): EntityOverflowError | undefined {
    const o = this.options;
    const list = this.byId.get(w.id);
    if ((list?.length ?? 0) >= o.maxBufferedPerId)
      return new EntityOverflowError(w.id, "id", o.maxBufferedPerId);
    if (this.stats.waiting >= o.maxBuffered) return new EntityOverflowError(w.id, "node", o.maxBuffered);
    if (list === undefined) this.byId.set(w.id, [w]);
    else list.push(w);
    this.stats.waiting++;
    w.timer = setTimeout(
      () => {
        if (this.remove(w)) this.onDeadline(w);
      },
      Math.max(0, w.deadline - performance.now()),
    );
    return undefined;
  }

  /** Takes `w` out (and stops its timer); false if it was not waiting. */
  remove(w: Waiting): boolean {
    const list = this.byId.get(w.id);
    const i = list?.indexOf(w) ?? -1;
    if (i < 0) return false;
    list!.splice(i, 1);
    if (list!.length === 0) this.byId.delete(w.id);
    this.stats.waiting--;
    if (w.timer !== undefined) clearTimeout(w.timer);
    w.timer = undefined;
    return true;
  }
}
