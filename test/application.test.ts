import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ApplicationStartError, runApplication, startApplication } from "../src/application.js";
import { silentLogger } from "../src/logger.js";
import { Node, setDefaultNode } from "../src/process/index.js";
import type { ChildSpec } from "../src/supervision/child-spec.js";
import { defineServer, GenServer, ok, stop } from "../src/server/index.js";
import { Supervisor } from "../src/supervision/supervisor.js";
import { crash, startLogging, startSlow } from "./supervision/helpers.js";

const node = new Node({ name: "app", logger: silentLogger });
setDefaultNode(node);

function harness() {
  const signals = new EventEmitter();
  const exits: number[] = [];
  return {
    signals,
    exits,
    options: { signalSource: signals, exit: (c: number) => exits.push(c), logger: silentLogger },
  };
}

const logged = (id: string, log: string[]): ChildSpec => ({ id, start: () => startLogging(id, log) });

describe("startApplication", () => {
  it("stops the tree in reverse order on SIGTERM, then exits 0", async () => {
    const log: string[] = [];
    const h = harness();
    const app = await startApplication(
      [logged("db", log), logged("cache", log), logged("web", log)],
      { strategy: "one_for_one" },
      h.options,
    );
    expect(log).toEqual(["start db", "start cache", "start web"]);
    h.signals.emit("SIGTERM");
    expect(await app.stopped).toBe(0);
    expect(log.slice(3)).toEqual(["stop web shutdown", "stop cache shutdown", "stop db shutdown"]);
    expect(h.exits).toEqual([0]);
    expect(node.isAlive(app.pid)).toBe(false);
    expect(h.signals.listenerCount("SIGTERM")).toBe(0);
    expect(h.signals.listenerCount("SIGINT")).toBe(0);
  });

  it("stops on SIGINT too", async () => {
    const h = harness();
    const app = await startApplication([], { strategy: "one_for_one" }, h.options);
    h.signals.emit("SIGINT");
    expect(await app.stopped).toBe(0);
  });

  it("exits 1 when a second signal arrives during the shutdown", async () => {
    const h = harness();
    const app = await startApplication(
      [{ id: "stuck", start: () => startSlow("stuck"), shutdown: "infinity" }],
      {
        strategy: "one_for_one",
      },
      h.options,
    );
    h.signals.emit("SIGTERM");
    h.signals.emit("SIGTERM");
    expect(await app.stopped).toBe(1);
    node.exit(app.pid, "kill");
  });

  it("exits 1 when the shutdown exceeds shutdownTimeoutMs, killing the root", async () => {
    const h = harness();
    const app = await startApplication(
      [{ id: "stuck", start: () => startSlow("stuck"), shutdown: "infinity" }],
      {
        strategy: "one_for_one",
      },
      { ...h.options, shutdownTimeoutMs: 20 },
    );
    expect(await app.stop()).toBe(1);
    expect(node.isAlive(app.pid)).toBe(false);
  });

  it("exits 1 when the root gives up by itself", async () => {
    const h = harness();
    const app = await startApplication(
      [{ id: "w", start: () => startLogging("w", []) }],
      {
        strategy: "one_for_one",
        maxRestarts: 0,
      },
      h.options,
    );
    const [child] = await Supervisor.whichChildren(app.pid);
    crash(child!.pid as never, "kill");
    expect(await app.stopped).toBe(1);
  });
});

