/**
 * Type tests: compiled by `npm run typecheck` (never executed). Each `@ts-expect-error` line must
 * fail to compile; if it ever compiles, tsc reports the unused directive and the suite fails.
 */
import { defineServer, GenServer, noreply, ok, reply } from "../../src/index.js";

interface Proto {
  calls: { get(): number; echo(s: string): string; add(n: number): number };
  casts: { reset(to: number): void };
}

const B = defineServer<Proto>()({
  init: (n: number) => ok(n),
  handleCall: {
    get: (_a, s) => reply(s, s),
    echo: (x, s) => reply(x, s),
    add: (n, s) => reply(s + n, s + n),
  },
  handleCast: { reset: (to) => noreply(to) },
});

export async function typeTests(): Promise<void> {
  const r = await GenServer.start(B, 1);
  if (!r.ok) return;
  const n: number = await GenServer.call(r.pid, "add", 2);
  const s: string = await GenServer.call(r.pid, "echo", "x");
  const g: number = await GenServer.call(r.pid, "get");
  GenServer.cast(r.pid, "reset", 0);
  void [n, s, g];

  // @ts-expect-error the reply of "echo" is a string, not a number
  const wrong: number = await GenServer.call(r.pid, "echo", "x");
  // @ts-expect-error "add" takes a number
  await GenServer.call(r.pid, "add", "2");
  // @ts-expect-error no call named "nope"
  await GenServer.call(r.pid, "nope");
  // @ts-expect-error casts are not calls
  await GenServer.call(r.pid, "reset", 1);
  // @ts-expect-error reset takes a number
  GenServer.cast(r.pid, "reset", "0");
  void wrong;
}

defineServer<Proto>()({
  init: (n: number) => ok(n),
  handleCall: {
    // @ts-expect-error "get" must reply a number
    get: (_a, s) => reply("not a number", s),
  },
});

// @ts-expect-error init's argument type is enforced at start
GenServer.start(B, "one");
