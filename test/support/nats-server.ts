/**
 * Test harness for real `nats-server` processes: one server or a routed cluster of servers, each
 * on free loopback ports (never 4222, which may belong to a server outside the tests), with stop,
 * kill (any signal) and restart on the same ports. Every server started is tracked and killed when
 * the test process exits; call `stopAllNatsServers()` in `afterAll`. A missing binary fails loudly.
 * Imports node:child_process, node:fs, node:net, node:path.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

const live = new Set<NatsServer>();
let exitHookInstalled = false;

/** Finds the nats-server binary (`NATS_SERVER` env, /usr/sbin, /usr/bin, then PATH) or throws. */
export function natsServerBinary(): string {
  const candidates = [
    process.env.NATS_SERVER,
    "/usr/sbin/nats-server",
    "/usr/bin/nats-server",
    ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "nats-server")),
  ].filter((p): p is string => typeof p === "string" && p.length > 0);
  for (const p of candidates) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    "nats-server not found (looked at $NATS_SERVER, /usr/sbin, /usr/bin and PATH). " +
      "The NATS transport tests need it: install it with `apt-get install nats-server` (CI's .ci/run does).",
  );
}

/** A free TCP port on 127.0.0.1 (never 4222). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const addr = srv.address();
        const p = typeof addr === "object" && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port !== 4222 && port > 0) return port;
  }
}

/** Cluster settings of one server. */
export interface RouteOptions {
  clusterName: string;
  clusterPort: number;
  routePorts: number[];
}

/** One nats-server process, restartable on the same ports. */
export class NatsServer {
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log: string[] = [];

  constructor(
    readonly name: string,
    readonly port: number,
    readonly monitorPort: number,
    readonly routes?: RouteOptions,
    /** Largest message the server accepts (the server's own default is 1 MiB). */
    readonly maxPayload?: number,
    /** Token every client must present (`--auth`). */
    readonly authToken?: string,
    /** Configuration text for `-c` (e.g. `natsServerConfig`'s accounts), added to `maxPayload`'s. */
    readonly config?: string,
    /** JetStream on, storing in this directory (kept across restarts: `-js -sd`). */
    readonly jetStreamDir?: string,
  ) {}

  /** Client URL, e.g. `nats://127.0.0.1:41234`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Process id while running. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Last lines of the server's log, for failure messages. */
  recentLog(): string {
    return this.log.slice(-30).join("\n");
  }

  /** Starts the process and resolves once it accepts clients. */
  async start(): Promise<void> {
    if (this.proc) return;
    const args = [
      "-a",
      "127.0.0.1",
      "-p",
      String(this.port),
      "-m",
      String(this.monitorPort),
      "-n",
      this.name,
    ];
    if (this.maxPayload !== undefined || this.config !== undefined) {
      const dir = mkdtempSync(join(tmpdir(), "hv-nats-"));
      const conf = join(dir, "server.conf");
      // A JSON configuration is one object: the payload limit goes inside it.
      const settings = this.config === undefined ? {} : (JSON.parse(this.config) as Record<string, unknown>);
      if (this.maxPayload !== undefined) settings.max_payload = this.maxPayload;
      writeFileSync(conf, JSON.stringify(settings));
      args.push("-c", conf);
    }
    if (this.authToken !== undefined) args.push("--auth", this.authToken);
    if (this.jetStreamDir !== undefined) args.push("-js", "-sd", this.jetStreamDir);
    if (this.routes) {
      args.push(
        "--cluster_name",
        this.routes.clusterName,
        "--cluster",
        `nats://127.0.0.1:${this.routes.clusterPort}`,
      );
      const others = this.routes.routePorts.map((p) => `nats://127.0.0.1:${p}`).join(",");
      if (others) args.push("--routes", others);
    }
    const proc = spawn(natsServerBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
    this.proc = proc;
    this.log = [];
    live.add(this);
    installExitHook();
    let ready!: () => void;
    let failed!: (e: Error) => void;
    const readyP = new Promise<void>((res, rej) => {
      ready = res;
      failed = rej;
    });
    proc.stderr!.setEncoding("utf8");
    proc.stderr!.on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) if (line) this.log.push(line);
      if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
      if (chunk.includes("Server is ready")) ready();
    });
    this.exited = new Promise<void>((resolve) => {
      proc.once("exit", (code, signal) => {
        if (this.proc === proc) this.proc = undefined;
        live.delete(this);
        failed(new Error(`nats-server ${this.name} exited early (${code ?? signal}):\n${this.recentLog()}`));
        resolve();
      });
    });
    proc.once("error", (e) => failed(e));
    const timer = setTimeout(() => failed(new Error(`nats-server ${this.name} not ready in 10 s`)), 10_000);
    try {
      await readyP;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` (default SIGKILL) and, unless it is SIGSTOP/SIGCONT, waits for the exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill(signal);
    if (signal !== "SIGSTOP" && signal !== "SIGCONT") await this.exited;
  }

  /** Graceful stop (SIGTERM, then SIGKILL after 5 s). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill("SIGCONT");
    proc.kill("SIGTERM");
    const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(t);
  }

  /** Stops (if running) and starts again on the same ports. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Number of routes to other servers, from the monitoring endpoint (0 if unreachable). */
  async routeCount(): Promise<number> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.monitorPort}/routez`);
      const body = (await res.json()) as { num_routes?: number };
      return body.num_routes ?? 0;
    } catch {
      return 0;
    }
  }
}

/** Starts one standalone server on free ports. */
export async function startNatsServer(
  name = "solo",
  options: { maxPayload?: number; authToken?: string; config?: string; jetStream?: boolean } = {},
): Promise<NatsServer> {
  const server = new NatsServer(
    name,
    await freePort(),
    await freePort(),
    undefined,
    options.maxPayload,
    options.authToken,
    options.config,
    options.jetStream ? mkdtempSync(join(tmpdir(), "hv-js-")) : undefined,
  );
  await server.start();
  return server;
}

/** A full mesh of routed servers. */
export class NatsCluster {
  constructor(readonly servers: NatsServer[]) {}

  /** Client URLs of every server, in order. */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  /** Resolves once every running server has a route to every other running server. */
  async waitForRoutes(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.servers.filter((s) => s.running);
      const counts = await Promise.all(running.map((s) => s.routeCount()));
      if (counts.every((c) => c >= running.length - 1)) return;
      if (Date.now() > deadline) throw new Error(`NATS routes not formed: ${counts.join(",")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops every server. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}

/** Starts `size` servers routed to each other and waits for the routes. */
export async function startNatsCluster(
  size = 3,
  clusterName = "hvtest",
  options: { jetStream?: boolean } = {},
): Promise<NatsCluster> {
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({
      client: await freePort(),
      monitor: await freePort(),
      cluster: await freePort(),
    })),
  );
  const servers = ports.map(
    (p, i) =>
      new NatsServer(
        `s${i + 1}`,
        p.client,
        p.monitor,
        {
          clusterName,
          clusterPort: p.cluster,
          routePorts: ports.filter((_, j) => j !== i).map((q) => q.cluster),
        },
        undefined,
        undefined,
        undefined,
        options.jetStream ? mkdtempSync(join(tmpdir(), `hv-js-s${i + 1}-`)) : undefined,
      ),
  );
  const cluster = new NatsCluster(servers);
  await Promise.all(servers.map((s) => s.start()));
  await cluster.waitForRoutes();
  return cluster;
}

/** Stops every server this process started. */
export async function stopAllNatsServers(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const s of live) {
      const pid = s.pid;
      if (pid === undefined) continue;
      try {
        process.kill(pid, "SIGCONT");
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}
