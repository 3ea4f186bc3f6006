/**
 * What `Supervisor` and `DynamicSupervisor` share: a handler-driven process trapping exits
 * (no GenServer layer in between, so a child operation costs one message and no closure),
 * started synchronously with `init` and answering the GenServer wire format, so that
 * `GenServer.call`/`GenServer.stop` and names/via-names work on supervisors too. An EXIT from
 * the parent (the process that started it linked) makes it stop its children and exit with the
 * same reason; other EXITs go to the concrete supervisor.
 * Imports `process`, `server` and its own `reports`.
 */
import { PendingCall } from "../process/calls.js";
import { CallExitError, CallTimeoutError } from "../process/errors.js";
import { ExitMessage } from "../process/messages.js";
import {
  currentNodeOrDefault,
  type Dest,
  type From,
  type Node,
  type ProcessContext,
} from "../process/node.js";
import { Pid } from "../process/pid.js";
import { type Proc, Status } from "../process/proc.js";
import { isThenable } from "../process/thenable.js";
import { StartCrashError, StopTimeoutError } from "../server/errors.js";
import { callOn, linkTarget, startNode } from "../server/gen-server.js";
import { isViaName, type ServerDest, type ViaName } from "../server/protocol.js";
import type { StartResult } from "../server/results.js";

const GEN_CALL = "$gen_call";
const GEN_STOP = "$gen_stop";

/** Self-message asking to retry a failed restart. */
export class RetryRestart {
  constructor(readonly child: unknown) {}
}

/** Base of the supervisor processes. */
export abstract class SupervisorCore {
  proc!: Proc;
  parent: Pid | undefined = undefined;
  /** Set once the supervisor has begun stopping its children to exit. */
  terminating = false;

  constructor(readonly node: Node) {}

  /** Runs inside the new process; resolves the start result. Must not throw. */
  abstract init(): StartResult | Promise<StartResult>;
  /** Answers a client request (sync value or promise). */
  protected abstract onCall(op: string, arg: unknown): unknown;
  /** An EXIT from anyone but the parent. */
  protected abstract onExitMessage(msg: ExitMessage): unknown;
  /** A `RetryRestart` self-message. */
  protected abstract onRetry(child: unknown): unknown;
  /** Stops every child (order per kind); sync when possible. */
  protected abstract stopAllChildren(): unknown;

  readonly handle = (msg: unknown): unknown => {
    if (this.terminating) return undefined;
    if (msg instanceof ExitMessage) {
      if (this.parent !== undefined && msg.from.equals(this.parent)) return this.exit(msg.reason);
      return this.onExitMessage(msg);
    }
    if (msg instanceof RetryRestart) return this.onRetry(msg.child);
    // A local call arrives as the pending call itself; a call from another node as an array.
    if (msg instanceof PendingCall && msg.tag === GEN_CALL)
      return this.answer(msg, this.onCall(msg.name!, msg.arg));
    if (Array.isArray(msg)) {
      if (msg[0] === GEN_CALL) return this.answer(msg[1] as From, this.onCall(msg[2] as string, msg[3]));
      if (msg[0] === GEN_STOP) {
        const from = msg[1] as From;
        this.node.onExit(this.proc.pid, () => this.node.reply(from, "ok"));
        return this.exit(msg[2]);
      }
    }
    this.node.logger.debug(
      { pid: String(this.proc.pid), msg: String(msg) },
      "supervisor: unexpected message",
    );
    return undefined;
  };

  private answer(from: From, r: unknown): unknown {
    if (isThenable(r)) return Promise.resolve(r).then((v) => this.node.reply(from, v));
    this.node.reply(from, r);
    return undefined;
  }

  /** Stops all children, then exits with `reason`. */
  exit(reason: unknown): unknown {
    if (this.terminating) return undefined;
    this.terminating = true;
    const r = this.stopAllChildren();
    if (isThenable(r)) return Promise.resolve(r).then(() => this.node.terminate(this.proc, reason));
    this.node.terminate(this.proc, reason);
    return undefined;
  }

  get alive(): boolean {
    return this.proc.status !== Status.Dead;
  }
}

/**
 * Spawns a supervisor process running `core.init()` first; resolves with its start result.
 * Linked to `linkTo` when given. A taken name gives `{ ok: false, error: { alreadyStarted } }`.
 */
