/**
 * KVServer.Command: the text protocol, one command per line.
 *
 *   CREATE shopping          → OK
 *   PUT shopping milk 1      → OK
 *   GET shopping milk        → 1, then OK
 *   DELETE shopping milk     → OK
 *
 * An unknown bucket answers NOT FOUND, anything else UNKNOWN COMMAND. Parsing is pure; running a
 * command talks to the registry and the buckets.
 */
import { GenServer, type Node, type Pid } from "hubvisor";
import { REGISTRY } from "./registry.js";

export type Command =
  | { op: "create"; bucket: string }
  | { op: "get"; bucket: string; key: string }
  | { op: "put"; bucket: string; key: string; value: string }
  | { op: "delete"; bucket: string; key: string };

export function parse(line: string): Command | undefined {
  const words = line.trim().split(/\s+/);
  switch (words[0]) {
    case "CREATE":
      return words.length === 2 ? { op: "create", bucket: words[1]! } : undefined;
    case "GET":
      return words.length === 3 ? { op: "get", bucket: words[1]!, key: words[2]! } : undefined;
    case "PUT":
      return words.length === 4
        ? { op: "put", bucket: words[1]!, key: words[2]!, value: words[3]! }
        : undefined;
    case "DELETE":
      return words.length === 3 ? { op: "delete", bucket: words[1]!, key: words[2]! } : undefined;
    default:
      return undefined;
  }
}

/**
 * Runs `command` from `node` (a connection's task calls after `await`s, outside any process the
 * runtime could find by itself, so the node is named). A bucket that dies between the lookup and
 * the call makes the call throw: the connection's task crashes, as the Elixir version does.
 */
export async function run(node: Node, command: Command): Promise<string> {
  if (command.op === "create") {
    await GenServer.callOn(node, REGISTRY, "create", command.bucket);
    return "OK\r\n";
  }
  const bucket = (await GenServer.callOn(node, REGISTRY, "lookup", command.bucket)) as Pid | undefined;
  if (bucket === undefined) return "NOT FOUND\r\n";
  switch (command.op) {
    case "get":
      return `${(await GenServer.callOn(node, bucket, "get", command.key)) ?? ""}\r\nOK\r\n`;
    case "put":
      await GenServer.callOn(node, bucket, "put", [command.key, command.value]);
      return "OK\r\n";
    case "delete":
      await GenServer.callOn(node, bucket, "delete", command.key);
      return "OK\r\n";
  }
}
