/**
 * A typed counter GenServer: calls (typed replies), casts, a deferred reply and a stop.
 * Run it with `npx tsx examples/gen-server.ts`.
 */
import {
  defineServer,
  type From,
  GenServer,
  noreply,
  ok,
  reply,
  setDefaultNode,
  Node,
  silentLogger,
} from "hubvisor";

setDefaultNode(new Node({ name: "example", logger: silentLogger }));

// The protocol is a type only: each call's reply type is inferred from its name at the call site.
interface CounterProtocol {
  calls: {
    get(): number;
    add(n: number): number;
    // Answers once the count reaches `n`: the handler keeps `from` and replies later.
    waitFor(n: number): number;
  };
  casts: { reset(to: number): void };
}

interface State {
  n: number;
  waiting: { target: number; from: From }[];
}

/** Replies to every waiter whose target has been reached, keeping the others. */
function wake(s: State): State {
  const still: State["waiting"] = [];
  for (const w of s.waiting) {
    if (s.n >= w.target) GenServer.reply(w.from, s.n);
    else still.push(w);
  }
  return { n: s.n, waiting: still };
}

const Counter = defineServer<CounterProtocol>()({
  name: "Counter",
  init: (start: number) => ok<State>({ n: start, waiting: [] }),
  handleCall: {
    get: (_arg, s) => reply(s.n, s),
    add: (k, s) => {
      const next = wake({ n: s.n + k, waiting: s.waiting });
      return reply(next.n, next);
    },
    // `noreply` leaves the caller waiting; the reply comes from `wake` after a later `add`.
    waitFor: (target, s, ctx) =>
      s.n >= target
        ? reply(s.n, s)
        : noreply({ n: s.n, waiting: [...s.waiting, { target, from: ctx.from! }] }),
  },
  handleCast: { reset: (to, s) => noreply(wake({ n: to, waiting: s.waiting })) },
  terminate: (reason, s) => console.log(`terminate(${String(reason)}) with n = ${s.n}`),
});

const started = await GenServer.start(Counter, 10, { name: "counter" });
if (!started.ok) throw new Error("the counter did not start");
const pid = started.pid;

const n: number = await GenServer.call(pid, "get"); // typed as number by the protocol
console.log(`get -> ${n}`);
console.log(`add(5) -> ${await GenServer.call(pid, "add", 5)}`);

// A cast returns nothing and never fails; a call after it sees its effect (per-pair ordering).
GenServer.cast(pid, "reset", 0);
console.log(`after reset(0), get -> ${await GenServer.call("counter", "get")}`);

const waiting = GenServer.call(pid, "waitFor", 3);
for (let i = 0; i < 3; i++) await GenServer.call(pid, "add", 1);
console.log(`deferred reply: waitFor(3) -> ${await waiting}`);

await GenServer.stop(pid, "normal");
console.log(`stopped; whereis("counter") -> ${GenServer.whereis("counter")}`);
console.log("gen-server example: done");
