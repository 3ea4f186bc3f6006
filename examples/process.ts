/**
 * The process primitives everything else is built on: spawn, send, selective receive with a
 * timeout, links and trap-exit, monitors, names and processInfo.
 * Run it with `npx tsx examples/process.ts`.
 */
import {
  isDownMessage,
  isExitMessage,
  Node,
  processInfo,
  send,
  setDefaultNode,
  silentLogger,
  spawn,
  TIMEOUT,
  whereis,
} from "hubvisor";

// A quiet node: the crash below is on purpose, so its report is not worth printing.
setDefaultNode(new Node({ name: "example", logger: silentLogger }));

const done = new Promise<void>((resolve) => {
  spawn(async (ctx) => {
    // Selective receive: take the "urgent" message first although it was sent last.
    ctx.send(ctx.self, ["normal", 1]);
    ctx.send(ctx.self, ["urgent", 2]);
    const first = await ctx.receive((m) => Array.isArray(m) && m[0] === "urgent");
    const second = await ctx.receive();
    console.log(`selective receive: ${JSON.stringify(first)} then ${JSON.stringify(second)}`);
    console.log(
      `receive with a timeout on an empty mailbox: ${String((await ctx.receive(undefined, 20)) === TIMEOUT)}`,
    );

    // Trap exits so a linked crash arrives as a message instead of killing us.
    ctx.trapExit(true);
    const worker = ctx.spawn(
      async (w) => {
        await w.receive();
        throw new Error("worker failed");
      },
      { link: true, name: "worker" },
    );
    const ref = ctx.monitor(worker);
    console.log(`whereis("worker") -> ${whereis("worker")}; links: ${processInfo(ctx.self)?.links.length}`);
    ctx.send("worker", "go"); // by name

    const exit = await ctx.receive(isExitMessage);
    const down = await ctx.receive(isDownMessage);
    if (isExitMessage(exit)) console.log(`EXIT from ${exit.from}: ${(exit.reason as Error).message}`);
    if (isDownMessage(down)) console.log(`DOWN for ${down.pid} (ref matches: ${down.ref.equals(ref)})`);
    console.log(`the name is free again: whereis("worker") -> ${whereis("worker")}`);
    resolve();
  });
});
await done;

// Sending to a name nobody holds is an error (Erlang's badarg); to a dead pid it is silently dropped.
try {
  send("nobody", "hi");
} catch (e) {
  console.log(`send to a free name -> ${(e as { code: string }).code}`);
}
console.log("process example: done");
