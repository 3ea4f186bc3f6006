/**
 * The `hubvisor` command: its arguments, and `top --once` run as its own program against a
 * cluster of two hub nodes over a real nats-server, which it joins as a client-only node and
 * sees whole through the members' observer agents.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseArgs, renderTop } from "../../src/cli/main.js";
import { Cluster } from "../../src/cluster/index.js";
import {
  defineServer,
  InvalidOptionError,
  Node,
  ok,
  ProcessHub,
  reply,
  silentLogger,
} from "../../src/index.js";
import { startObserverAgent } from "../../src/observe.js";
import { NatsTransport } from "../../src/transports/nats/index.js";
import { type NatsServer, startNatsServer } from "../support/nats-server.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("parseArgs", () => {
  it("reads the command, the NATS address and the flags, with defaults", () => {
    expect(parseArgs(["top", "nats://127.0.0.1:4333", "--cluster", "prod", "--once"])).toMatchObject({
      command: "top",
      nats: "nats://127.0.0.1:4333",
      cluster: "prod",
      port: 4100,
      host: "127.0.0.1",
      once: true,
      actions: false,
      intervalMs: 2000,
    });
    expect(
      parseArgs(["observe", "nats://h:1", "--cluster", "c", "--port", "0", "--token", "t0ken-123"]),
    ).toMatchObject({ command: "observe", port: 0, token: "t0ken-123" });
  });

  it("refuses a missing cluster, an unknown command or a bad number with InvalidOptionError", () => {
    expect(() => parseArgs(["top", "nats://h:1"])).toThrow(InvalidOptionError);
    expect(() => parseArgs(["watch", "nats://h:1", "--cluster", "c"])).toThrow(InvalidOptionError);
    expect(() => parseArgs(["top", "nats://h:1", "--cluster", "c", "--interval-ms", "-5"])).toThrow(
      InvalidOptionError,
    );
    expect(() => parseArgs(["top", "not a url", "--cluster", "c"])).toThrow(InvalidOptionError);
  });
});

describe("renderTop", () => {
  it("prints a row per node but the observing one, and who has no agent", () => {
    const text = renderTop({
      self: "cli",
      at: 0,
      refreshMs: 1000,
      actions: false,
      nodes: [
        { node: "cli", status: "up", snapshot: null },
        { node: "gone", status: "down", snapshot: null },
        { node: "quiet", status: "unreachable", snapshot: null },
      ],
    });
    expect(text).not.toMatch(/^cli /m);
    expect(text).toMatch(/^gone +down/m);
    expect(text).toContain("no observer agent answered on: quiet");
  });
});

const Echo = defineServer<{ calls: { echo(x: number): number } }>()({
  name: "Echo",
  init: () => ok(null),
  handleCall: { echo: (x, s) => reply(x, s) },
});

let server: NatsServer | undefined;
const clusters: Cluster[] = [];
afterAll(async () => {
  for (const c of clusters) await c.leave().catch(() => {});
  await server?.stop();
});

describe("hubvisor top", () => {
  it("joins a NATS cluster as a client and prints every member", { timeout: 90_000 }, async () => {
    server = await startNatsServer("cli");
    const servers = `nats://127.0.0.1:${server.port}`;
    const hubs: ProcessHub[] = [];
    for (const name of ["cli-a", "cli-b"]) {
      const node = new Node({ name, logger: silentLogger });
      const transport = new NatsTransport({ connection: { servers }, logger: silentLogger });
      const cluster = await Cluster.join({ node, cluster: "clitest", transport, logger: silentLogger });
      clusters.push(cluster);
      await startObserverAgent({ node, cluster });
      hubs.push(ProcessHub.start({ hubId: "cli", cluster, behaviours: { Echo }, logger: silentLogger }));
    }
    const end = Date.now() + 20_000;
    while (hubs.some((h) => h.nodes().length !== 1) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    await hubs[0]!
      .startChildren(
        [
          { id: "x", behaviour: "Echo" },
          { id: "y", behaviour: "Echo" },
        ],
        { awaitable: true },
      )
      .await(10_000);

    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          "--import",
          "tsx",
          "src/cli/main.ts",
          "top",
          servers,
          "--cluster",
          "clitest",
          "--once",
          "--node",
          "cli-watch",
        ],
        { cwd: root, timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({
            code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
            stdout,
            stderr,
          }),
      );
    });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^cli-a +up +\d+/m);
    expect(out.stdout).toMatch(/^cli-b +up +\d+/m);
    expect(out.stdout).not.toMatch(/^cli-watch/m);
    // The client-only node was never given a child.
    expect(
      hubs[0]!
        .processList("global")
        .every((e) => "nodes" in e && e.nodes.every((n) => n.node !== "cli-watch")),
    ).toBe(true);
    await Promise.all(hubs.map((h) => h.stop()));
  });
});
