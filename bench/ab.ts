/**
 * Compares two copies of the sources in one process, for changes too small for the tables to see
 * on a shared machine: `node --expose-gc --import tsx bench/ab.ts <treeA> <treeB> [rounds]`.
 * Each tree is a folder with a `src/` (e.g. a checkout before and after a change). The hot paths
 * — spawn/exit, send ping-pong, GenServer call, DynamicSupervisor start and terminate — run in
 * short alternating rounds (A B B A …), timed in CPU time of this process, so that both trees
 * meet the same load, heap and JIT; the table gives each tree's median per operation and B/A.
 */
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

type Lib = {
  Node: new (o: { name: string; logger: unknown }) => any;
  silentLogger: unknown;
  setDefaultNode(n: unknown): void;
  defineServer: any;
  ok: any;
  reply: any;
  GenServer: any;
  DynamicSupervisor: any;
};

async function load(tree: string): Promise<Lib> {
  return (await import(pathToFileURL(join(resolve(tree), "src", "index.ts")).href)) as Lib;
}

const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

/** One workload: runs `ops` operations on a fresh node of `lib`, returns CPU ns per operation. */
type Workload = (lib: Lib, ops: number) => Promise<number>;

const workloads: Record<string, [Workload, number]> = {
  "spawn + exit (handler process)": [
    async (lib, ops) => {
      const node = new lib.Node({ name: "ab", logger: lib.silentLogger });
      const t0 = cpuNs();
      for (let i = 0; i < ops; i++) {
        const { proc } = node.spawnHandler(() => undefined, null);
        node.terminate(proc, "normal");
      }
      return (cpuNs() - t0) / ops;
    },
    100_000,
  ],
  "send ping-pong round trip": [
    (lib, ops) => {
      const node = new lib.Node({ name: "ab", logger: lib.silentLogger });
      return new Promise((done) => {
        let pong: { pid: unknown };
        let t0 = 0;
        const ping = node.spawnHandler((n: number) => {
          if (n >= ops) return done((cpuNs() - t0) / ops);
          node.send(pong.pid, n + 1);
        }, null);
        pong = node.spawnHandler((n: number) => node.send(ping.pid, n), null);
        t0 = cpuNs();
        node.send(pong.pid, 0);
      });
    },
    200_000,
  ],
  "GenServer call round trip": [
    async (lib, ops) => {
      const node = new lib.Node({ name: "ab", logger: lib.silentLogger });
      const S = lib.defineServer()({
        init: () => lib.ok(0),
        handleCall: { ping: (_a: unknown, s: number) => lib.reply(1, s) },
      });
      const r = await lib.GenServer.start(S, 0, { node });
      const t0 = cpuNs();
      for (let i = 0; i < ops; i++) await lib.GenServer.callOn(node, r.pid, "ping");
      return (cpuNs() - t0) / ops;
    },
    50_000,
  ],
  "DynamicSupervisor start + terminate child": [
    async (lib, ops) => {
      const node = new lib.Node({ name: "ab", logger: lib.silentLogger });
      lib.setDefaultNode(node);
      const W = lib.defineServer()({ init: () => lib.ok(0) });
      const sup = (await lib.DynamicSupervisor.start()).pid;
      const spec = { id: "w", start: () => lib.GenServer.startLink(W, 0) };
      const t0 = cpuNs();
      for (let i = 0; i < ops; i++) {
        const r = await lib.DynamicSupervisor.startChild(sup, spec);
        await lib.DynamicSupervisor.terminateChild(sup, r.pid);
      }
      return (cpuNs() - t0) / ops;
    },
    10_000,
  ],
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const [treeA, treeB, roundsArg] = process.argv.slice(2);
if (treeA === undefined || treeB === undefined) {
  console.error("usage: node --expose-gc --import tsx bench/ab.ts <treeA> <treeB> [rounds]");
  process.exit(2);
}
const rounds = Number(roundsArg ?? 12);
const libs = [await load(treeA), await load(treeB)];
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
console.log(
  `${cpus()[0]?.model} ×${cpus().length}, Node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
console.log(`A = ${treeA}\nB = ${treeB}\n${rounds} rounds per tree, alternating ABBA\n`);
console.log("| workload | A (CPU ns/op) | B (CPU ns/op) | B/A |\n|---|---|---|---|");
for (const [name, [work, ops]] of Object.entries(workloads)) {
  const times: number[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      gc();
      times[i]!.push(await work(libs[i]!, ops));
    }
  }
  const [a, b] = [median(times[0]!), median(times[1]!)];
  console.log(`| ${name} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(3)} |`);
}
console.log(
  `\nload at the end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
