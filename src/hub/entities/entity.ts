/**
 * What a behaviour declares about being reached by id: which of its calls and casts are
 * idempotent (handling one twice does no harm), so that a reference may deliver them again to
 * the next instance when the one they went to disappears before replying. `entity(behaviour,
 * decl)` returns the behaviour with the declaration attached (the behaviour object itself is not
 * changed), typed from its protocol. Imports `server` types.
 */
import type { CallName, CastName, Protocol } from "../../server/protocol.js";
import type { ServerBehaviour } from "../../server/behaviour.js";

/** The protocol of a behaviour (or the protocol itself). */
export type ProtocolOf<T> =
  T extends ServerBehaviour<infer P, any, any> ? P : T extends Protocol ? T : Protocol;

/** What `entity` attaches to a behaviour. */
export interface EntityDeclaration<P = Protocol> {
  /** Call and cast names a reference may deliver more than once (see `docs/hub-guarantees.md`). @default [] */
  idempotent?: ReadonlyArray<CallName<P> | CastName<P>> | undefined;
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
  return { ...behaviour, [DECL]: { idempotent } };
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
