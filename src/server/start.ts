/**
 * Starting a GenServer: `start`, `startLink` (linked to the caller, or to `linkTo`) and, for
 * supervisors, `startLinkNow`. A start spawns the process and runs its `init` at once, inside the
 * new process (the caller waits for `init` in any case, as OTP's `start_link` does), so a
 * synchronous `init` answers without a promise, microtask or run-queue turn. Also the rules every
 * `startLink` of the library shares: which node it starts on, which process it links to, and
 * whether a name is taken. Imports `process`, and its own `behaviour`, `server-process`,
 * `protocol`, `results`.
 */
import { InvalidOptionError } from "../errors.js";
import { currentNodeOrDefault, type Node, ProcessContext } from "../process/node.js";
import { Pid } from "../process/pid.js";
import { type Proc, Status } from "../process/proc.js";
import type { ServerBehaviour } from "./behaviour.js";
import type { Protocol, ServerRef, ViaName } from "./protocol.js";
import type { StartResult } from "./results.js";
import { runInitNow, ServerProcess } from "./server-process.js";

/** Options of `GenServer.start`. */
export interface StartOptions {
  /** Register under a local name, a via-name. @default undefined */
  name?: string | ViaName | undefined;
  /** Time allowed for `init`; on expiry the process is killed and the start fails `timeout`. @default Infinity */
  timeoutMs?: number | undefined;
  /** Start trapping exits before `init`. @default false */
  trapExit?: boolean | undefined;
  /** Node to start on (a local `Node`). @default the current node */
  node?: Node | undefined;
}

/**
 * The `linkTo` option of every `startLink` (GenServer, Supervisor, DynamicSupervisor,
 * TaskSupervisor, Registry, ParentGenServer, ParentSupervisor): the process the new one is linked
 * to. By default the calling process — which is known only while it runs synchronously, so an
 * async process that has `await`ed passes its `ctx` (or its pid) here.
 * @category server
 */
export interface LinkOptions {
  /** Link to this process: a pid or a process context. @default the calling process (none outside processes) */
  linkTo?: Pid | ProcessContext | undefined;
}

/** Starts a server (unlinked). Resolves with OTP's on_start result. */
export function start<P extends Protocol, S, A>(
  behaviour: ServerBehaviour<P, S, A>,
  arg: A,
  options: StartOptions = {},
): Promise<StartResult<ServerRef<P>>> {
  return spawnServer(behaviour, arg, options, undefined);
}

/** Starts a server linked to the calling process (or to `linkTo`). */
export function startLink<P extends Protocol, S, A>(
  behaviour: ServerBehaviour<P, S, A>,
  arg: A,
  options: StartOptions & LinkOptions = {},
): Promise<StartResult<ServerRef<P>>> {
  return spawnServer(behaviour, arg, linkedOptions(options), linkedTo(options));
}

/** `startLink` answering synchronously when `init` is synchronous (for supervisors). */
export function startLinkNow<S, A>(
  behaviour: ServerBehaviour<any, S, A>,
  arg: A,
  options: StartOptions & LinkOptions = {},
): StartResult | Promise<StartResult> {
  return startServer(behaviour, arg, linkedOptions(options), linkedTo(options));
}

/**
 * The node a `startLink` starts on: `node` if given, else the node of a `linkTo` context, else
 * the current node.
 */
export function startNode(node: Node | undefined, linkTo: Pid | ProcessContext | undefined): Node {
  return node ?? (linkTo instanceof ProcessContext ? linkTo.node : currentNodeOrDefault());
}

/**
 * The pid a `startLink` on `node` links to: `linkTo`'s, else the calling process, else none
 * (outside any process).
 */
export function linkTarget(node: Node, linkTo: Pid | ProcessContext | undefined): Pid | undefined {
  if (linkTo !== undefined) return linkTo instanceof Pid ? linkTo : linkTo.self;
  const self = node.self();
  return self.id === 0 ? undefined : self;
}

/**
 * The process already holding `name` (a local name on `node`, or a via-name), if any: a start
 * under a taken name answers `{ ok: false, error: { alreadyStarted: holder } }`.
 */
export function nameHolder(node: Node, name: string | ViaName | undefined): Pid | undefined {
  if (name === undefined) return undefined;
  return typeof name === "string" ? node.whereis(name) : name.via.whereisName(name.key);
}

