/**
 * What `Supervisor` and `DynamicSupervisor` share: a handler-driven process trapping exits
 * (no GenServer layer in between, so a child operation costs one message and no closure),
 * started synchronously with `init` and answering the GenServer wire format, so that
 * `GenServer.call`/`GenServer.stop` and names/via-names work on supervisors too. An EXIT from
 * the parent (the process that started it linked) makes it stop its children and exit with the
 * same reason; other EXITs go to the concrete supervisor. Spawning one is `supervisor-start.ts`,
 * calling one `supervisor-client.ts`. Imports `process`, `server`, the root `logger` (`printTerm`).
 */
import { printTerm } from "../logger.js";
import { PendingCall } from "../process/calls.js";
import { ExitMessage } from "../process/messages.js";
import type { From, Node } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import { type Proc, Status } from "../process/proc.js";
import { isThenable } from "../process/thenable.js";
import type { StartResult } from "../server/results.js";
import { GEN_CALL, GEN_STOP } from "../server/server-process.js";

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
      { supervisor: String(this.proc.pid), message: printTerm(msg) },
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
