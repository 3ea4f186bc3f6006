/**
 * The Observer attached to a busy node: a node with 100k idle GenServers under a
 * DynamicSupervisor, its call round trip measured alone and then while a client polls the
 * Observer as the page does (once per `refreshMs`); the bytes the page receives per second, and
 * how long the node takes to answer a poll.
 */
import { spawn } from "node:child_process";
import { silentLogger } from "../src/logger.js";
import { observe } from "../src/observe.js";
import { scanMailboxes } from "../src/observe/node-view.js";
import { Node, setDefaultNode } from "../src/process/index.js";
import { defineServer, GenServer, ok, reply } from "../src/server/index.js";
import { DynamicSupervisor } from "../src/supervision/dynamic-supervisor.js";
import { isMain, median, printTable, type Row } from "./common.js";

const PROCESSES = 100_000;
/**
 * The page, another program as a browser is: while told "on" (a line on its stdin) it fetches the
 * cluster view once per second, printing its size and latency.
 */
const PAGE = `
const url = process.argv[1];
let on = false;
process.stdin.on("data", (d) => { on = d.toString().trim().split("\\n").pop() === "on"; });
(async () => { for (;;) {
  if (on) {
    const t0 = performance.now();
    const body = await (await fetch(url)).text();
    console.log(Buffer.byteLength(body) + " " + (performance.now() - t0).toFixed(1));
  }
  await new Promise((r) => setTimeout(r, 1000));
} })();`;
const WINDOW_MS = 3000;

const Idle = defineServer<{ calls: { ping(): number } }>()({
  name: "Idle",
  init: () => ok(0),
  handleCall: { ping: (_a, s) => reply(1, s) },
});

/** Calls `pid` back to back for `ms`; ns per round trip. */
async function callsFor(
  node: Node,
  pid: Parameters<typeof GenServer.callOn>[1],
  ms: number,
): Promise<number> {
  const end = performance.now() + ms;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) await GenServer.callOn(node, pid, "ping");
    n += 1000;
  }
  return ((performance.now() - t0) * 1e6) / n;
}

export async function run(): Promise<Row[]> {
  const node = new Node({ name: "observed", logger: silentLogger });
  setDefaultNode(node);
  const sup = await DynamicSupervisor.start();
  if (!sup.ok) throw new Error("no supervisor");
  const spec = { id: "idle", start: () => GenServer.startLink(Idle, undefined) };
  for (let i = 0; i < PROCESSES; i++) await DynamicSupervisor.startChild(sup.pid, spec);
  const target = await GenServer.start(Idle, undefined, { node });
  if (!target.ok) throw new Error("no target");

  const alone: number[] = [];
  const observed: number[] = [];
  const observer = await observe({ node, port: 0 });
  let bytes = 0;
  let polls = 0;
  const pollMs: number[] = [];
  // Alternate without and with a polling page, so both meet the same load. The page is another
  // program, as a browser is: its fetching costs this node nothing.
  const page = spawn(process.execPath, ["-e", PAGE, `${observer.url}api/cluster`], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  page.stdout.on("data", (d: Buffer) => {
    for (const line of d.toString().trim().split("\n")) {
      const [b, ms] = line.split(" ").map(Number);
      bytes += b!;
      pollMs.push(ms!);
      polls++;
    }
  });
  for (let round = 0; round < 4; round++) {
    alone.push(await callsFor(node, target.pid, WINDOW_MS));
    page.stdin.write("on\n");
    observed.push(await callsFor(node, target.pid, WINDOW_MS));
    page.stdin.write("off\n");
  }
  page.kill();
  await observer.close();
  const scanMs = median([0, 1, 2, 3, 4].map(() => scanMailboxes(node, 10).ms));
  const a = median(alone);
  const o = median(observed);
  return [
    {
      figure: `GenServer call round trip (CPU), ${PROCESSES.toLocaleString("en-US")}-process node, no page`,
      value: a,
      unit: "ns",
    },
    { figure: "the same while a page polls the Observer every second", value: o, unit: "ns" },
    {
      figure: "change",
      value: ((o - a) / a) * 100,
      unit: "%",
      target: "< 10 %",
      ok: Math.abs((o - a) / a) < 0.1,
    },
    { figure: "bytes to the page per poll (one node)", value: bytes / polls, unit: "B" },
    {
      figure: "bytes to the page per second",
      value: bytes / polls,
      unit: "B/s",
      target: "<= 1 MB/s",
      ok: bytes / polls <= 1_000_000,
    },
    { figure: "time to answer a poll (median)", value: median(pollMs), unit: "ms" },
    {
      figure: `one pass over the ${PROCESSES.toLocaleString("en-US")} processes (longest mailboxes)`,
      value: scanMs,
      unit: "ms",
    },
  ];
}

if (isMain(import.meta.url)) printTable("observe", await run());
