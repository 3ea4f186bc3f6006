/**
 * Test helper: spawns `fixtures/peer-node.ts` as a separate OS process (node + tsx), collects its
 * JSON event lines, and lets a test signal it (SIGKILL, SIGSTOP, SIGCONT, SIGTERM). Every child is
 * killed when the test process exits. Imports node:child_process, node:path, node:url.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, "fixtures", "peer-node.ts");
const children = new Set<ChildProcess>();

process.once("exit", () => {
  for (const c of children) {
    try {
      c.kill("SIGCONT");
      c.kill("SIGKILL");
    } catch {
      // gone
    }
  }
});

/** One event line printed by the child. */
export type ChildEvent = { ev: string } & Record<string, unknown>;

/** A transport node in its own process. */
export class ChildNode {
  readonly events: ChildEvent[] = [];
  readonly exited: Promise<void>;
  private readonly proc: ChildProcess;
  private stderr = "";

  constructor(config: {
    servers: string[];
    cluster: string;
    node: string;
    incarnation: number;
    timings: Record<string, number>;
    busy?: boolean;
  }) {
    this.proc = spawn(process.execPath, ["--import", "tsx", fixture, JSON.stringify(config)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(this.proc);
    let buf = "";
    this.proc.stdout!.setEncoding("utf8");
    this.proc.stdout!.on("data", (chunk: string) => {
      buf += chunk;
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as ChildEvent);
        } catch {
          // not ours
        }
        nl = buf.indexOf("\n");
      }
    });
    this.proc.stderr!.setEncoding("utf8");
    this.proc.stderr!.on("data", (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.proc.once("exit", () => {
        children.delete(this.proc);
        resolve();
      });
    });
  }

  /** Whether the child printed an event matching `pred`. */
  saw(pred: (e: ChildEvent) => boolean): boolean {
    return this.events.some(pred);
  }

  /** Whatever the child wrote on stderr (for failure messages). */
  errors(): string {
    return this.stderr;
  }

  /** Sends a signal to the child. */
  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  /** Ends the child (resumed first if stopped) and waits for it. */
  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill("SIGCONT");
    this.proc.kill("SIGKILL");
    await this.exited;
  }
}
