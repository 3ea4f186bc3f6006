/**
 * Typed protocols: a server's messages are declared once, as a type, and both the client calls
 * and the handler maps derive from it, so the reply type of each call is inferred from its name
 * and a wrong payload is a compile error. Imports `process` types only.
 *
 * @example
 * interface CounterProtocol {
 *   calls: { get(): number; add(n: number): number };
 *   casts: { reset(to: number): void };
 * }
 */
import type { Pid } from "../process/pid.js";

/** The shape every protocol fits: call and cast names mapped to one-argument signatures. */
export interface Protocol {
  calls?: Record<string, (arg?: any) => unknown>;
  casts?: Record<string, (arg?: any) => void>;
}

// `calls?:` is optional in `Protocol` itself, so an untyped pid (P = Protocol) gets any name.
export type Calls<P> = P extends { calls?: infer C } ? (C extends undefined ? {} : NonNullable<C>) : {};
export type Casts<P> = P extends { casts?: infer C } ? (C extends undefined ? {} : NonNullable<C>) : {};
/**
 * The protocol a client function checks a call against: `P`, or the untyped `Protocol` for a
 * destination typed `ServerDest<any>` (any name, any payload), as for an untyped pid.
 */
export type ClientProtocol<P> = 0 extends 1 & P ? Protocol : P;
/** The call names of protocol `P`. */
export type CallName<P> = keyof Calls<P> & string;
/** The cast names of protocol `P`. */
export type CastName<P> = keyof Casts<P> & string;
/** The payload type of call `K` of protocol `P`. */
export type CallArg<P, K extends CallName<P>> = Calls<P>[K] extends (...a: infer A) => unknown ? A[0] : never;
/** The reply type of call `K` of protocol `P`. */
export type CallReply<P, K extends CallName<P>> = Calls<P>[K] extends (...a: any[]) => infer R ? R : never;
/** The payload type of cast `K` of protocol `P`. */
export type CastArg<P, K extends CastName<P>> = Casts<P>[K] extends (...a: infer A) => unknown ? A[0] : never;

/** Payload then optional timeout; the payload may be left out for a call declared without one. */
export type CallArgs<P, K extends CallName<P>> = Calls<P>[K] extends (...a: infer A) => unknown
  ? A extends []
    ? [arg?: undefined, timeoutMs?: number]
    : undefined extends A[0]
      ? [arg?: A[0], timeoutMs?: number]
      : [arg: A[0], timeoutMs?: number]
  : never;

export type CastArgs<P, K extends CastName<P>> = Casts<P>[K] extends (...a: infer A) => unknown
  ? A extends []
    ? [arg?: undefined]
    : undefined extends A[0]
      ? [arg?: A[0]]
      : [arg: A[0]]
  : never;

declare const protocolBrand: unique symbol;

/**
 * A pid that is known to speak protocol `P` (a phantom type: at run time, just a `Pid`). The
 * brand is required: a plain `Pid` is not a `ServerRef<P>` (only a start gives one, or a cast
 * that says so), and a `ServerRef<A>` is not a `ServerRef<B>`.
 */
export type ServerRef<P> = Pid & { readonly [protocolBrand]: P };

/** A pid that claims no protocol: any call or cast name goes (untyped). */
export type UntypedPid = Pid & { readonly [protocolBrand]?: undefined };

/**
 * A name resolved through a registry module, like Erlang's `{via, Module, Name}`. `Registry`
 * implements `ViaModule`.
 */
export interface ViaModule {
  whereisName(key: unknown): Pid | undefined;
  /** Registers `pid` under `key`; returns the current holder if the name is taken. */
  registerName(key: unknown, pid: Pid): { ok: true } | { ok: false; holder: Pid };
  unregisterName(key: unknown): void;
}

/** `{ via: module, key }`: a name looked up through `module`. */
export interface ViaName {
  via: ViaModule;
  key: unknown;
}

/**
 * Where a typed call or cast can go: a `ServerRef<P>`, an untyped pid, a local name, a name on a
 * node, or a via-name. A `ServerRef` of another protocol does not fit.
 */
export type ServerDest<P> = ServerRef<P> | UntypedPid | string | { name: string; node: string } | ViaName;

export function isViaName(v: unknown): v is ViaName {
  return typeof v === "object" && v !== null && "via" in v && "key" in v;
}
