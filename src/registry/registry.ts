/**
 * `Registry`: Elixir's local, decentralised key/process store. A registry is a process (its
 * owner, registered under the registry's name) plus tables that callers read and write directly:
 * `lookup` is a map read, `register` a few map writes, and a registered process's keys vanish
 * through an exit hook the moment it dies. Works as a via-module for GenServer names.
 *
 * Imports `process` (Node, Pid, errors), `server` (GenServer, results, protocol types), and its
 * own `errors`, `options`, `pattern`, `table`.
 */
import { NoProcError, NotInProcessError } from "../process/errors.js";
import { currentNodeOrDefault, type Node, ProcessContext } from "../process/node.js";
import { Pid } from "../process/pid.js";
import * as GenServer from "../server/gen-server.js";
import type { ViaModule, ViaName } from "../server/protocol.js";
import { noreply, ok } from "../server/results.js";
import type { StartResult } from "../server/results.js";
import { RegistryKindError, UnknownRegistryError, ViaDuplicateRegistryError } from "./errors.js";
import { type ParsedRegistryOptions, parseRegistryOptions, type RegistryOptions } from "./options.js";
import type { ValuePattern } from "./pattern.js";
import { type RegisterResult, type RegistryEntry, RegistryTable, type UpdateResult } from "./table.js";

/** A registry: the `name` it was started with, or the pid of its process. */
export type RegistryName = string | Pid;

/** Who acts: the calling process by default; a pid or a process context for code after an `await`. */
export type Actor = Pid | ProcessContext;

const tablesByNode = new WeakMap<Node, Map<string, RegistryTable>>();
/** The same tables by the registry process's pid key. */
const tablesByPid = new Map<string, RegistryTable>();
let lastName: unknown;
let lastNode: Node | undefined;
let lastTable: RegistryTable | undefined;

function tableOn(node: Node, reg: RegistryName): RegistryTable {
  if (reg === lastName && node === lastNode && lastTable?.alive) return lastTable;
  const t =
    typeof reg === "string"
      ? tablesByNode.get(node)?.get(reg)
      : reg instanceof Pid
        ? tablesByPid.get(reg.key)
        : undefined;
  if (t === undefined || !t.alive) throw new UnknownRegistryError(reg);
  lastName = reg;
  lastNode = node;
  lastTable = t;
  return t;
}

function table(reg: RegistryName, as?: Actor): RegistryTable {
  return tableOn(as instanceof ProcessContext ? as.node : currentNodeOrDefault(), reg);
}

function actorPid(t: RegistryTable, as: Actor | undefined, op: string): Pid {
  if (as === undefined) {
    const self = t.node.self();
    if (self === t.node.systemPid) throw new NotInProcessError(`Registry.${op}`);
    return self;
  }
  return as instanceof Pid ? as : as.self;
}

function uniqueTable(reg: RegistryName, op: string, as?: Actor): RegistryTable {
  const t = table(reg, as);
  if (!t.unique) throw new RegistryKindError(t.name, op, "unique");
  return t;
}

// ------------------------------------------------------------------ lifecycle

const RegistryServer = GenServer.defineServer<{}>()({
  name: "Registry",
  init: (opts: ParsedRegistryOptions, ctx) => {
    const t = new RegistryTable(opts.name, opts.keys, opts.partitions, opts.listeners, opts.meta, ctx.node);
    t.owner = ctx.self;
    t.parent = ctx.parent;
    t.ownerProc = ctx.node.proc(ctx.self);
    let tables = tablesByNode.get(ctx.node);
    if (tables === undefined) tablesByNode.set(ctx.node, (tables = new Map()));
    tables.set(opts.name, t);
    tablesByPid.set(ctx.self.key, t);
    ctx.node.onExit(ctx.self, (pid) => {
      if (tables.get(opts.name) === t) tables.delete(opts.name);
      tablesByPid.delete(pid.key);
      if (lastTable === t) {
        lastTable = undefined;
        lastName = undefined;
      }
      t.destroy();
    });
    return ok(t);
  },
  // The EXIT of a registered process (linked; trapped so that its crash cannot take the
  // registry down, as Elixir's partitions trap exits). Its entries went with its exit hook
  // already. An EXIT from the process the registry was started linked to never gets here: it
  // stops the registry (GenServer).
  handleInfo: (_msg, t) => noreply(t),
});