describe("Application.stopped", () => {
  it("resolves 0 when the root exits normal by itself, 1 for any other reason", async () => {
    const Root = defineServer<{ casts: { end(reason: string): void } }>()({
      init: () => ok(null),
      handleCast: { end: (reason, s) => stop(reason, s) },
    });
    for (const [reason, code] of [
      ["normal", 0],
      ["shutdown", 1],
    ] as const) {
      const h = harness();
      const app = await runApplication(() => GenServer.start(Root, undefined), h.options);
      GenServer.cast(app.pid, "end", reason);
      expect(await app.stopped).toBe(code);
      expect(h.exits).toEqual([code]);
    }
  });

  it("reports the root as `process`, never `pid` (pino's own field)", async () => {
    const seen: Array<Record<string, unknown>> = [];
    const record = (obj: Record<string, unknown>) => void seen.push(obj);
    const logger = { error: record, warn: record, info: record, debug: record };
    const h = harness();
    const app = await startApplication([], { strategy: "one_for_one" }, { ...h.options, logger });
    expect(await app.stop()).toBe(0);
    const crashed = await startApplication(
      [{ id: "w", start: () => startLogging("w", []) }],
      { strategy: "one_for_one", maxRestarts: 0 },
      { ...h.options, logger },
    );
    const [child] = await Supervisor.whichChildren(crashed.pid);
    crash(child!.pid as never, "kill");
    expect(await crashed.stopped).toBe(1);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const fields of seen) {
      expect(fields).not.toHaveProperty("pid");
      expect(fields.process).toMatch(/^<app\./);
    }
  });

  it("settles before the default exit ends the program, so code awaiting it runs", async () => {
    const src = fileURLToPath(new URL("../src/", import.meta.url));
    const script = `
      import { startApplication } from ${JSON.stringify(`${src}application.ts`)};
      import { silentLogger } from ${JSON.stringify(`${src}logger.ts`)};
      import { Node, setDefaultNode } from ${JSON.stringify(`${src}process/index.ts`)};
      setDefaultNode(new Node({ name: "os", logger: silentLogger }));
      const app = await startApplication([], { strategy: "one_for_one" }, { logger: silentLogger });
      app.stopped.then((code) => console.log("stopped " + code));
      (async () => {
        const code = await app.stopped;
        await Promise.resolve();
        console.log("after await " + code);
      })();
      console.log("ready");
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    child.stderr.on("data", () => {});
    await expect.poll(() => out.includes("ready"), { timeout: 25_000 }).toBe(true);
    const code = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    child.kill("SIGTERM");
    expect(await code).toBe(0);
    expect(out.trim().split("\n")).toEqual(["ready", "stopped 0", "after await 0"]);
  });
});

describe("runApplication", () => {
  it("throws ApplicationStartError when the root does not start", async () => {
    const h = harness();
    await expect(
      runApplication(
        () =>
          Supervisor.start([{ id: "bad", start: () => ({ ok: false, error: "no" }) }], {
            strategy: "one_for_one",
          }),
        h.options,
      ),
    ).rejects.toBeInstanceOf(ApplicationStartError);
    expect(h.signals.listenerCount("SIGTERM")).toBe(0);
  });

  it("stops in order and exits 0 when a real OS process gets SIGTERM", async () => {
    const src = fileURLToPath(new URL("../src/", import.meta.url));
    const script = `
      import { startApplication } from ${JSON.stringify(`${src}application.ts`)};
      import { silentLogger } from ${JSON.stringify(`${src}logger.ts`)};
      import { Node, setDefaultNode } from ${JSON.stringify(`${src}process/index.ts`)};
      import { defineServer, GenServer, ok } from ${JSON.stringify(`${src}server/index.ts`)};
      setDefaultNode(new Node({ name: "os", logger: silentLogger }));
      const W = defineServer()({
        init: (name) => { console.log("start " + name); return ok(name); },
        terminate: (reason, name) => { console.log("stop " + name + " " + reason); },
      });
      const spec = (id) => ({ id, start: () => GenServer.startLink(W, id, { trapExit: true }) });
      await startApplication([spec("a"), spec("b"), spec("c")], { strategy: "one_for_one" }, { logger: silentLogger });
      console.log("ready");
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    child.stderr.on("data", () => {});
    await expect.poll(() => out.includes("ready"), { timeout: 25_000 }).toBe(true);
    const code = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    child.kill("SIGTERM");
    expect(await code).toBe(0);
    expect(out.trim().split("\n")).toEqual([
      "start a",
      "start b",
      "start c",
      "ready",
      "stop c shutdown",
      "stop b shutdown",
      "stop a shutdown",
    ]);
  });
});
