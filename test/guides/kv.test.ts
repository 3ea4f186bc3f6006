/**
 * The KV guide (`docs/guides/kv.md`, `examples/guides/kv/`) run as a test: its TCP protocol, the
 * registry forgetting a bucket that died, a connection task killed without taking the server
 * down (its socket closed with it), and the program's graceful stop on SIGTERM. Every wait is a
 * bounded poll on a condition.
 */
import { execPath } from "node:process";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exit, GenServer, Node, type Pid, setDefaultNode, silentLogger, TaskSupervisor } from "hubvisor";
import { type Kv, startKv } from "../../examples/guides/kv/app.js";
import { REGISTRY } from "../../examples/guides/kv/registry.js";
import { TASKS } from "../../examples/guides/kv/server.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A client that sends lines and reads the answers, CRLF-terminated lines. */
class Client {
  private buffer = "";
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(new Client(socket)));
      socket.once("error", reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Sends `line` and resolves the next `lines` answer lines. */
  async request(line: string, lines = 1): Promise<string[]> {
    this.socket.write(`${line}\r\n`);
    const deadline = Date.now() + 5000;
    for (;;) {
      const parts = this.buffer.split("\r\n");
      if (parts.length > lines) {
        this.buffer = parts.slice(lines).join("\r\n");
        return parts.slice(0, lines);
      }
      if (this.closed) throw new Error(`connection closed before an answer to ${line}`);
      if (Date.now() > deadline) throw new Error(`no answer to ${line}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

async function until<T>(
  what: () => Promise<T> | T,
  ok: (v: T) => boolean,
  label: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label} (last: ${String(v)})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the KV guide, in-process", () => {
  let kv: Kv;
  const clients: Client[] = [];
  const open = async () => {
    const c = await Client.open(kv.port);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    const node = new Node({ name: "kv-test", logger: silentLogger });
    // The test's own calls by name (the registry, the task supervisor) go to the app's node.
    setDefaultNode(node);
    kv = await startKv({
      port: 0,
      node,
      application: { signalSource: new EventEmitter(), exit: () => {}, keepAlive: false },
    });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await kv?.stop();
  });

  it("answers the commands of the protocol", async () => {
    const c = await open();
    expect(await c.request("CREATE shopping")).toEqual(["OK"]);
    expect(await c.request("PUT shopping milk 1")).toEqual(["OK"]);
    expect(await c.request("GET shopping milk", 2)).toEqual(["1", "OK"]);
    expect(await c.request("GET shopping eggs", 2)).toEqual(["", "OK"]);
    expect(await c.request("DELETE shopping milk")).toEqual(["OK"]);
    expect(await c.request("GET shopping milk", 2)).toEqual(["", "OK"]);
    expect(await c.request("GET missing milk")).toEqual(["NOT FOUND"]);
    expect(await c.request("HELLO")).toEqual(["UNKNOWN COMMAND"]);
    expect(await c.request("PUT shopping milk")).toEqual(["UNKNOWN COMMAND"]);
  });

  it("forgets a bucket that dies: the registry monitors it", async () => {
    const c = await open();
    await c.request("CREATE fruit");
    await c.request("PUT fruit apple 3");
    const bucket = (await GenServer.call(REGISTRY, "lookup", "fruit")) as Pid | undefined;
    expect(bucket).toBeDefined();
    exit(bucket!, "kill");
    await until(
      () => GenServer.call(REGISTRY, "lookup", "fruit"),
      (p) => p === undefined,
      "the registry to drop fruit",
    );
    expect(await c.request("GET fruit apple")).toEqual(["NOT FOUND"]);
    // The name is free again, for a new, empty bucket.
    expect(await c.request("CREATE fruit")).toEqual(["OK"]);
    expect(await c.request("GET fruit apple", 2)).toEqual(["", "OK"]);
  });

  it("keeps serving when a connection's task crashes, and closes that task's socket", async () => {
    const before = new Set((await TaskSupervisor.children(TASKS)).map(String));
    const doomed = await open();
    await doomed.request("CREATE tools");
    const tasks = await until(
      () => TaskSupervisor.children(TASKS),
      (ps) => ps.some((p) => !before.has(String(p))),
      "the new connection's task",
    );
    const task = tasks.find((p) => !before.has(String(p)))!;
    const other = await open();
    await other.request("PUT tools saw 1");

    exit(task, "kill");
    await until(
      () => doomed.closed,
      (closed) => closed,
      "the crashed task's socket to close",
    );

    expect(await other.request("GET tools saw", 2)).toEqual(["1", "OK"]);
    const fresh = await open();
    expect(await fresh.request("GET tools saw", 2)).toEqual(["1", "OK"]);
  });
});

describe("the KV guide, as a program", () => {
  it("stops in order on SIGTERM: open connections closed, exit code 0", { timeout: 60_000 }, async () => {
    const child = spawn(execPath, ["--import", "tsx", "examples/guides/kv/main.ts"], {
      cwd: repo,
      env: { ...process.env, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (out += s));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      const listening = await until(
        () => /listening on 127\.0\.0\.1:(\d+)/.exec(out),
        (m) => m !== null,
        "the server to listen",
        // tsx compiles the program first: slow on a loaded machine.
        30_000,
      );
      const client = await Client.open(Number(listening![1]));
      expect(await client.request("CREATE a")).toEqual(["OK"]);
      expect(await client.request("PUT a k v")).toEqual(["OK"]);

      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      await until(
        () => client.closed,
        (closed) => closed,
        "the open connection to close",
      );
      expect(out).toContain("kv: stopped, exit code 0");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