/**
 * Starts a registry (unlinked). Options are validated first: a bad one throws
 * `InvalidOptionError` naming the field. A name already in use gives
 * `{ ok: false, error: { alreadyStarted: pid } }`.
 */
export function start(options: RegistryOptions): Promise<StartResult> {
  const o = parseRegistryOptions(options);
  return GenServer.start(RegistryServer, o, {
    name: o.name,
    node: o.node,
    trapExit: true,
  }) as Promise<StartResult>;
}

/**
 * Starts a registry linked to the calling process (or to `linkTo`, a pid or the `ctx` of an async
 * process after an `await`): for supervision trees.
 */
export function startLink(options: RegistryOptions & GenServer.LinkOptions): Promise<StartResult> {
  const o = parseRegistryOptions(options);
  return GenServer.startLink(RegistryServer, o, {
    name: o.name,
    node: o.node,
    trapExit: true,
    linkTo: options.linkTo,
  }) as Promise<StartResult>;
}

/** Stops a registry; its processes registered in it get its exit signal, as linked processes. */
export function stop(reg: RegistryName, reason: unknown = "normal"): Promise<void> {
  const t = table(reg);
  return GenServer.stop(t.owner!, reason);
}

// ------------------------------------------------------------------ registration

/**
 * Registers the calling process (or `as`) under `key` with `value`. Unique registries refuse a
 * key held by a live process, including the caller itself; duplicate registries accept any
 * number of entries, even from one process.
 */
export function register(reg: RegistryName, key: unknown, value?: unknown, as?: Actor): RegisterResult {
  const t = table(reg, as);
  return t.register(actorPid(t, as, "register"), key, value);
}

/** Removes the caller's entries under `key`. Always succeeds. */
export function unregister(reg: RegistryName, key: unknown, as?: Actor): void {
  const t = table(reg, as);
  t.unregister(actorPid(t, as, "unregister"), key);
}

/** Removes the caller's entries under `key` whose value matches `pattern`. */
export function unregisterMatch(reg: RegistryName, key: unknown, pattern: ValuePattern, as?: Actor): void {
  const t = table(reg, as);
  t.unregister(actorPid(t, as, "unregisterMatch"), key, pattern);
}

/**
 * Replaces the value of a unique key the caller holds with `fn(old)`. Returns the new and old
 * values, or `{ ok: false }` when the caller does not hold `key`. Throws `RegistryKindError` on a
 * duplicate registry.
 */
export function updateValue<V = unknown>(
  reg: RegistryName,
  key: unknown,
  fn: (old: V) => V,
  as?: Actor,
): UpdateResult<V> {
  const t = uniqueTable(reg, "updateValue", as);
  return t.updateValue(
    actorPid(t, as, "updateValue"),
    key,
    fn as (old: unknown) => unknown,
  ) as UpdateResult<V>;
}

// ------------------------------------------------------------------ queries

/** The `{pid, value}` entries under `key`, in registration order (`[]` when none). */
export function lookup<V = unknown>(reg: RegistryName, key: unknown): RegistryEntry<V>[] {
  return table(reg).lookup(key) as RegistryEntry<V>[];
}

/** The live holder of `key` in a unique registry. */
export function whereis(reg: RegistryName, key: unknown): Pid | undefined {
  return uniqueTable(reg, "whereis").whereis(key);
}

/** Entries under `key` whose value matches `pattern` (a predicate or a structural pattern). */
export function match<V = unknown>(
  reg: RegistryName,
  key: unknown,
  pattern: ValuePattern,
): RegistryEntry<V>[] {
  return table(reg).match(key, pattern) as RegistryEntry<V>[];
}

/** Number of entries under `key` whose value matches `pattern`. */
export function countMatch(reg: RegistryName, key: unknown, pattern: ValuePattern): number {
  return table(reg).match(key, pattern).length;
}

/**
 * Calls `fn` with the entries under `key`, in the calling process. `fn` is never called when
 * there are none. Errors thrown by `fn` propagate to the caller.
 */
