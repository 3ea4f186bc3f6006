/**
 * Starting a supervisor process (Supervisor or DynamicSupervisor, any `SupervisorCore`): the node
 * and the process to link to (the rules of every `startLink`), a taken name, the handler process
 * trapping exits whose first step is `core.init()`, and its via-name. Imports `process`,
 * `server`, and its own `supervisor-core`, `supervisor-client`, `options`.
 */
import type { Node, ProcessContext } from "../process/node.js";
import { currentNodeOrDefault } from "../process/node.js";
import type { Pid } from "../process/pid.js";
import { Status } from "../process/proc.js";
import { isThenable } from "../process/thenable.js";
import { StartCrashError } from "../server/errors.js";
import { type LinkOptions, linkTarget, nameHolder, startNode } from "../server/gen-server.js";
import type { ViaName } from "../server/protocol.js";
import type { StartResult } from "../server/results.js";
import type { SupervisorStartOptions } from "./options.js";
import { trackSupervisor } from "./supervisor-client.js";
import type { SupervisorCore } from "./supervisor-core.js";

/**
 * The start of both supervisors once their init is known: the node and link target of `opts`
 * (`startContext`), the core made for that node, spawned (`spawnSupervisor`).
 */
export function launchSupervisor(
  link: boolean,
  opts: SupervisorStartOptions & LinkOptions,
  behaviourName: string,
  makeCore: (node: Node) => SupervisorCore,
): Promise<StartResult> {
  const { node, linkTo } = startContext(opts.node, link, opts.linkTo);
  return spawnSupervisor(makeCore(node), behaviourName, opts.name, linkTo);
}

/**
 * Spawns a supervisor process running `core.init()` first; resolves with its start result.
 * Linked to `linkTo` when given. A taken name gives `{ ok: false, error: { alreadyStarted } }`.
 */
export function spawnSupervisor(
  core: SupervisorCore,
  behaviourName: string,
  name: string | ViaName | undefined,
  linkTo: Pid | undefined,
): Promise<StartResult> {
  const node = core.node;
  const holder = nameHolder(node, name);
  if (holder !== undefined) return Promise.resolve({ ok: false, error: { alreadyStarted: holder } });
  return new Promise((resolve) => {
    const { proc } = node.spawnHandler(core.handle, () => initSupervisor(core, behaviourName, resolve), {
      link: linkTo ?? false,
      name: typeof name === "string" ? name : undefined,
      trapExit: true,
      behaviour: behaviourName,
    });
    core.proc = proc;
    core.parent = linkTo;
    trackSupervisor(node, proc.pid);
    if (name !== undefined && typeof name !== "string") {
      const reg = name.via.registerName(name.key, proc.pid);
      if (!reg.ok) {
        node.terminate(proc, "normal");
        resolve({ ok: false, error: { alreadyStarted: reg.holder } });
      }
    }
  });
}

/**
 * The supervisor's first step, inside its process: `core.init()`, its answer handed to `resolve`
 * (a module `init` that throws is a crashed start, as a GenServer `init` that throws).
 */
function initSupervisor(
  core: SupervisorCore,
  behaviourName: string,
  resolve: (r: StartResult) => void,
): unknown {
  let r: StartResult | Promise<StartResult>;
  try {
    r = core.init();
  } catch (e) {
    r = { ok: false, error: new StartCrashError(`${behaviourName}.init`, e) };
  }
  if (isThenable(r)) return Promise.resolve(r).then((v) => answerStart(core, v, resolve));
  answerStart(core, r, resolve);
  return undefined;
}

/** Answers the start; a supervisor that did not start ends (`normal` when it ignored). */
function answerStart(core: SupervisorCore, r: StartResult, resolve: (r: StartResult) => void): void {
  resolve(r);
  if (!r.ok && core.proc.status !== Status.Dead) {
    core.node.terminate(core.proc, "ignore" in r ? "normal" : r.error);
  }
}

/**
 * The node a start uses, and the pid to link to for `startLink`: `linkTo` when given (a pid or
 * the `ctx` of an async process after an `await`), else the calling process (none outside
 * processes). The same rules as `GenServer.startLink`'s.
 */
export function startContext(
  nodeOption: Node | undefined,
  link: boolean,
  linkTo?: Pid | ProcessContext,
): { node: Node; linkTo: Pid | undefined } {
  if (!link) return { node: nodeOption ?? currentNodeOrDefault(), linkTo: undefined };
  const node = startNode(nodeOption, linkTo);
  return { node, linkTo: linkTarget(node, linkTo) };
}
