/**
 * `Pacer`: keeps a hub from holding its node's event loop for long stretches during huge starts,
 * stops and registry syncs. A hub message carries up to a thousand children, and the process
 * runtime yields to the event loop by number of messages (`yieldEvery`), not by their weight, so
 * a mailbox of a few hundred such messages, or one call that sends them, could run for seconds
 * in one macrotask. Meanwhile the node reads nothing from its sockets: nats-server closes a
 * client that does not read for its write deadline (a slow consumer), and heartbeats, probes and
 * answers wait. Two bounds, both by time spent in the current macrotask (`TURN_MS`):
 *
 * - `after(result)`: once the hub process has run that long, its handler returns a promise that
 *   settles on `setImmediate`, which suspends the process until the event loop has turned; the
 *   loops over the children of one message (starting, stopping) await `yieldIfDue` between
 *   children, since a start goes on after the handler returned.
 * - `send`: once that long has passed, messages go to an outbox, sent in order (one FIFO for all
 *   destinations, so no message overtakes an earlier one to the same node) `TURN_MS` at a time
 *   from later macrotasks. `flush` sends what is left at once (a stopping hub's last words).
 *
 * Below the bound nothing changes: a hub of ten thousand children never waits. Imports the
 * process runtime's `isThenable` only.
 */
import { isThenable } from "../process/thenable.js";

/** Longest stretch, in ms, the hub works or sends in one macrotask before yielding. */
export const TURN_MS = 20;

export class Pacer {
  /** When the current macrotask's hub work began (-1: none yet in this macrotask). */
  private turnAt = -1;
  private readonly outbox: Array<readonly [string, unknown]> = [];
  private draining = false;

  constructor(private readonly sendNow: (node: string, msg: unknown) => void) {}

  /** Milliseconds the hub has run in the current macrotask (starting the count if not yet). */
  private elapsed(): number {
    const now = performance.now();
    if (this.turnAt < 0) {
      this.turnAt = now;
      setImmediate(this.newTurn);
      return 0;
    }
    return now - this.turnAt;
  }

  private readonly newTurn = (): void => {
    this.turnAt = -1;
  };

  /**
   * What the hub handler returns after handling a message that returned `result`: `result`
   * itself, or (past the bound) a promise that settles after it and one turn of the event loop.
   */
  after(result: unknown): unknown {
    const turn = this.yieldIfDue();
    if (turn === null) return result;
    return isThenable(result) ? Promise.resolve(result).then(() => turn) : turn;
  }

  /** Whether the hub (and its callers' side of starts and stops) ran its bound in this macrotask. */
  due(): boolean {
    return this.elapsed() >= TURN_MS;
  }

  /** Null within the bound, otherwise a promise that settles once the event loop has turned. */
  yieldIfDue(): Promise<void> | null {
    if (!this.due()) return null;
    return new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Sends `msg` to `node` now, or after what waits in the outbox. */
  send(node: string, msg: unknown): void {
    if (this.outbox.length === 0 && this.elapsed() < TURN_MS) return this.sendNow(node, msg);
    this.outbox.push([node, msg]);
    if (!this.draining) {
      this.draining = true;
      setImmediate(this.drain);
    }
  }

  /** Messages waiting in the outbox (diagnostics). */
  get waiting(): number {
    return this.outbox.length;
  }

  private readonly drain = (): void => {
    const start = performance.now();
    const box = this.outbox;
    let i = 0;
    try {
      while (i < box.length && performance.now() - start < TURN_MS) {
        const [node, msg] = box[i++]!;
        this.sendNow(node, msg);
      }
    } finally {
      // A send that threw (a bug; it propagates) must not leave the outbox stuck for good:
      // `draining` would stay set and every later message of this hub would wait in it.
      box.splice(0, i);
      if (box.length > 0) setImmediate(this.drain);
      else this.draining = false;
    }
  };

  /** Sends everything waiting in the outbox now. */
  flush(): void {
    const box = this.outbox.splice(0);
    for (const [node, msg] of box) this.sendNow(node, msg);
  }
}