export function spawnSupervisor(
  core: SupervisorCore,
  behaviourName: string,
  name: string | ViaName | undefined,
  linkTo: Pid | undefined,
): Promise<StartResult> {
  const node = core.node;
  if (typeof name === "string") {
    const holder = node.whereis(name);
    if (holder !== undefined) return Promise.resolve({ ok: false, error: { alreadyStarted: holder } });
  } else if (name !== undefined) {
    const holder = name.via.whereisName(name.key);
    if (holder !== undefined) return Promise.resolve({ ok: false, error: { alreadyStarted: holder } });
  }
  return new Promise((resolve) => {
    const finish = (r: StartResult): void => {
      if (r.ok) {
        resolve(r);
        return;
      }
      resolve(r);
      if (core.proc.status !== Status.Dead) node.terminate(core.proc, "ignore" in r ? "normal" : r.error);
    };
    const { proc } = node.spawnHandler(
      core.handle,
      () => {
        let r: StartResult | Promise<StartResult>;
        try {
          r = core.init();
        } catch (e) {
          // A module `init` that throws: a crashed start, as a GenServer `init` that throws.
          r = { ok: false, error: new StartCrashError(`${behaviourName}.init`, e) };
        }
        if (isThenable(r)) return Promise.resolve(r).then(finish);
        finish(r);
        return undefined;
      },
      {
        link: linkTo ?? false,
        name: typeof name === "string" ? name : undefined,
        trapExit: true,
        behaviour: behaviourName,
      },
    );
    core.proc = proc;
    core.parent = linkTo;
    const pid = proc.pid;
    const key = pid.key;
    supervisorNodes.set(key, node);
    supervisorByPid.set(pid, node);
    node.onExit(pid, () => {
      supervisorNodes.delete(key);
      supervisorByPid.delete(pid);
    });
    if (name !== undefined && typeof name !== "string") {
      const reg = name.via.registerName(name.key, proc.pid);
      if (!reg.ok) {
        node.terminate(proc, "normal");
        resolve({ ok: false, error: { alreadyStarted: reg.holder } });
        return;
      }
    }
  });
}

/**
 * The node a start uses, and the pid to link to for `startLink`: `linkTo` when given (a pid or
 * the `ctx` of an async process after an `await`), else the calling process (none outside
 * processes). The same rules as `GenServer.startLink`'s.
 */
export function startContext(
  nodeOption: Node | undefined,
  link: boolean,
  linkTo?: Pid | ProcessContext,
): { node: Node; linkTo: Pid | undefined } {
  if (!link) return { node: nodeOption ?? currentNodeOrDefault(), linkTo: undefined };
  const node = startNode(nodeOption, linkTo);
  return { node, linkTo: linkTarget(node, linkTo) };
}

/**
 * The node of each live supervisor, by pid key: lets the client API reach a supervisor on any
 * `Node` of the program (several nodes in one process) from outside its processes.
 */
const supervisorNodes = new Map<string, Node>();
/** The same by the pid object a start returned: what callers pass, found without building a key. */
const supervisorByPid = new WeakMap<Pid, Node>();

/** Sends a supervisor request and waits (forever by default, as OTP's supervisor API does). */
export function supervisorCall(
  sup: ServerDest<unknown>,
  op: string,
  arg: unknown,
  timeoutMs = Number.POSITIVE_INFINITY,
): Promise<unknown> {
  const node = nodeFor(sup);
  if (isViaName(sup) && sup.via.whereisName(sup.key) === undefined) {
    return Promise.reject(new CallExitError("noproc", sup));
  }
  return callOn(node, sup as ServerDest<any>, op, arg, timeoutMs);
}

function nodeFor(sup: ServerDest<unknown>): Node {
  if (!(sup instanceof Pid)) return currentNodeOrDefault();
  return supervisorByPid.get(sup) ?? supervisorNodes.get(sup.key) ?? currentNodeOrDefault();
}

/**
 * Stops a supervisor with `reason` and resolves once it is dead (as `GenServer.stop`, on the
 * supervisor's own node). Rejects `CallExitError` (`noproc`) for a dead one, `StopTimeoutError`.
 */
export async function stopSupervisor(
  sup: ServerDest<unknown>,
  reason: unknown,
  timeoutMs = Number.POSITIVE_INFINITY,
): Promise<void> {
  const node = nodeFor(sup);
  const dest: Dest | undefined = isViaName(sup) ? sup.via.whereisName(sup.key) : (sup as Dest);
  if (dest === undefined) throw new CallExitError("noproc", sup);
  try {
    await node.call(dest, (from) => [GEN_STOP, from, reason], timeoutMs);
  } catch (e) {
    if (e instanceof CallExitError && e.reason === reason) return;
    if (e instanceof CallTimeoutError) throw new StopTimeoutError(sup, timeoutMs);
    throw e;
  }
}
