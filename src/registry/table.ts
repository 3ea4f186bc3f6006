/**
 * `RegistryTable`: the in-memory tables of one registry. Callers read and write them directly
 * (a lookup is a plain map read, a registration a few map writes); no message goes to the
 * registry's process. A process is linked to the registry's process on its first registration
 * and unlinked when it unregisters its last key, as Elixir links it to the registry partition: a
 * registry that dies takes its non-trapping registered processes with it, and `processInfo`
 * shows the link. Each registered process also gets one exit hook per registry, installed on its
 * first registration, that drops all its entries synchronously when it dies, for any reason
 * (Elixir's partition drops them when the EXIT arrives; the registry process, which traps exits,
 * ignores that EXIT here).
 *
 * Unique tables are partitioned by key, duplicate tables by pid, as Elixir's are; every result
 * is assembled in registration order, so nothing observable depends on the partition count.
 *
 * Imports `process` (Node, Pid, errors), its own `by-pid`, `key-map` and `pattern`.
 */
import { NoProcError } from "../process/errors.js";
import type { Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import type { Proc } from "../process/proc.js";
import { ByPid } from "./by-pid.js";
import { hashKey, KeyMap, structuredKey } from "./key-map.js";
import { matchesPattern, type ValuePattern } from "./pattern.js";

/** One `{pid, value}` pair as returned by lookups. Read-only. */
export interface RegistryEntry<V = unknown> {
  readonly pid: Pid;
  readonly value: V;
}

/** Result of `Registry.register`. `owner` is the registry's process. */
export type RegisterResult = { ok: true; owner: Pid } | { ok: false; error: { alreadyRegistered: Pid } };

/** Result of `Registry.updateValue`: the new and old values, or `ok: false` when the caller does not hold the key. */
export type UpdateResult<V = unknown> = { ok: true; new: V; old: V } | { ok: false };

/** Message sent to listeners on each explicit `register` / `unregister`. */
export type RegistryEvent =
  | { type: "register"; registry: string; key: unknown; pid: Pid; value: unknown }
  | { type: "unregister"; registry: string; key: unknown; pid: Pid };

/** True for a message a registry sends to its listeners. */
export function isRegistryEvent(msg: unknown): msg is RegistryEvent {
  return (
    typeof msg === "object" &&
    msg !== null &&
    ((msg as { type?: unknown }).type === "register" || (msg as { type?: unknown }).type === "unregister") &&
    "registry" in msg &&
    "pid" in msg
  );
}

/** One registration. A process's entries form a chain, newest first, starting in `holders`. */
interface Entry {
  readonly key: unknown;
  /** `structuredKey(key)` when registered: where the entry sits, whatever the key holds now. */
  readonly enc: string | undefined;
  readonly pid: Pid;
  /** The process of `pid`, for the exit hook (the runtime no longer finds it by pid then). */
  readonly proc: Proc;
  readonly seq: number;
  view: RegistryEntry;
  next: Entry | null;
}

function encodingOf(key: unknown): string | undefined {
  return typeof key === "object" && key !== null ? structuredKey(key) : undefined;
}

/** Whether `e` was registered under `key`, given `enc = encodingOf(key)`. */
function isKey(e: Entry, key: unknown, enc: string | undefined): boolean {
  if (e.key === key) return true;
  if (enc !== undefined) return e.enc === enc;
  return typeof key === "number" && Number.isNaN(key) && typeof e.key === "number" && Number.isNaN(e.key);
}

/** The entries of a chain in registration order. */
function chainToArray(head: Entry | null): Entry[] {
  const out: Entry[] = [];
  for (let e = head; e !== null; e = e.next) out.push(e);
  return out.reverse();
}

const bySeq = (a: Entry, b: Entry) => a.seq - b.seq;

export class RegistryTable {
  alive = true;
  owner: Pid | undefined = undefined;
  /**
   * The process the registry was started linked to: if it registers keys too, its last
   * unregister must not remove that link.
   */
  parent: Pid | undefined = undefined;
  /** The registry's process (its `Proc`), whose side of a dying holder's link the hook removes. */
  ownerProc: Proc | undefined = undefined;
  readonly unique: boolean;
  /** Unique keys map straight to the frozen `{pid, value}` view: a lookup touches one object. */
  private readonly uniq: KeyMap<RegistryEntry>[] = [];
  /** `uniq[0]` when there is one partition, for the lookup fast path. */
  private readonly uniq1: KeyMap<RegistryEntry> | null;
  private readonly dup: KeyMap<Set<Entry>>[] = [];
  /** Per registered process: its newest entry. */
  private readonly holders = new ByPid<Entry>();
  /**
   * Processes that hold no entry any more but keep their exit hook (hooks cannot be removed, so a
   * process that registers again must not get a second one), by pid number.
   */
  private readonly idle = new Map<number, Pid>();
  private seq = 0;
  private entryCount = 0;

  constructor(
    readonly name: string,
    keys: "unique" | "duplicate",
    readonly partitions: number,
    readonly listeners: ReadonlyArray<Pid | string>,
    readonly meta: Map<unknown, unknown>,
    readonly node: Node,
  ) {
    this.unique = keys === "unique";
    for (let i = 0; i < partitions; i++) {
      if (this.unique) this.uniq.push(new KeyMap());
      else this.dup.push(new KeyMap());
    }
    this.uniq1 = this.unique && partitions === 1 ? this.uniq[0]! : null;
  }

  private keyPart(key: unknown, enc: string | undefined): KeyMap<RegistryEntry> {
    return this.uniq1 ?? this.uniq[hashKey(key, enc) % this.partitions]!;
  }

  private pidPart(pid: Pid): KeyMap<Set<Entry>> {
    return this.dup[this.partitions === 1 ? 0 : pid.id % this.partitions]!;
  }

  /** Registers `pid` under `key`; throws `NoProcError` for a pid that is not a live local process. */
  register(pid: Pid, key: unknown, value: unknown): RegisterResult {
    const enc = encodingOf(key);
    if (this.unique) {
      const part = this.keyPart(key, enc);
      const held = part.getAt(key, enc);
      if (held !== undefined) {
        if (this.node.isAlive(held.pid)) return { ok: false, error: { alreadyRegistered: held.pid } };
        this.dropHolder(held.pid);
      }
      const entry = this.add(pid, key, enc, value);
      part.setAt(key, enc, entry.view);
    } else {
      const part = this.pidPart(pid);
      const entry = this.add(pid, key, enc, value);
      const set = part.getAt(key, enc);
      if (set === undefined) part.setAt(key, enc, new Set([entry]));
      else set.add(entry);
    }
    if (this.listeners.length > 0) {
      this.notify({ type: "register", registry: this.name, key, pid, value });
    }
    return { ok: true, owner: this.owner! };
  }

  private add(pid: Pid, key: unknown, enc: string | undefined, value: unknown): Entry {
    let head = this.holders.get(pid.id);
    let proc: Proc;
    if (head === undefined || (head.pid !== pid && !head.pid.equals(pid))) {
      head = undefined;
      const idle = this.idle.size === 0 ? undefined : this.idle.get(pid.id);
      if (idle?.equals(pid)) this.idle.delete(pid.id);
      else if (!this.node.onExit(pid, this.onHolderExit)) throw new NoProcError(pid);
      proc = this.node.proc(pid)!;
      // Its first entry (since it last held none): link it to the registry's process.
      this.node.link(pid, this.owner!);
    } else proc = head.proc;
    const entry: Entry = {
      key,
      enc,
      pid,
      proc,
      seq: this.seq++,
      view: Object.freeze({ pid, value }),
      next: head ?? null,
    };
    this.holders.set(entry);
    this.entryCount++;
    return entry;
  }

  /** The chain of `pid`, if it holds anything. */
  private chainOf(pid: Pid): Entry | undefined {
    const head = this.holders.get(pid.id);
    return head !== undefined && (head.pid === pid || head.pid.equals(pid)) ? head : undefined;
  }

  /** Removes `pid`'s entries under `key` (all of them: a duplicate key may be held many times). */
  unregister(pid: Pid, key: unknown, pattern?: ValuePattern): number {
    const head = this.chainOf(pid);
    let removed = 0;
    if (head !== undefined) {
      const enc = encodingOf(key);
      let kept: Entry | null = null;
      for (const e of chainToArray(head)) {
        if (isKey(e, key, enc) && (pattern === undefined || matchesPattern(pattern, e.view.value))) {
          this.removeFromPart(e);
          removed++;
        } else {
          e.next = kept;
          kept = e;
        }
      }
      if (kept !== null) this.holders.set(kept);
      else {
        this.holders.delete(pid.id);
        this.idle.set(pid.id, head.pid);
        // Its last entry went: unlink it, as Elixir does, unless the link is the one the
        // registry was started with.
        if (this.parent === undefined || !this.parent.equals(pid)) this.node.unlink(pid, this.owner!);
      }
      this.entryCount -= removed;
    }
    if (this.listeners.length > 0 && (pattern === undefined || removed > 0)) {
      this.notify({ type: "unregister", registry: this.name, key, pid });
    }
    return removed;
  }

  private removeFromPart(e: Entry): void {
    if (this.unique) {
      // A unique key's slot always holds the view of the one entry registered under it.
      this.keyPart(e.key, e.enc).deleteAt(e.key, e.enc);
    } else {
      const part = this.pidPart(e.pid);
      const set = part.getAt(e.key, e.enc);
      if (set !== undefined) {
        set.delete(e);
        if (set.size === 0) part.deleteAt(e.key, e.enc);
      }
    }
  }

  /**
   * The exit hook: drops every entry of the dead process (listeners are not told) and removes its
   * link to the registry before the runtime fires its links (hooks run first): the registry
   * would only ignore that EXIT, and 100k registered processes exiting at once would queue 100k
   * EXITs in it. The link the registry was started with stays: its EXIT stops the registry.
   */
  private readonly onHolderExit = (pid: Pid): void => {
    if (!this.alive) return;
    const head = this.chainOf(pid);
    if (head !== undefined && (this.parent === undefined || !this.parent.equals(pid))) {
      head.proc.removeLink(this.owner!);
      this.ownerProc?.removeLink(pid);
    }
    this.dropHolder(pid);
  };

  private dropHolder(pid: Pid): void {
    const head = this.chainOf(pid);
    if (head === undefined) {
      if (this.idle.size > 0 && this.idle.get(pid.id)?.equals(pid)) this.idle.delete(pid.id);
      return;
    }
    this.holders.delete(pid.id);
    for (let e: Entry | null = head; e !== null; e = e.next) {
      this.removeFromPart(e);
      this.entryCount--;
    }
  }

  /** The live holder of a unique key. */
  whereis(key: unknown): Pid | undefined {
    const enc = encodingOf(key);
    const v = this.keyPart(key, enc).getAt(key, enc);
    if (v === undefined || !this.node.isAlive(v.pid)) return undefined;
    return v.pid;
  }

  lookup(key: unknown): RegistryEntry[] {
    const u = this.uniq1;
    if (u !== null) {
      const v = u.get(key);
      return v === undefined ? [] : [v];
    }
    if (this.unique) {
      const enc = encodingOf(key);
      const v = this.keyPart(key, enc).getAt(key, enc);
      return v === undefined ? [] : [v];
    }
    return this.dupEntries(key).map((e) => e.view);
  }

  private dupEntries(key: unknown): Entry[] {
    if (this.partitions === 1) {
      const set = this.dup[0]!.get(key);
      return set === undefined ? [] : [...set];
    }
    const enc = encodingOf(key);
    const all: Entry[] = [];
    for (const part of this.dup) {
      const set = part.getAt(key, enc);
      if (set !== undefined) for (const e of set) all.push(e);
    }
    return all.sort(bySeq);
  }

  match(key: unknown, pattern: ValuePattern): RegistryEntry[] {
    return this.lookup(key).filter((e) => matchesPattern(pattern, e.value));
  }

  keysOf(pid: Pid): unknown[] {
    const head = this.chainOf(pid);
    return head === undefined ? [] : chainToArray(head).map((e) => e.key);
  }

  valuesOf(key: unknown, pid: Pid): unknown[] {
    const head = this.chainOf(pid);
    if (head === undefined) return [];
    const enc = encodingOf(key);
    const out: unknown[] = [];
    for (const e of chainToArray(head)) if (isKey(e, key, enc)) out.push(e.view.value);
    return out;
  }

  get count(): number {
    return this.entryCount;
  }

  updateValue(pid: Pid, key: unknown, fn: (old: unknown) => unknown): UpdateResult {
    const enc = encodingOf(key);
    const part = this.keyPart(key, enc);
    const v = part.getAt(key, enc);
    if (v === undefined || !v.pid.equals(pid)) return { ok: false };
    let e = this.chainOf(pid) ?? null;
    while (e !== null && e.view !== v) e = e.next;
    if (e === null) return { ok: false };
    const next = fn(v.value);
    e.view = Object.freeze({ pid, value: next });
    part.setAt(e.key, e.enc, e.view);
    return { ok: true, new: next, old: v.value };
  }

  private notify(event: RegistryEvent): void {
    for (const l of this.listeners) {
      try {
        this.node.send(l, event);
      } catch (e) {
        if (!(e instanceof NoProcError)) throw e;
      }
    }
  }

  /**
   * The registry's process died: the table is gone. The processes still registered are linked to
   * it, so its exit signal reaches them through those links (the runtime sends it right after
   * this exit hook).
   */
  destroy(): void {
    this.alive = false;
    this.holders.clear();
    this.idle.clear();
    for (const p of this.uniq) p.clear();
    for (const p of this.dup) p.clear();
    this.entryCount = 0;
  }
}
