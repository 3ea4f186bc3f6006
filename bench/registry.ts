/**
 * Registry benchmarks: register, lookup, a GenServer call through a via-name, and the clean-up
 * of 100k registered processes that exit at once. Each figure is the median of several runs.
 * `npx tsx bench/registry.ts` prints the table; `run()` returns the rows for `npm run bench`.
 */
import { cpus, loadavg } from "node:os";
import { silentLogger } from "../src/logger.js";
import { Node, type Pid, setDefaultNode } from "../src/process/index.js";
import { Registry } from "../src/registry/index.js";
import { defineServer, GenServer, ok, reply } from "../src/server/index.js";
import { isMain, medianOf, printTable, type Row } from "./common.js";

const N = 100_000;
let serial = 0;

function now(): number {
  return Number(process.hrtime.bigint());
}

async function freshRegistry(keys: "unique" | "duplicate" = "unique"): Promise<{ node: Node; name: string }> {
  const node = new Node({ name: "bench", logger: silentLogger });
  setDefaultNode(node);
  const name = `bench-registry-${++serial}`;
  const r = await Registry.start({ keys, name, node });
  if (!r.ok) throw new Error("registry start failed");
  return { node, name };
}

function spawnIdle(node: Node, n: number): Pid[] {
  const pids: Pid[] = [];
  for (let i = 0; i < n; i++) pids.push(node.spawnHandler(() => undefined, null).pid);
  return pids;
}

/**
 * Collects the garbage of the set-up (100k spawns) before a timed section: without it, the
 * scavenges that promote the fresh processes fall in the timed loop and are billed to the
 * registry operation being measured. One full collection, not `common.gc()`'s two: the second,
 * on a heap with nothing left to free, makes V8 hand its free pages back to the OS, and the timed
 * loop then pays to fault them in again (~7,000 faults, ~0.5 µs per register on the bench VM).
 */
function settle(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** ns per `register` of a fresh process under a fresh unique key. */
async function registerCost(): Promise<number> {
  const { node, name } = await freshRegistry();
  const pids = spawnIdle(node, N);
  const keys = pids.map((_, i) => `key-${i}`);
  settle();
  const t0 = now();
  for (let i = 0; i < N; i++) Registry.register(name, keys[i], i, pids[i]);
  const ns = (now() - t0) / N;
  if (Registry.count(name) !== N) throw new Error("register lost entries");
  for (const pid of pids) node.exit(pid, "kill");
  return ns;
}

/** ns per `lookup` of an existing unique key (1M lookups over 100k keys). */
async function lookupCost(): Promise<number> {
  const { node, name } = await freshRegistry();
  const pids = spawnIdle(node, N);
  const keys = pids.map((_, i) => `key-${i}`);
  for (let i = 0; i < N; i++) Registry.register(name, keys[i], i, pids[i]);
  const rounds = 1_000_000;
  let found = 0;
  settle();
  const t0 = now();
  for (let i = 0; i < rounds; i++) found += Registry.lookup(name, keys[(i * 7919) % N]).length;
  const ns = (now() - t0) / rounds;
  if (found !== rounds) throw new Error("lookup missed");
  for (const pid of pids) node.exit(pid, "kill");
  return ns;
}

interface PingProtocol {
  calls: { ping(): string };
}
const Pinger = defineServer<PingProtocol>()({
  init: (arg: number) => ok(arg),
  handleCall: { ping: (_a, s) => reply("pong", s) },
});

/** ns per GenServer call round trip, through a via-name or to the pid directly. */
async function callCost(viaName: boolean): Promise<number> {
  const { node, name } = await freshRegistry();
  const r = await GenServer.start(Pinger, 0, { node, name: Registry.via(name, "pinger") });
  if (!r.ok) throw new Error("start failed");
  const rounds = 200_000;
  const t0 = now();
  if (viaName) {
    for (let i = 0; i < rounds; i++)
      await GenServer.call<PingProtocol, "ping">(Registry.via(name, "pinger"), "ping");
  } else {
    for (let i = 0; i < rounds; i++) await GenServer.call(r.pid, "ping");
  }
  const ns = (now() - t0) / rounds;
  node.exit(r.pid, "kill");
  return ns;
}

/**
 * 100k processes, each holding one key (and, with `registered` false, none): ns per process from
 * the first exit signal until the registry is empty, all processes killed back to back.
 */
async function exitAtOnce(registered: boolean): Promise<number> {
  const { node, name } = await freshRegistry();
  const pids = spawnIdle(node, N);
  if (registered) for (let i = 0; i < N; i++) Registry.register(name, `key-${i}`, i, pids[i]);
  settle();
  const t0 = now();
  for (const pid of pids) node.exit(pid, "kill");
  while (Registry.count(name) > 0) await new Promise((r) => setImmediate(r));
  const ns = (now() - t0) / N;
  if (node.processCount !== 1) throw new Error(`leak: ${node.processCount - 1} processes left`);
  return ns;
}

export async function run(): Promise<Row[]> {
  const register = await medianOf(5, registerCost);
  const lookup = await medianOf(5, lookupCost);
  const via = await medianOf(5, () => callCost(true));
  const direct = await medianOf(5, () => callCost(false));
  const exitRegistered = await medianOf(5, () => exitAtOnce(true));
  const exitPlain = await medianOf(5, () => exitAtOnce(false));
  const cleanup = exitRegistered - exitPlain;
  return [
    {
      figure: "Registry.register (unique key, 100k)",
      value: register / 1000,
      unit: "µs",
      target: "<= 0.5 µs",
      ok: register <= 500,
      reference: "2.0 µs",
    },
    {
      figure: "Registry.lookup (unique key)",
      value: lookup / 1000,
      unit: "µs",
      target: "<= 0.1 µs",
      ok: lookup <= 100,
      reference: "0.69 µs",
    },
    {
      figure: "GenServer call through a via-name",
      value: via / 1000,
      unit: "µs",
      target: "<= 0.6 µs",
      ok: via <= 600,
      reference: "3.7 µs",
    },
    { figure: "GenServer call to the pid (for comparison)", value: direct / 1000, unit: "µs" },
    {
      figure: "100k registered processes exit at once: exit + clean-up per key",
      value: exitRegistered / 1000,
      unit: "µs",
      target: "<= 1 µs",
      ok: exitRegistered <= 1000,
      reference: "32 µs",
    },
    {
      figure: "  of which registry clean-up (minus the same exits unregistered)",
      value: Math.max(0, cleanup) / 1000,
      unit: "µs",
    },
  ];
}

if (isMain(import.meta.url)) {
  const rows = await run();
  printTable(`Registry (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs)`, rows);
}
