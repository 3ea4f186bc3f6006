/**
 * Controller side of `hub-node.ts`: spawns a hub node as a separate OS process (`node --import
 * tsx`), waits for it to join, sends it JSON-line commands and resolves each with its answer, and
 * signals it (SIGKILL for crashes). Every spawned process is killed when this program exits. Used
 * by the NATS demo, the multi-process hub test and the NATS hub benchmark. Imports node:child_process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { HubNodeConfig } from "./hub-node.js";

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, "hub-node.ts");
// tsx reads the `paths` that map `hubvisor` to `src/` from the tsconfig.json of its working
// directory, so the node runs in the repository whatever the controller's directory is.
const repoRoot = join(here, "..");
const live = new Set<ChildProcess>();
let hooked = false;

/** One line printed by a hub node. */
export type HubNodeEvent = { ev: string } & Record<string, unknown>;

/** A hub node running in its own OS process. */
export class HubNodeProcess {
  readonly events: HubNodeEvent[] = [];
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  private readonly proc: ChildProcess;
  private readonly waiting = new Map<number, (r: HubNodeEvent) => void>();
  private nextId = 1;
  private stderr = "";

  /** `execArgv`: flags for the node process (`--expose-gc`, `--cpu-prof`, ...). */
  constructor(
    readonly config: HubNodeConfig,
    execArgv: readonly string[] = [],
  ) {
    this.proc = spawn(process.execPath, [...execArgv, "--import", "tsx", script, JSON.stringify(config)], {
      stdio: ["pipe", "pipe", "pipe"],
      cwd: repoRoot,
    });
    live.add(this.proc);
    installExitHook();
    let readyFn!: () => void;
    let failFn!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      readyFn = res;
      failFn = rej;
    });
    let buf = "";
    this.proc.stdout!.setEncoding("utf8");
    this.proc.stdout!.on("data", (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let e: HubNodeEvent;
        try {
          e = JSON.parse(line) as HubNodeEvent;
        } catch {
          continue;
        }
        if (e.ev === "ready") readyFn();
        if (e.ev === "reply" && typeof e.id === "number") {
          const w = this.waiting.get(e.id);
          this.waiting.delete(e.id);
          w?.(e);
        } else this.events.push(e);
      }
    });
    this.proc.stderr!.setEncoding("utf8");
    this.proc.stderr!.on("data", (c: string) => {
      this.stderr = (this.stderr + c).slice(-8000);
    });
    this.exited = new Promise((resolve) => {
      this.proc.once("exit", (code, signal) => {
        live.delete(this.proc);
        failFn(new Error(`hub node ${config.node} exited (${code ?? signal}): ${this.stderr}`));
        for (const w of this.waiting.values()) w({ ev: "reply", error: "exited" });
        this.waiting.clear();
        resolve();
      });
    });
    this.ready.catch(() => {});
  }

  get name(): string {
    return this.config.node;
  }

  /** OS process id. */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Whatever the node wrote on stderr lately (for failure messages). */
  errors(): string {
    return this.stderr;
  }

  /** Sends a command and resolves with the node's answer. */
  request(cmd: string, args: Record<string, unknown> = {}): Promise<HubNodeEvent> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.proc.stdin!.write(`${JSON.stringify({ cmd, id, ...args })}\n`);
    });
  }

  /** The last 8000 characters the node wrote to stderr (its warnings, with HUBVISOR_NODE_WARN=1). */
  get stderrTail(): string {
    return this.stderr;
  }

  /** Sends a signal without waiting (SIGSTOP / SIGCONT to freeze and thaw the node). */
  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  /** Sends a signal (SIGKILL by default) and waits for the process to end. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    if (signal === "SIGKILL") this.proc.kill("SIGCONT");
    this.proc.kill(signal);
    await this.exited;
  }

  /** Graceful exit (hub stop, cluster leave), SIGKILL if it takes longer than `graceMs`. */
  async exit(graceMs = 5000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    void this.request("exit");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(t);
  }
}

function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const p of live) {
      try {
        p.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

/**
 * How many copies of each child ran at one instant, from `locals` answers of several nodes taken
 * at different instants. Each answer says a copy began at `since` and still ran at `at` (the
 * answer's time), so it certainly ran all along between the two; copies on two nodes ran at once
 * only if those spans overlap. (Counting ids in the answers alone would take a child that moved
 * between two answers for two copies.)
 */
export function copiesAtOnce(
  answers: ReadonlyArray<Record<string, unknown> | undefined>,
): Map<string, number> {
  const spans = new Map<string, Array<[number, number]>>();
  for (const a of answers) {
    if (a === undefined) continue;
    const ids = (a.ids as string[] | undefined) ?? [];
    const since = a.since as number[] | undefined;
    const at = typeof a.at === "number" ? a.at : Number.POSITIVE_INFINITY;
    ids.forEach((id, i) => {
      const s = spans.get(id);
      const span: [number, number] = [since?.[i] ?? Number.NEGATIVE_INFINITY, at];
      if (s === undefined) spans.set(id, [span]);
      else s.push(span);
    });
  }
  const out = new Map<string, number>();
  for (const [id, s] of spans) {
    if (s.length === 1) {
      out.set(id, 1);
      continue;
    }
    // The most spans over one point: at some span's start, count the spans covering it.
    let most = 1;
    for (const [start] of s) {
      let n = 0;
      for (const [a, b] of s) if (a <= start && start <= b) n++;
      most = Math.max(most, n);
    }
    out.set(id, most);
  }
  return out;
}
