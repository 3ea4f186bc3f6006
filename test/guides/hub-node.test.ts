/**
 * The NATS hub node template (`docs/guides/hub-node.md`, `examples/guides/hub-node/node.ts`) run
 * as a test: node processes over a real nats-server on a free port, driven through their HTTP
 * API. What a room keeps when its node goes away:
 * - hot swap, SIGTERM: the node leaves gracefully and each room moves with its messages;
 * - hot swap, SIGKILL: nothing can be handed over, the rooms restart empty on the survivors;
 * - cold swap, SIGTERM: the rooms move but restart from their arguments, empty.
 * Every wait is a bounded poll on a condition.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type NatsServer, startNatsServer, stopAllNatsServers } from "../support/nats-server.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TIMEOUT_MS = 20_000;
/** Starting a node compiles it first (tsx): several at once on a loaded machine take a while. */
const START_TIMEOUT_MS = 60_000;

/** One node of the template, as its own OS process. */
class NodeProcess {
  readonly proc: ChildProcess;
  output = "";
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    env: Record<string, string>,
  ) {
    this.proc = spawn(process.execPath, ["--import", "tsx", "examples/guides/hub-node/node.ts"], {
      cwd: repo,
      env: { ...process.env, NODE_NAME: name, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc.stdout!.setEncoding("utf8").on("data", (s: string) => (this.output += s));
    this.proc.stderr!.setEncoding("utf8").on("data", (s: string) => (this.output += s));
    this.exited = new Promise((resolve) => this.proc.once("exit", (code) => resolve(code)));
  }

  async url(): Promise<string> {
    const m = await poll(
      () => /listening on (http:\/\/\S+)/.exec(this.output),
      (v) => v !== null,
      `${this.name} to listen`,
      START_TIMEOUT_MS,
    );
    return m![1]!;
  }

  async api(method: string, path: string, body?: string): Promise<{ status: number; json: any }> {
    const res = await fetch(`${await this.url()}${path}`, { method, body });
    return { status: res.status, json: await res.json() };
  }
}

async function poll<T>(
  what: () => Promise<T> | T,
  ok: (v: T) => boolean,
  label: string,
  timeoutMs = TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await what();
      if (ok(last)) return last;
    } catch {
      // not up yet, or between owners: try again
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${label} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let server: NatsServer | undefined;
const procs: NodeProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.proc.kill("SIGKILL");
});
afterAll(stopAllNatsServers);

/** Starts nodes `names` of a fresh cluster and waits until every hub sees all of them. */
async function startCluster(names: string[], migration: string): Promise<NodeProcess[]> {
  server ??= await startNatsServer("hub-guide");
  const cluster = `guide${process.pid}${migration}`;
  const nodes = names.map(
    (n) => new NodeProcess(n, { NATS_URL: server!.url, CLUSTER: cluster, MIGRATION: migration }),
  );
  procs.push(...nodes);
  for (const n of nodes)
    await poll(
      () => n.api("GET", "/health"),
      (r) => r.json.members.length === names.length,
      `${n.name} to see every hub`,
      START_TIMEOUT_MS,
    ).catch((e) => {
      throw new Error(`${e}\n${nodes.map((x) => `--- ${x.name}\n${x.output}`).join("\n")}`);
    });
  return nodes;
}

/** Creates `n` rooms through `via`, posts one message to each; resolves room id → node. */
async function roomsWithMessages(via: NodeProcess, n: number): Promise<Map<string, string>> {
  const placed = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const id = `room-${i}`;
    expect((await via.api("POST", `/rooms/${id}`)).status).toBe(200);
    const posted = await via.api("POST", `/rooms/${id}/messages`, `hello ${id}`);
    expect(posted.json.count).toBe(1);
    placed.set(id, posted.json.node);
  }
  return placed;
}

/** Rooms placed on `node`; there must be some, or the test would check nothing. */
function roomsOn(placed: Map<string, string>, node: string): string[] {
  const ids = [...placed].filter(([, n]) => n === node).map(([id]) => id);
  expect(ids.length, `rooms on ${node}`).toBeGreaterThan(0);
  return ids;
}

/** Waits until every room answers through `via` from a node other than `gone`; returns them. */
async function historiesAfter(
  via: NodeProcess,
  ids: string[],
  gone: string[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const id of ids) {
    const r = await poll(
      () => via.api("GET", `/rooms/${id}`),
      (v) => v.status === 200 && !gone.includes(v.json.node),
      `${id} to run again`,
    );
    out.set(id, r.json.messages);
  }
  return out;
}

describe("the hub node template over NATS", () => {
  it("hot swap: a SIGTERMed node hands its rooms over with their state; a SIGKILLed one cannot", {
    timeout: 180_000,
  }, async () => {
    const [a, b, c] = await startCluster(["node-a", "node-b", "node-c"], "hotSwap");
    const placed = await roomsWithMessages(a!, 20);
    const onC = roomsOn(placed, "node-c");

    c!.proc.kill("SIGTERM");
    expect(await c!.exited).toBe(0);
    expect(c!.output).toContain("node-c: left");
    const kept = await historiesAfter(a!, [...placed.keys()], ["node-c"]);
    for (const id of placed.keys()) expect(kept.get(id), id).toEqual([`hello ${id}`]);

    const now = new Map(
      await Promise.all(
        [...placed.keys()].map(async (id) => [id, (await a!.api("GET", `/rooms/${id}`)).json.node] as const),
      ),
    );
    const onB = roomsOn(now, "node-b");
    b!.proc.kill("SIGKILL");
    const lost = await historiesAfter(a!, onB, ["node-b"]);
    for (const id of onB) expect(lost.get(id), id).toEqual([]);
    for (const id of onC.filter((id) => !onB.includes(id)))
      expect((await a!.api("GET", `/rooms/${id}`)).json.messages, id).toEqual([`hello ${id}`]);
  });

  it("cold swap: a SIGTERMed node's rooms restart elsewhere from their arguments, empty", {
    timeout: 180_000,
  }, async () => {
    const [a, b] = await startCluster(["node-a", "node-b"], "coldSwap");
    const placed = await roomsWithMessages(a!, 12);
    const onB = roomsOn(placed, "node-b");

    b!.proc.kill("SIGTERM");
    expect(await b!.exited).toBe(0);
    const after = await historiesAfter(a!, [...placed.keys()], ["node-b"]);
    for (const [id, node] of placed)
      expect(after.get(id), id).toEqual(node === "node-b" ? [] : [`hello ${id}`]);
    expect(onB.every((id) => after.get(id)!.length === 0)).toBe(true);
  });
});
