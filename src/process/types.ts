/**
 * The shapes the process API speaks in: destinations, spawn options, `processInfo`'s answer and
 * the `TIMEOUT` of a receive. Re-exported by `node.ts`, where callers have always found them.
 * Imports `pid`.
 */
import type { Pid } from "./pid.js";

/** Where a message or call can go: a pid, a local name, or a name on a given node. */
export type Dest = Pid | string | { name: string; node: string };

/** Returned by `receive` when its timeout passes with no matching message. */
export const TIMEOUT: unique symbol = Symbol.for("hubvisor.timeout");
/** The type of `TIMEOUT`. */
export type Timeout = typeof TIMEOUT;

/** Options of `spawn`. */
export interface SpawnOptions {
  /** Link the new process to the calling process (`true`) or to the given pid. @default false */
  link?: boolean | Pid | undefined;
  /** Register the new process under this local name. @default undefined */
  name?: string | undefined;
  /** Start the process already trapping exits. @default false */
  trapExit?: boolean | undefined;
  /** Name of the behaviour shown by `processInfo`. @default undefined */
  behaviour?: string | undefined;
}

/** What `processInfo` tells about a live process. */
export interface ProcessInfo {
  pid: Pid;
  status: "idle" | "running" | "waiting" | "suspended";
  mailboxLength: number;
  links: Pid[];
  monitors: Pid[];
  monitoredBy: Pid[];
  name: string | undefined;
  behaviour: string | undefined;
  trapExit: boolean;
}
