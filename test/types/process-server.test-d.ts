/**
 * Type tests of the process and server layers: compiled by `npm run typecheck`, never executed.
 * Each `@ts-expect-error` line must fail to compile (an unused directive fails the suite). What
 * they keep true: a `ServerRef`'s protocol brand is required (a plain pid is not a typed server,
 * and one protocol's ref is not another's); the `…On(node, …)` forms are typed like the plain
 * ones; `ctx.receive(match)` without a timeout cannot resolve `TIMEOUT`; `Agent` infers its
 * state and replies.
 */
import {
  Agent,
  type AgentRef,
  defineServer,
  GenServer,
  isAliveOn,
  type Node,
  noreply,
  ok,
  type Pid,
  type ProcessContext,
  reply,
  type ServerRef,
  TIMEOUT,
  type Timeout,
} from "../../src/index.js";

interface Counter {
  calls: { get(): number; add(n: number): number };
  casts: { reset(to: number): void };
}
interface Chat {
  calls: { say(text: string): string };
}

const CounterServer = defineServer<Counter>()({
  init: (n: number) => ok(n),
  handleCall: { get: (_a, s) => reply(s, s), add: (n, s) => reply(s + n, s + n) },
  handleCast: { reset: (to) => noreply(to) },
});

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

declare const node: Node;
declare const counter: ServerRef<Counter>;
declare const chat: ServerRef<Chat>;
declare const plain: Pid;

export async function serverRefs(): Promise<void> {
  // A plain pid claims no protocol: it is not a typed server without a cast that says so.
  // @ts-expect-error the brand is required
  const claimed: ServerRef<Counter> = plain;
  const cast = plain as ServerRef<Counter>;
  // @ts-expect-error one protocol's ref is not another's
  const mixed: ServerRef<Counter> = chat;
  void [claimed, cast, mixed];

  // A plain pid still takes any call (untyped); a typed one only its own.
  const anything: unknown = await GenServer.call(plain, "whatever", 1);
  const n: number = await GenServer.call(counter, "add", 1);
  // @ts-expect-error Chat has no "add"
  await GenServer.call(chat, "add", 1);
  void [anything, n];

  const r = await GenServer.start(CounterServer, 0);
  if (r.ok) {
    const started: ServerRef<Counter> = r.pid;
    void started;
  }
}

export async function onForms(): Promise<void> {
  // callOn / castOn are typed from the protocol, as call / cast are.
  const n: number = await GenServer.callOn(node, counter, "add", 2);
  const g: number = await GenServer.callOn(node, counter, "get");
  assertType<Equal<Awaited<ReturnType<typeof GenServer.callOn<Counter, "get">>>, number>>();
  // @ts-expect-error the reply of "add" is a number
  const wrong: string = await GenServer.callOn(node, counter, "add", 2);
  // @ts-expect-error "add" takes a number
  await GenServer.callOn(node, counter, "add", "2");
  // @ts-expect-error no call named "nope"
  await GenServer.callOn(node, counter, "nope");
  GenServer.castOn(node, counter, "reset", 0);
  // @ts-expect-error reset takes a number
  GenServer.castOn(node, counter, "reset", "0");
  // @ts-expect-error casts are not calls
  await GenServer.callOn(node, counter, "reset", 0);
  await GenServer.stopOn(node, counter, "normal", 1000);
  const where: Pid | undefined = GenServer.whereisOn(node, "counter");
  const alive: boolean = await isAliveOn(node, counter);
  const found: Pid | undefined = await node.lookup({ name: "counter", node: "other" });
  void [n, g, wrong, where, alive, found];
}

export function receives(ctx: ProcessContext): void {
  const isNumber = (m: unknown): m is number => typeof m === "number";
  // Without a timeout: the message, never TIMEOUT.
  const untimed: Promise<string> = ctx.receive<string>((m) => typeof m === "string");
  const guarded: Promise<number> = ctx.receive(isNumber);
  const any: Promise<unknown> = ctx.receive();
  // With one: TIMEOUT too, and the type says so.
  const timed: Promise<number | Timeout> = ctx.receive(isNumber, 100);
  const timedAny: Promise<string | Timeout> = ctx.receive<string>(undefined, 100);
  // @ts-expect-error a receive with a timeout may resolve TIMEOUT
  const notTimeout: Promise<number> = ctx.receive(isNumber, 100);
  void (async () => {
    const m = await ctx.receive(isNumber);
    // @ts-expect-error TIMEOUT cannot come back from a receive without a timeout
    if (m === TIMEOUT) return;
    const k: number = m;
    void k;
  })();
  void [untimed, guarded, any, timed, timedAny, notTimeout];
  const off: () => void = ctx.onExit((reason) => void reason);
  off();
}

export async function agents(): Promise<void> {
  const r = await Agent.start(() => ({ n: 1, tags: ["a"] }));
  if (!r.ok) return;
  const agent: AgentRef<{ n: number; tags: string[] }> = r.pid;
  const n: number = await Agent.get(agent, (s) => s.n);
  const tags: string[] = await Agent.get(agent, async (s) => s.tags);
  const old: number = await Agent.getAndUpdate(agent, (s) => [s.n, { ...s, n: s.n + 1 }] as const);
  await Agent.update(agent, (s) => ({ ...s, n: 0 }));
  Agent.cast(agent, (s) => s);
  // @ts-expect-error the state has no "m"
  await Agent.get(agent, (s) => s.m);
  // @ts-expect-error update must return the state
  await Agent.update(agent, (s) => s.n);
  // @ts-expect-error an agent of another state does not fit
  const other: AgentRef<string> = agent;
  // By name, the state type comes from the function.
  const byName: number = await Agent.get("counter", (s: number) => s + 1);
  const onNode: number = await Agent.getOn(node, agent, (s) => s.n);
  void [n, tags, old, other, byName, onNode];
}
