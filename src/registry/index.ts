/**
 * The registry layer: Elixir's `Registry` (unique and duplicate keys, metadata, listeners,
 * automatic removal on exit, via-names for GenServer). Imports `process` and `server`.
 */
import { ANY } from "./pattern.js";
import * as RegistryNs from "./registry.js";

export { RegistryKindError, UnknownRegistryError, ViaDuplicateRegistryError } from "./errors.js";
export {
  DEFAULT_REGISTRY_OPTIONS,
  type ParsedRegistryOptions,
  parseRegistryOptions,
  type RegistryKeys,
  type RegistryOptions,
} from "./options.js";
export { ANY, matchesPattern, type ValuePattern } from "./pattern.js";
export type { Actor, RegistryName } from "./registry.js";
export {
  isRegistryEvent,
  type RegisterResult,
  type RegistryEntry,
  type RegistryEvent,
  type UpdateResult,
} from "./table.js";

/**
 * Registry functions: `start`, `startLink`, `stop`, `register`, `unregister`, `unregisterMatch`,
 * `updateValue`, `lookup`, `whereis`, `match`, `countMatch`, `dispatch`, `keys`, `values`,
 * `count`, `info`, `meta`, `putMeta`, `deleteMeta`, `via`, `send`, and the `ANY` wildcard.
 */
export const Registry = {
  start: RegistryNs.start,
  startLink: RegistryNs.startLink,
  stop: RegistryNs.stop,
  register: RegistryNs.register,
  unregister: RegistryNs.unregister,
  unregisterMatch: RegistryNs.unregisterMatch,
  updateValue: RegistryNs.updateValue,
  lookup: RegistryNs.lookup,
  whereis: RegistryNs.whereis,
  match: RegistryNs.match,
  countMatch: RegistryNs.countMatch,
  dispatch: RegistryNs.dispatch,
  keys: RegistryNs.keys,
  values: RegistryNs.values,
  count: RegistryNs.count,
  info: RegistryNs.info,
  meta: RegistryNs.meta,
  putMeta: RegistryNs.putMeta,
  deleteMeta: RegistryNs.deleteMeta,
  via: RegistryNs.via,
  send: RegistryNs.send,
  ANY,
} as const;
