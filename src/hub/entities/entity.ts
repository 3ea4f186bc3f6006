/**
 * What a behaviour declares about being reached by id: which of its calls and casts are
 * idempotent (handling one twice does no harm), so that a reference may deliver them again to
 * the next instance when the one they went to disappears before replying; and after how long
 * without a message an instance is passivated (`idleTimeoutMs`). `entity(behaviour, decl)`
 * returns the behaviour with the declaration attached (the behaviour object itself is not
 * changed), typed from its protocol; with `idleTimeoutMs` its callbacks also note when each
 * instance last handled a message. Imports `server` types.
 */
import { InvalidOptionError } from "../../errors.js";
import type { CallName, CastName, Protocol } from "../../server/protocol.js";
import type { Pid } from "../../process/pid.js";
import type { ServerBehaviour, ServerContext } from "../../server/behaviour.js";

/** The protocol of a behaviour (or the protocol itself). */
export type ProtocolOf<T> =
  T extends ServerBehaviour<infer P, any, any> ? P : T extends Protocol ? T : Protocol;

/** What `entity` attaches to a behaviour. */
export interface EntityDeclaration<P = Protocol> {
  /** Call and cast names a reference may deliver more than once (see `docs/hub-guarantees.md`). @default [] */
  idempotent?: ReadonlyArray<CallName<P> | CastName<P>> | undefined;
  /**
   * Stop an instance that handled no message (call, cast or other) for this long; the next
   * message through a reference with `activate` starts it again. Its state goes through the
   * behaviour's hand-over callbacks when it has them (`withHandover`; see `docs/hub.md`).
   * @default undefined (never passivated for idleness)
   */
  idleTimeoutMs?: number | undefined;
}

/** When each instance of a behaviour declared with `idleTimeoutMs` last handled a message. */
const lastActive = new WeakMap<Pid, number>();

/** When `pid` last handled a message (its start counts), or undefined if not tracked. */
export function lastActivity(pid: Pid): number | undefined {
  return lastActive.get(pid);
}

const DECL = "hubEntity";

/**
 * Declares how a behaviour is reached by id: `entity(Room, { idempotent: ["get"] })`. Register
 * the result with the hub under a behaviour name as usual.
 * @category hub
 */
export function entity<B extends ServerBehaviour<any, any, any>>(
  behaviour: B,
  declaration: EntityDeclaration<ProtocolOf<B>>,
): B {
  const idempotent = new Set<string>(declaration.idempotent ?? []);
  const idleTimeoutMs = declaration.idleTimeoutMs;
  if (idleTimeoutMs !== undefined && (!(idleTimeoutMs > 0) || !Number.isFinite(idleTimeoutMs)))
    throw new InvalidOptionError("idleTimeoutMs", "a finite number > 0", idleTimeoutMs);
  const decl = { [DECL]: { idempotent, idleTimeoutMs } };
  return idleTimeoutMs === undefined ? { ...behaviour, ...decl } : { ...tracked(behaviour), ...decl };
}

/** `b` with every callback noting the time on its instance first (for idle passivation). */
function tracked<B extends ServerBehaviour<any, any, any>>(b: B): B {
  const note = (ctx: ServerContext) => lastActive.set(ctx.self, Date.now());
  const wrapMap = (m: Record<string, (a: any, s: any, c: ServerContext) => any> | undefined) => {
    if (m === undefined) return undefined;
    const out: Record<string, (a: any, s: any, c: ServerContext) => any> = {};
    for (const [k, f] of Object.entries(m))
      out[k] = (a, s, c) => {
        note(c);
        return f(a, s, c);
      };
    return out;
  };
  const info = b.handleInfo;
  return {
    ...b,
    init: (a: unknown, ctx: ServerContext) => {
      note(ctx);
      return b.init(a, ctx);
    },
    handleCall: wrapMap(b.handleCall as never),
    handleCast: wrapMap(b.handleCast as never),
    handleInfo:
      info === undefined
        ? undefined
        : (m: unknown, s: unknown, ctx: ServerContext) => {
            note(ctx);
            return info.call(b, m, s, ctx);
          },
  };
}

/** The idle timeout a registered behaviour declares, or undefined. */
export function idleTimeoutOf(behaviour: unknown): number | undefined {
  const d =
    typeof behaviour === "object" && behaviour !== null
      ? (behaviour as Record<string, unknown>)[DECL]
      : undefined;
  return (d as { idleTimeoutMs?: number } | undefined)?.idleTimeoutMs;
}

/** The idempotent message names a registered behaviour declares (empty when none). */
export function idempotentNames(behaviour: unknown): ReadonlySet<string> {
  const d =
    typeof behaviour === "object" && behaviour !== null
      ? (behaviour as Record<string, unknown>)[DECL]
      : undefined;
  return (d as { idempotent?: ReadonlySet<string> } | undefined)?.idempotent ?? NONE;
}

const NONE: ReadonlySet<string> = new Set();