export function dispatch<V = unknown>(
  reg: RegistryName,
  key: unknown,
  fn: (entries: RegistryEntry<V>[]) => void,
): void {
  const entries = table(reg).lookup(key);
  if (entries.length > 0) fn(entries as RegistryEntry<V>[]);
}

/** The keys `pid` holds in the registry, in registration order (`[]` for a dead pid). */
export function keys(reg: RegistryName, pid: Pid): unknown[] {
  return table(reg).keysOf(pid);
}

/** The values `pid` registered under `key`. */
export function values<V = unknown>(reg: RegistryName, key: unknown, pid: Pid): V[] {
  return table(reg).valuesOf(key, pid) as V[];
}

/** Number of entries in the registry. */
export function count(reg: RegistryName): number {
  return table(reg).count;
}

/** The registry's key kind and partition count. */
export function info(reg: RegistryName): { keys: "unique" | "duplicate"; partitions: number; owner: Pid } {
  const t = table(reg);
  return { keys: t.unique ? "unique" : "duplicate", partitions: t.partitions, owner: t.owner! };
}

// ------------------------------------------------------------------ meta

/** Reads registry metadata: `{ ok: true, value }`, or `{ ok: false }` for an absent key. */
export function meta<V = unknown>(reg: RegistryName, key: unknown): { ok: true; value: V } | { ok: false } {
  const m = table(reg).meta;
  return m.has(key) ? { ok: true, value: m.get(key) as V } : { ok: false };
}

export function putMeta(reg: RegistryName, key: unknown, value: unknown): void {
  table(reg).meta.set(key, value);
}

export function deleteMeta(reg: RegistryName, key: unknown): void {
  table(reg).meta.delete(key);
}

// ------------------------------------------------------------------ via names

/** The via-module of one registry (and one value to register with). */
class RegistryVia implements ViaModule {
  constructor(
    readonly registry: RegistryName,
    readonly value: unknown,
  ) {}

  private table(): RegistryTable {
    const t = table(this.registry);
    if (!t.unique) throw new ViaDuplicateRegistryError(t.name);
    return t;
  }

  whereisName(key: unknown): Pid | undefined {
    return this.table().whereis(key);
  }

  registerName(key: unknown, pid: Pid): { ok: true } | { ok: false; holder: Pid } {
    const r = this.table().register(pid, key, this.value);
    return r.ok ? { ok: true } : { ok: false, holder: r.error.alreadyRegistered };
  }

  unregisterName(key: unknown): void {
    const t = this.table();
    const self = t.node.self();
    const holder = self === t.node.systemPid ? t.whereis(key) : self;
    if (holder !== undefined) t.unregister(holder, key);
  }
}

const plainVias = new Map<string, RegistryVia>();
const plainViasByPid = new Map<string, RegistryVia>();

/**
 * A via-name for GenServer `start` (`name`) and `call` / `cast` / `stop`: Elixir's
 * `{:via, Registry, {reg, key}}`, or `{reg, key, value}` with a value. Only unique registries
 * support via-names: a duplicate one throws `ViaDuplicateRegistryError` (here when the registry
 * is already running, else when the name is used).
 */
export function via(reg: RegistryName, key: unknown, value?: unknown): ViaName {
  const t =
    typeof reg === "string"
      ? tablesByNode.get(currentNodeOrDefault())?.get(reg)
      : reg instanceof Pid
        ? tablesByPid.get(reg.key)
        : undefined;
  if (t?.alive && !t.unique) throw new ViaDuplicateRegistryError(t.name);
  if (value !== undefined) return { via: new RegistryVia(reg, value), key };
  const cache = typeof reg === "string" ? plainVias : plainViasByPid;
  const k = typeof reg === "string" ? reg : reg.key;
  let m = cache.get(k);
  if (m === undefined) cache.set(k, (m = new RegistryVia(reg, undefined)));
  return { via: m, key };
}

/**
 * Sends `msg` to the holder of `key` in a unique registry (Elixir's via `send`). Throws
 * `NoProcError` when no live process holds the key.
 */
export function send(reg: RegistryName, key: unknown, msg: unknown): void {
  const t = uniqueTable(reg, "send");
  const pid = t.whereis(key);
  if (pid === undefined) throw new NoProcError({ registry: reg, key });
  t.node.send(pid, msg);
}
