/**
 * The KV server as a program: `PORT=4040 npx tsx examples/guides/kv/main.ts`, then
 * `nc 127.0.0.1 4040` and type commands (see `command.ts`). SIGTERM or Ctrl-C stops it in order.
 * Guide: `docs/guides/kv.md`.
 */
import { Node, silentLogger } from "hubvisor";
import { startKv } from "./app.js";

const node = new Node({ name: "kv", logger: silentLogger });
const kv = await startKv({
  port: Number(process.env.PORT ?? 4040),
  node,
  application: {
    exit: (code) => {
      console.log(`kv: stopped, exit code ${code}`);
      process.exit(code);
    },
  },
});
process.once("SIGTERM", () => console.log("kv: SIGTERM, stopping: listener, connections, tasks, buckets"));
console.log(`kv: listening on 127.0.0.1:${kv.port}`);
