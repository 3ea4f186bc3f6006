/**
 * The entity scenarios' bed over NATS: each hub node is its own OS process (`entity-node.ts`)
 * on one `nats-server` of the test harness, so a kill is a real SIGKILL — the node's processes,
 * connection and timers vanish at once, and its peers learn of it only from the transport's
 * probes. Commands go to the processes as JSON lines.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EntityBed } from "./entity-scenarios.js";
import type { DriveOptions, DriveStats } from "./room.js";

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, "entity-node.ts");
let seq = 0;

/** One entity node process. */
class EntityNode {
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  private readonly proc: ChildProcess;
  private readonly waiting = new Map<number, (r: Record<string, unknown>) => void>();
  private next = 1;
  private stderr = "";

  constructor(config: { nats: string; node: string; cluster: string; clientOnly?: boolean }) {
    this.proc = spawn(process.execPath, ["--import", "tsx", script, JSON.stringify(config)], {
      stdio: ["pipe", "pipe", "pipe"],
      cwd: join(here, "..", "..", ".."),
    });
    let ready!: () => void;
    let fail!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      ready = res;
      fail = rej;
    });
    this.ready.catch(() => {});
    let buf = "";
    this.proc.stdout!.setEncoding("utf8");
    this.proc.stdout!.on("data", (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let e: Record<string, unknown>;
        try {
          e = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (e.ev === "ready") ready();
        else if (e.ev === "reply" && typeof e.id === "number") {
          this.waiting.get(e.id)?.(e);
          this.waiting.delete(e.id);
        }
      }
    });
    this.proc.stderr!.setEncoding("utf8");
    this.proc.stderr!.on("data", (c: string) => {
      this.stderr = (this.stderr + c).slice(-4000);
    });
    this.exited = new Promise((resolve) =>
      this.proc.once("exit", (code, signal) => {
        fail(new Error(`entity node ${config.node} exited (${code ?? signal}): ${this.stderr}`));
        for (const w of this.waiting.values()) w({ error: "exited" });
        this.waiting.clear();
        resolve();
      }),
    );
  }

  request(cmd: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (r) => (r.error !== undefined ? reject(new Error(String(r.error))) : resolve(r)));
      this.proc.stdin!.write(`${JSON.stringify({ ...args, cmd, id })}\n`);
    });
  }

  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill("SIGKILL");
    await this.exited;
  }
}

export class NatsEntityBed implements EntityBed {
  private readonly nodes = new Map<string, EntityNode>();
  /** Nodes whose hub was drained (stopped): no longer asked about members. */
  private readonly drained = new Set<string>();
  private readonly cluster = `ent${process.pid}x${seq++}`;

  constructor(private readonly url: () => Promise<string>) {}

  private node(name: string): EntityNode {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  async start(names: string[], clientOnly: string[] = []): Promise<void> {
    const nats = await this.url();
    for (const node of names)
      this.nodes.set(
        node,
        new EntityNode({ nats, node, cluster: this.cluster, clientOnly: clientOnly.includes(node) }),
      );
    await Promise.all([...this.nodes.values()].map((n) => n.ready));
    await this.formed();
  }

  /** Waits (bounded) until every running hub's members are exactly the running nodes. */
  private async formed(): Promise<void> {
    const names = [...this.nodes.keys()].filter((n) => !this.drained.has(n));
    const want = [...names].sort().join();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const views = await Promise.all(names.map((n) => this.node(n).request("members")));
      if (views.every((v) => (v.members as string[]).join() === want)) return;
      if (Date.now() > deadline) throw new Error(`hub not formed: ${JSON.stringify(views)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async join(node: string): Promise<void> {
    const n = new EntityNode({ nats: await this.url(), node, cluster: this.cluster });
    this.nodes.set(node, n);
    await n.ready;
    await this.formed();
  }

  async drain(node: string, deadlineMs: number) {
    this.drained.add(node);
    const r = await this.node(node).request("drain", { deadlineMs });
    return r.result as { migrated: number; forced: number };
  }

  async stopDrives(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.request("stopDrive").catch(() => {})));
  }

  async ensure(node: string, ids: string[]): Promise<string[]> {
    return (await this.node(node).request("ensure", { ids })).pids as string[];
  }

  async drive(node: string, o: DriveOptions & { untilStopped?: boolean }): Promise<DriveStats> {
    return (await this.node(node).request("drive", { ...o })).stats as DriveStats;
  }

  async settled(node: string, timeoutMs: number): Promise<string> {
    return (await this.node(node).request("settled", { timeoutMs })).problem as string;
  }

  async census(node: string) {
    const r = await this.node(node).request("census");
    return { local: r.local as number, placements: r.placements as number, size: r.size as number };
  }

  async crash(node: string, ids: string[]): Promise<number> {
    return (await this.node(node).request("crash", { ids })).killed as number;
  }

  async kill(node: string): Promise<void> {
    await this.node(node).kill();
    this.nodes.delete(node);
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.kill()));
    this.nodes.clear();
  }
}
