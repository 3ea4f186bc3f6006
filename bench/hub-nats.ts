/**
 * Hub benchmarks over NATS with every hub node a separate OS process (`examples/hub-node.ts`), on
 * a private `nats-server` on a free loopback port: start N children in one awaited call and stop
 * them (1k, 10k, 100k, with the start time per child, which must stay flat; timed inside the
 * calling node), SIGKILL a node holding a third of 10k and time until the survivors' registries
 * show every child running again (wall clock across processes), then the fraction of those 10k
 * moved when a new node joins the two survivors (2 → 3 nodes: target 1/3 ± 20 %).
 * `npx tsx bench/hub-nats.ts`.
 */
import { HubNodeProcess } from "../examples/hub-node-process.js";
import { startNatsServer } from "../test/support/nats-server.js";
import { isMain, printTable, type Row } from "./common.js";

interface Bed {
  url: string;
  cluster: string;
  nodes: Map<string, HubNodeProcess>;
}

let beds = 0;

/** The start time per child of `n`: equal across 1k, 10k and 100k when start time grows linearly. */
export function perChild(what: string, ms: number, n: number, reference?: string): Row {
  const row: Row = { figure: `${what}: per child (flat if linear)`, value: (ms * 1000) / n, unit: "µs" };
  if (reference !== undefined) row.reference = reference;
  return row;
}

async function until(cond: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("benchmark condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function converged(bed: Bed, n: number): Promise<boolean> {
  const names = [...bed.nodes.keys()].sort().join();
  const views = await Promise.all([...bed.nodes.values()].map((p) => p.request("status")));
  let local = 0;
  for (const v of views) {
    if ((v.members as string[]).join() !== names || v.size !== n || v.dupes !== 0 || v.misplaced !== 0)
      return false;
    local += v.local as number;
  }
  return local === n;
}

function add(bed: Bed, name: string): HubNodeProcess {
  const p = new HubNodeProcess({ nats: bed.url, node: name, cluster: bed.cluster, hubId: "bench" });
  bed.nodes.set(name, p);
  return p;
}

async function bed(url: string): Promise<Bed> {
  const b: Bed = { url, cluster: `hubbench${process.pid}x${beds++}`, nodes: new Map() };
  for (const n of ["a", "b", "c"]) add(b, n);
  await Promise.all([...b.nodes.values()].map((p) => p.ready));
  await until(() => converged(b, 0));
  return b;
}

async function close(b: Bed): Promise<void> {
  await Promise.all([...b.nodes.values()].map((p) => p.kill()));
}

async function startStop(b: Bed, n: number): Promise<{ start: number; stop: number }> {
  const a = b.nodes.get("a")!;
  const r = await a.request("start", { n, prefix: `s${n}-` });
  if (r.status !== "ok" || r.started !== n) throw new Error(`start failed: ${JSON.stringify(r)}`);
  const s = await a.request("stop", { n, prefix: `s${n}-` });
  if (s.status !== "ok" || s.stopped !== n) throw new Error(`stop failed: ${JSON.stringify(s)}`);
  await until(() => converged(b, 0));
  return { start: r.ms as number, stop: s.ms as number };
}

/** SIGKILLs c (holding about a third of `n`); ms until a's registry shows all `n` elsewhere. */
async function failover(b: Bed, n: number): Promise<number> {
  const a = b.nodes.get("a")!;
  await a.request("start", { n, prefix: "f" });
  await until(() => converged(b, n));
  const c = b.nodes.get("c")!;
  b.nodes.delete("c");
  const killedAt = performance.timeOrigin + performance.now();
  void c.kill("SIGKILL");
  const placed = await a.request("placed", { n, exclude: "c" });
  if (placed.timeout) throw new Error("failover did not complete");
  await until(() => converged(b, n));
  return (placed.at as number) - killedAt;
}

/** Adds node d to the bed (after `failover`: the two survivors a and b); fraction of `n` moved. */
async function joinMoves(b: Bed, n: number): Promise<number> {
  if (b.nodes.size !== 2) throw new Error(`joinMoves expects 2 nodes, has ${b.nodes.size}`);
  const before = await placement(b);
  const d = add(b, "d");
  await d.ready;
  await until(() => converged(b, n));
  const after = await placement(b);
  let moved = 0;
  for (const [id, node] of before) if (after.get(id) !== node) moved++;
  return moved / n;
}

async function placement(b: Bed): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of b.nodes.values())
    for (const id of (await p.request("locals")).ids as string[]) out.set(id, p.name);
  return out;
}

export async function run(): Promise<Row[]> {
  const server = await startNatsServer("hub-bench");
  const rows: Row[] = [];
  try {
    const b = await bed(server.url);
    await startStop(b, 1000); // warm-up
    for (const n of [1000, 10_000, 100_000]) {
      const { start, stop } = await startStop(b, n);
      const label = n.toLocaleString("en-US");
      rows.push({
        figure: `NATS: start ${label} children, one awaited call`,
        value: start,
        unit: "ms",
        ...(n === 10_000 ? { target: "<= 500 ms", ok: start <= 500, reference: "1,971 ms" } : {}),
      });
      rows.push(perChild(`NATS: start ${label}`, start, n, n === 10_000 ? "197 µs" : undefined));
      rows.push({
        figure: `NATS: stop ${label} children, one awaited call`,
        value: stop,
        unit: "ms",
        ...(n === 10_000 ? { target: "<= 300 ms", ok: stop <= 300, reference: "672 ms" } : {}),
      });
    }
    const fo = await failover(b, 10_000);
    rows.push({
      figure: "NATS: SIGKILL a node holding 1/3 of 10k; until all run again",
      value: fo,
      unit: "ms",
      target: "<= 450 ms",
      ok: fo <= 450,
      reference: "452 ms",
    });
    const frac = await joinMoves(b, 10_000);
    rows.push({
      figure: "NATS: add a node to 2: fraction of 10k children moved",
      value: frac * 100,
      unit: "%",
      target: "33.3 % ± 20 %",
      ok: Math.abs(frac - 1 / 3) <= (1 / 3) * 0.2,
    });
    await close(b);
  } finally {
    await server.stop();
  }
  return rows;
}

if (isMain(import.meta.url)) {
  printTable("hub (NATS, 3 OS processes)", await run());
  process.exit(0);
}
