/**
 * Registry: a unique registry (one process per key, via-names for GenServer) and a duplicate
 * registry used as pub/sub (many subscribers per topic, `dispatch` to publish).
 * Run it with `npx tsx examples/registry.ts`.
 */
import {
  defineServer,
  exit,
  GenServer,
  isAlive,
  isRegistryEvent,
  Node,
  ok,
  type ProcessContext,
  Registry,
  reply,
  setDefaultNode,
  silentLogger,
  spawn,
} from "hubvisor";

setDefaultNode(new Node({ name: "example", logger: silentLogger }));

// A listener hears about explicit registrations (via-names included), never about exits.
spawn(
  async (ctx) => {
    for (;;) {
      const e = await ctx.receive(isRegistryEvent);
      if (isRegistryEvent(e)) console.log(`  listener: ${e.type} ${JSON.stringify(e.key)} by ${e.pid}`);
    }
  },
  { name: "audit" },
);
await Registry.start({ keys: "unique", name: "Rooms", listeners: ["audit"], meta: { owner: "example" } });
console.log("registry meta owner ->", Registry.meta("Rooms", "owner"));
await Registry.start({ keys: "duplicate", name: "Topics" });

// --- unique keys: a GenServer named through the registry ------------------------------------
interface RoomProtocol {
  calls: { join(who: string): string[] };
}
const Room = defineServer<RoomProtocol>()({
  name: "Room",
  init: (_topic: string) => ok<string[]>([]),
  handleCall: { join: (who, people) => reply([...people, who], [...people, who]) },
});

const lobby = Registry.via("Rooms", ["room", "lobby"], { topic: "small talk" });
const first = await GenServer.start(Room, "small talk", { name: lobby });
console.log("start via name ->", first.ok ? `ok ${first.pid}` : first);
// A second start under the same key is refused with the holder, as OTP's already_started.
console.log("start again    ->", await GenServer.start(Room, "again", { name: lobby }));
await GenServer.call(lobby, "join", "ann");
console.log("join via name  ->", await GenServer.call(lobby, "join", "bob"));
console.log("lookup         ->", Registry.lookup("Rooms", ["room", "lobby"]));

// Entries vanish the moment their process exits: no stale pid is ever looked up.
if (first.ok) exit(first.pid, "kill");
console.log("after kill     ->", Registry.whereis("Rooms", ["room", "lobby"]));

// --- duplicate keys: pub/sub ----------------------------------------------------------------
// Each subscriber registers itself (register acts on the calling process; after an await the
// runtime no longer knows which process runs, so we pass ctx as `as`).
const subscriber = (name: string, topic: string) =>
  spawn(async (ctx: ProcessContext) => {
    Registry.register("Topics", topic, { name }, ctx);
    ctx.send(ctx.node.whereis("main")!, ["subscribed", name]);
    for (;;) {
      const msg = (await ctx.receive()) as [string, string];
      console.log(`  ${name} got ${msg[1]} on ${topic}`);
      if (msg[1] === "bye") return;
    }
  });

const done = new Promise<void>((resolve) => {
  spawn(
    async (ctx) => {
      // Wait for the three subscribers before publishing, so none misses a message.
      for (let i = 0; i < 3; i++) await ctx.receive();
      console.log(
        "subscribers of news:",
        Registry.lookup<{ name: string }>("Topics", "news").map((e) => e.value.name),
      );
      console.log(
        "subscribers matching { name: 'ann' }:",
        Registry.countMatch("Topics", "news", { name: "ann" }),
      );
      for (const text of ["hello", "bye"]) {
        // dispatch runs the function once, in the caller, with every entry under the key.
        Registry.dispatch("Topics", "news", (entries) => {
          for (const e of entries) ctx.send(e.pid, ["news", text]);
        });
      }
      Registry.dispatch("Topics", "sport", (entries) => {
        for (const e of entries) ctx.send(e.pid, ["sport", "bye"]);
      });
      resolve();
    },
    { name: "main" },
  );
});
const subs = [subscriber("ann", "news"), subscriber("bob", "news"), subscriber("cat", "sport")];
await done;
while (subs.some((p) => isAlive(p))) await new Promise((r) => setTimeout(r, 5));
console.log("entries left after the subscribers exit:", Registry.count("Topics"));

await Registry.stop("Rooms");
await Registry.stop("Topics");
console.log("registry example: done");
