/**
 * The rules for the names a cluster is built from — cluster, node and hub names — checked once at
 * the door (`Cluster.join`, `ProcessHub.start`) with `InvalidNameError`, so that nothing
 * downstream meets a name it cannot carry. Node and cluster names become NATS subject tokens,
 * and every name travels in frames, logs and registry keys: a dot, a wildcard (`*`, `>`),
 * whitespace or a control character would make a node unreachable or reachable under a pattern,
 * and a 100,000-character name costs every frame that carries it. Imports its own `errors`.
 */
import { InvalidNameError } from "./errors.js";

/** Longest node name, in characters (NATS subject tokens have no limit of their own). */
export const MAX_NODE_NAME_LENGTH = 255;
/** Longest cluster name, in characters. */
export const MAX_CLUSTER_NAME_LENGTH = 64;
/** Longest hub id, in characters. */
export const MAX_HUB_NAME_LENGTH = 255;

// Whitespace, '.', '*', '>' and C0/C1 control characters.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const BAD_TOKEN = /[\s.*>\u0000-\u001f\u007f-\u009f]/;
const CLUSTER = /^[A-Za-z0-9_-]+$/;

function token(field: string, value: unknown, max: number): void {
  const rule = `1 to ${max} characters, none of them whitespace, '.', '*', '>' or a control character`;
  if (typeof value !== "string" || value.length === 0 || value.length > max || BAD_TOKEN.test(value)) {
    throw new InvalidNameError(field, rule, value);
  }
}

/** Throws `InvalidNameError` (field `node.name`) unless `name` can name a node. */
export function checkNodeName(name: unknown): void {
  token("node.name", name, MAX_NODE_NAME_LENGTH);
}

/** Throws `InvalidNameError` (field `hubId`) unless `name` can name a hub. */
export function checkHubName(name: unknown): void {
  token("hubId", name, MAX_HUB_NAME_LENGTH);
}

/** Throws `InvalidNameError` (field `cluster`) unless `name` can name a cluster. */
export function checkClusterName(name: unknown): void {
  if (typeof name !== "string" || name.length > MAX_CLUSTER_NAME_LENGTH || !CLUSTER.test(name)) {
    throw new InvalidNameError(
      "cluster",
      `1 to ${MAX_CLUSTER_NAME_LENGTH} letters, digits, '_' or '-'`,
      name,
    );
  }
}