/** `options` with the node a `linkTo` context implies (the same object when nothing changes). */
function linkedOptions(options: StartOptions & LinkOptions): StartOptions {
  const linkTo = options.linkTo;
  if (options.node !== undefined || !(linkTo instanceof ProcessContext)) return options;
  return { ...options, node: linkTo.node };
}

function linkedTo(options: StartOptions & LinkOptions): Pid | undefined {
  const linkTo = options.linkTo;
  return linkTarget(startNode(options.node, linkTo), linkTo);
}

function spawnServer<P extends Protocol, S, A>(
  behaviour: ServerBehaviour<P, S, A>,
  arg: A,
  options: StartOptions,
  parent: Pid | undefined,
): Promise<StartResult<ServerRef<P>>> {
  const r = startServer(behaviour, arg, options, parent);
  return (r instanceof Promise ? r : Promise.resolve(r)) as Promise<StartResult<ServerRef<P>>>;
}

/**
 * Spawns a server and runs its `init` at once, inside the new process (the caller waits for
 * `init` in any case, as OTP's `start_link` does). The result comes back synchronously when
 * `init` was synchronous, else as a promise. Supervisors call this through `childSpec`: a
 * synchronous start costs no promise, microtask or run-queue turn.
 */
export function startServer<S, A>(
  behaviour: ServerBehaviour<any, S, A>,
  arg: A,
  options: StartOptions,
  parent: Pid | undefined,
): StartResult | Promise<StartResult> {
  if (typeof behaviour !== "object" || behaviour === null || typeof behaviour.init !== "function") {
    throw new InvalidOptionError("behaviour", "an object with an init function", behaviour);
  }
  const node = options.node ?? currentNodeOrDefault();
  const name = options.name;
  const holder = nameHolder(node, name);
  if (holder !== undefined) return { ok: false, error: { alreadyStarted: holder } };
  // Misuse found above throws at once (as Elixir raises); what fails from here on is the start
  // failing, and rejects.
  let proc: Proc;
  try {
    proc = node.spawnHandlerFor(
      ServerProcess.prototype.handle as (msg: unknown) => unknown,
      parent,
      typeof name === "string" ? name : undefined,
      options.trapExit === true,
      undefined, // the server names its behaviour itself (`behaviourName`)
    );
  } catch (e) {
    return Promise.reject(e);
  }
  const server = new ServerProcess<S>(node, proc, behaviour);
  proc.behaviourState = server;
  server.parent = parent;
  if (name !== undefined && typeof name !== "string") {
    const refused = registerVia(node, proc, name);
    if (refused !== undefined) return refused;
  }
  const r = runInitNow(node, proc, arg);
  if (r !== undefined) return r;
  if (server.onStarted === null || proc.status === Status.Dead) {
    // Dead before `init` ran (its link target was already gone) or in its synchronous part.
    server.onStarted = null;
    return { ok: false, error: proc.exitReason };
  }
  return awaitInit(node, proc, server, options.timeoutMs);
}

/** Registers a new server under a via-name; the start's answer when that fails, else undefined. */
function registerVia(node: Node, proc: Proc, name: ViaName): StartResult | Promise<never> | undefined {
  let r: ReturnType<typeof name.via.registerName>;
  try {
    r = name.via.registerName(name.key, proc.pid);
  } catch (e) {
    // A via module that throws must not leave a process behind that never ran `init`.
    node.terminate(proc, "normal");
    return Promise.reject(e);
  }
  if (r.ok) return undefined;
  node.terminate(proc, "normal");
  return { ok: false, error: { alreadyStarted: r.holder } };
}

/** `init` went async: the answer comes later, unless the start times out or the process dies first. */
function awaitInit<S>(
  node: Node,
  proc: Proc,
  server: ServerProcess<S>,
  timeout: number | undefined,
): Promise<StartResult> {
  return new Promise((resolve) => {
    const entry =
      timeout !== undefined && Number.isFinite(timeout)
        ? node.wheel.add(timeout, () => {
            if (server.onStarted === null) return;
            server.onStarted = null;
            node.terminate(proc, "killed");
            resolve({ ok: false, error: "timeout" });
          })
        : null;
    server.onStarted = (v) => {
      if (entry !== null) node.wheel.cancel(entry);
      resolve(v);
    };
    node.onExit(proc.pid, (_pid, reason) => server.started({ ok: false, error: reason }));
  });
}
