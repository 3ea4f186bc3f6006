/**
 * `HubRef`: a typed reference to a hub child by id (`hub.ref<typeof Room>("room-42")`). Calls
 * are typed from the behaviour's protocol as `GenServer.call`'s are — a call's reply type comes
 * from its name, a wrong argument is a compile error — and go through the hub's `EntityRouter`,
 * which finds the child wherever it runs, waits for it while it moves or restarts, and retries
 * only what is safe. A reference holds no pid: it stays valid across moves, restarts and node
 * losses. Imports the server's protocol types and the router.
 */
import type { Pid } from "../../process/pid.js";
import type { CallName, CallReply, Calls, CastArgs, CastName } from "../../server/protocol.js";
import type { NormalizedChildSpec } from "../child-spec.js";
import { Kind, type EntityRouter } from "./router.js";
import { parseTimeout, type RefCallOptions } from "./options.js";

/** The argument then the options of call `K`; the argument may be left out for a call declared without one. */
export type RefCallArgs<P, K extends CallName<P>> = Calls<P>[K] extends (...a: infer A) => unknown
  ? A extends []
    ? [arg?: undefined, options?: RefCallOptions]
    : undefined extends A[0]
      ? [arg?: A[0], options?: RefCallOptions]
      : [arg: A[0], options?: RefCallOptions]
  : never;

/**
 * A reference to the hub child `id`, typed by protocol `P`.
 * @category hub
 */
export class HubRef<P = unknown> {
  /** @internal */
  constructor(
    private readonly router: EntityRouter,
    readonly id: string,
    private readonly timeoutMs: number,
    private readonly activate: NormalizedChildSpec | undefined,
  ) {}

  /**
   * Calls the child and resolves with its reply. Rejects, by the deadline (`timeoutMs`, default
   * the hub's `entities.callTimeoutMs`), with `EntityNoOwnerError`, `EntityPartitionedError`,
   * `EntityOverflowError`, `EntityTimeoutError`, `EntityCallLostError` or
   * `EntityActivationError`; `HubStoppedError` once the hub stopped.
   */
  call<K extends CallName<P>>(name: K, ...args: RefCallArgs<P, K>): Promise<CallReply<P, K>>;
  // Fixed parameters, not the rest tuple of the signature: no array per call.
  call(name: string, arg?: unknown, o?: RefCallOptions): Promise<unknown> {
    const timeoutMs = o?.timeoutMs === undefined ? this.timeoutMs : parseTimeout(o.timeoutMs, this.timeoutMs);
    return this.router.call(this.id, name, arg, timeoutMs, o?.idempotent, this.activate);
  }

  /** Casts to the child: at most once, buffered while it has no instance, dropped after the deadline. */
  cast<K extends CastName<P>>(name: K, ...args: CastArgs<P, K>): void {
    this.router.post(Kind.Cast, this.id, name, args[0], this.activate);
  }

  /** Sends a plain message (`handleInfo`): as `cast`. */
  send(msg: unknown): void {
    this.router.post(Kind.Send, this.id, "", msg, this.activate);
  }

  /** The pid a message would go to now, if one is reachable. */
  whereis(): Pid | undefined {
    return this.router.pick(this.id);
  }
}
