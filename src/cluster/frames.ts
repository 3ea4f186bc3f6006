/**
 * The frames nodes exchange, declared once: a tag (`FrameTag`) and a tuple per kind, typed end to
 * end from the router's encoder to the receiver's dispatcher, and `validateFrame`, which checks
 * a decoded value against the declared shape before anything acts on it.
 *
 * A frame is a MessagePack array whose first element is the tag. A wire message carries one frame
 * or a batch: several frames concatenated (MessagePack is self-delimiting), in send order.
 *
 * Imports `process` pids.
 */
import { Pid, Ref } from "../process/pid.js";

/** Version of the frame protocol, announced in `hello`. */
export const PROTOCOL_VERSION = 3;

/**
 * The first protocol version with the call frames (`Call`, `GenCall`, `CallReply`): a node sends
 * them only to peers that announced at least this version, and monitor + send to older ones.
 */
export const CALL_FRAMES_VERSION = 3;

/** Tags of the frame kinds. Stable on the wire: never renumber, only append. */
export const FrameTag = {
  Hello: 0,
  Send: 1,
  SendNamed: 2,
  Link: 3,
  Unlink: 4,
  Monitor: 5,
  MonitorName: 6,
  Demonitor: 7,
  Exit: 8,
  Down: 9,
  Reply: 10,
  SpawnRequest: 11,
  SpawnReply: 12,
  Lookup: 13,
  Call: 14,
  GenCall: 15,
  CallReply: 16,
} as const;
export type FrameTag = (typeof FrameTag)[keyof typeof FrameTag];

type T = typeof FrameTag;

/** First frame to a peer that came up: protocol version and sender incarnation. */
/**
 * Sent once per session, when the sender sees the receiver come up. `answer` marks the hello of a
 * node that reset its session because of the receiver's (see `Cluster`), so resets never echo.
 */
export type HelloFrame = readonly [T["Hello"], version: number, incarnation: number, answer: boolean];
/** A message to a pid of the receiving node. */
export type SendFrame = readonly [T["Send"], to: Pid, msg: unknown];
/** A message to a registered name on the receiving node; dropped if the name is free. */
export type SendNamedFrame = readonly [T["SendNamed"], name: string, msg: unknown];
/** `from` (sender's process) links to `to` (receiver's). */
export type LinkFrame = readonly [T["Link"], from: Pid, to: Pid];
export type UnlinkFrame = readonly [T["Unlink"], from: Pid, to: Pid];
/** `watcher` (sender's) monitors `target` (receiver's) under `ref`. */
export type MonitorFrame = readonly [T["Monitor"], watcher: Pid, target: Pid, ref: Ref];
/** `watcher` monitors whoever holds `name` on the receiver; `noproc` at once if nobody does. */
export type MonitorNameFrame = readonly [T["MonitorName"], watcher: Pid, name: string, ref: Ref];
/** Cancels a monitor; `target` is `<node.0>` with creation 0 for a monitor made by name. */
export type DemonitorFrame = readonly [T["Demonitor"], watcher: Pid, target: Pid, ref: Ref];
/** An exit signal; `viaLink` tells a link propagation from an explicit `exit(pid, reason)`. */
export type ExitFrame = readonly [T["Exit"], from: Pid, to: Pid, reason: unknown, viaLink: boolean];
/** A monitor of a process on the sender fired for `watcher` on the receiver. */
export type DownFrame = readonly [T["Down"], watcher: Pid, ref: Ref, pid: Pid, reason: unknown];
/** The answer to a call made from the receiving node. */
export type ReplyFrame = readonly [T["Reply"], to: Pid, ref: Ref, value: unknown];
/** Start the behaviour registered as `behaviour` with `args`; answer with `SpawnReply`. */
export type SpawnRequestFrame = readonly [
  T["SpawnRequest"],
  requestId: number,
  behaviour: string,
  args: unknown[],
];
/** The pid of the started process, or the error that prevented it. */
export type SpawnReplyFrame =
  | readonly [T["SpawnReply"], requestId: number, ok: true, pid: Pid]
  | readonly [T["SpawnReply"], requestId: number, ok: false, error: unknown];

/**
 * Is `target` (a pid of the receiver, or a name there) a live process? Answered with a `Reply` to
 * `from` by `ref`: the live pid, or `null`.
 */
export type LookupFrame = readonly [T["Lookup"], from: Pid, ref: Ref, target: Pid | string];

