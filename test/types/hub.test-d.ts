/**
 * Type tests of hub lookups: compiled by `npm run typecheck` (never executed). A lookup given a
 * protocol is a `ServerRef<P>`, so calls on it are typed; without one it is an untyped pid. Each
 * `@ts-expect-error` line must fail to compile.
 */
import { GenServer, type Pid, ProcessHub, type ServerContext } from "../../src/index.js";

interface Counter {
  calls: { get(): number; add(n: number): number };
  casts: { reset(): void };
}

export async function typedLookups(hub: ProcessHub, ctx: ServerContext): Promise<void> {
  const pid = hub.getPid<Counter>("counter");
  if (pid === undefined) return;
  const n: number = await GenServer.call(pid, "add", 2);
  GenServer.cast(pid, "reset");
  // @ts-expect-error no call named "nope" in Counter
  await GenServer.call(pid, "nope");
  // @ts-expect-error "get" replies a number
  const s: string = await GenServer.call(pid, "get");
  // @ts-expect-error "add" takes a number
  await GenServer.call(pid, "add", "2");
  for (const p of hub.getPids<Counter>("counter")) {
    // @ts-expect-error "reset" is a cast
    await GenServer.call(p, "reset");
  }
  const local = hub.localPid<Counter>("counter");
  if (local !== undefined) {
    const g: number = await GenServer.call(local, "get");
    void g;
  }
  // Without a protocol: a plain pid, any name goes.
  const plain: Pid | undefined = hub.getPid("counter");
  if (plain !== undefined) await GenServer.call(plain, "anything", 1);
  const id: string | undefined = ProcessHub.childId(ctx);
  void [n, s, id];
}
