/**
 * `npm run bench`: every benchmark module in one run, one table per area. Run with `--expose-gc`
 * (the npm script does) so heap figures are measured after a full collection. Pass area names to
 * run only those: `npm run bench -- process registry`.
 */
import os from "node:os";
import { printTable, type Row } from "./common.js";

const areas: Array<[string, () => Promise<{ run: () => Promise<Row[]> }>]> = [
  ["process", () => import("./process.js")],
  ["supervision", () => import("./supervision.js")],
  ["registry", () => import("./registry.js")],
  ["observe", () => import("./observe.js")],
  ["parent", () => import("./parent.js")],
  ["cluster", () => import("./cluster.js")],
  ["hub", () => import("./hub.js")],
  ["hub-nats", () => import("./hub-nats.js")],
  ["hub-strategies", () => import("./hub-strategies.js")],
  ["hub-entities", () => import("./hub-entities.js")],
  ["hub-entities-scale", () => import("./hub-entities-scale.js")],
  ["hub-durable", () => import("./hub-durable.js")],
  ["nats", () => import("./nats-raw.js")],
  ["wire-auth", () => import("./wire-auth.js")],
  ["scale", () => import("./scale.js")],
  ["scale-hub", () => import("./scale-hub.js")],
];

const only = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const cpu = os.cpus()[0]?.model ?? "unknown cpu";
console.log(
  `hubvisor benchmarks — Node ${process.version}, ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
);
let failed = false;
for (const [name, load] of areas) {
  if (only.length > 0 && !only.includes(name)) continue;
  try {
    const mod = await load();
    printTable(name, await mod.run());
  } catch (e) {
    failed = true;
    console.error(`\n### ${name}: FAILED\n${(e as Error).stack ?? e}`);
  }
}
process.exit(failed ? 1 : 0);