/**
 * A call: `monitor` + `send` in one frame. The caller (a process of the sender) monitors the
 * target (a process of the receiver) under the call's ref and sends it `msg`. Pids travel as
 * numbers: the caller and the ref are of the sending node, the target of the receiving one (the
 * transport names both), so the frame cannot name a pid of a third node. A dead target answers
 * with a `DOWN noproc` for the ref; a reply from the receiver is a `CallReply`, which also ends
 * the monitor (no `demonitor` frame follows it).
 */
export type CallFrame = readonly [
  T["Call"],
  callerId: number,
  callerCreation: number,
  targetId: number,
  targetCreation: number,
  refId: number,
  msg: unknown,
];
/**
 * A `GenServer.call`: a `Call` whose message is `[tag, from, name, arg]`, sent as its parts so
 * that the caller and ref are not written twice; the receiver rebuilds the message.
 */
export type GenCallFrame = readonly [
  T["GenCall"],
  callerId: number,
  callerCreation: number,
  targetId: number,
  targetCreation: number,
  refId: number,
  tag: string,
  name: string,
  arg: unknown,
];
/**
 * The answer to a `Call` or `GenCall` from the target's node, which dropped the call's monitor
 * when it sent this. The caller and the ref are of the receiving node (`to` with `creation`).
 */
export type CallReplyFrame = readonly [
  T["CallReply"],
  toId: number,
  creation: number,
  refId: number,
  value: unknown,
];

/** Every frame kind. */
export type Frame =
  | HelloFrame
  | SendFrame
  | SendNamedFrame
  | LinkFrame
  | UnlinkFrame
  | MonitorFrame
  | MonitorNameFrame
  | DemonitorFrame
  | ExitFrame
  | DownFrame
  | ReplyFrame
  | SpawnRequestFrame
  | SpawnReplyFrame
  | LookupFrame
  | CallFrame
  | GenCallFrame
  | CallReplyFrame;

/** How a field is checked: its kind, or `any` for a payload (messages, reasons, values). */
type Field = "pid" | "ref" | "string" | "int" | "bool" | "array" | "any";

const SHAPES: readonly (readonly Field[])[] = [
  /* Hello */ ["int", "int", "bool"],
  /* Send */ ["pid", "any"],
  /* SendNamed */ ["string", "any"],
  /* Link */ ["pid", "pid"],
  /* Unlink */ ["pid", "pid"],
  /* Monitor */ ["pid", "pid", "ref"],
  /* MonitorName */ ["pid", "string", "ref"],
  /* Demonitor */ ["pid", "pid", "ref"],
  /* Exit */ ["pid", "pid", "any", "bool"],
  /* Down */ ["pid", "ref", "pid", "any"],
  /* Reply */ ["pid", "ref", "any"],
  /* SpawnRequest */ ["int", "string", "array"],
  /* SpawnReply */ ["int", "bool", "any"],
  /* Lookup */ ["pid", "ref", "any"],
  /* Call */ ["int", "int", "int", "int", "int", "any"],
  /* GenCall */ ["int", "int", "int", "int", "int", "string", "string", "any"],
  /* CallReply */ ["int", "int", "int", "any"],
];

function fits(kind: Field, v: unknown): boolean {
  switch (kind) {
    case "pid":
      return v instanceof Pid;
    case "ref":
      return v instanceof Ref;
    case "string":
      return typeof v === "string";
    case "int":
      return Number.isSafeInteger(v);
    case "bool":
      return typeof v === "boolean";
    case "array":
      return Array.isArray(v);
    case "any":
      return true;
  }
}

/**
 * Checks that a decoded value is a well-formed frame. Returns the frame, or a short description
 * of what is wrong (for the logs).
 */
export function validateFrame(v: unknown): Frame | string {
  if (!Array.isArray(v) || v.length === 0) return "not a frame (expected a non-empty array)";
  const tag = v[0];
  const shape = typeof tag === "number" ? SHAPES[tag] : undefined;
  if (shape === undefined) return `unknown frame tag ${String(tag)}`;
  if (v.length !== shape.length + 1)
    return `frame ${tag}: expected ${shape.length + 1} elements, got ${v.length}`;
  for (let i = 0; i < shape.length; i++) {
    if (!fits(shape[i]!, v[i + 1])) return `frame ${tag}: element ${i + 1} is not a ${shape[i]}`;
  }
  if (tag === FrameTag.SpawnReply && v[2] === true && !(v[3] instanceof Pid))
    return "frame 12: ok without a pid";
  if (tag === FrameTag.Lookup && !(v[3] instanceof Pid) && typeof v[3] !== "string")
    return "frame 13: the target is neither a pid nor a name";
  return v as unknown as Frame;
}
