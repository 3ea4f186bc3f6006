/**
 * The entity scenarios (reaching hub children by id), written once and run over any transport:
 * a test file calls `entityScenarios(transport)` with an `EntityTransport` that makes one
 * `EntityBed` per test — the memory transport with nodes in this process (`memory-bed.ts`), or
 * NATS with each node its own OS process, killed with SIGKILL (`nats-bed.ts`).
 *
 * - Exactly one copy when every node ensures the same ids at once.
 * - Idempotent calls through every node while children are killed again and again: none fails.
 * - Calls through references issued without pause on every node while a node is killed: every
 *   call succeeds or fails with a named reason by its deadline, none is answered by an instance
 *   an earlier reply had already left behind, and with an idempotent message none fails.
 * - The same through every node and a client-only node (a hub of no behaviour) across a whole
 *   rolling sequence: a node joins, children crash, a node drains, a node is killed.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { DriveOptions, DriveStats } from "./room.js";

/** What a scenario needs of a transport: hub nodes named `names`, driven by command. */
export interface EntityBed {
  /**
   * Starts the nodes (each with a hub whose behaviours include `room`; those in `clientOnly`
   * with a hub of no behaviour, which runs no child), formed into one hub.
   */
  start(names: string[], clientOnly?: string[]): Promise<void>;
  /** Starts one more hub node and waits until every running node counts it a member. */
  join(node: string): Promise<void>;
  /** `hub.drain()` on `node` (its hub stops); the result. */
  drain(node: string, deadlineMs: number): Promise<{ migrated: number; forced: number }>;
  /** `hub.ensure` of each id (behaviour `room`) on `node`; the pids as strings, in order. */
  ensure(node: string, ids: string[]): Promise<string[]>;
  /** `driveCalls` on `node`; with `untilStopped`, until `stopDrives` (at most `durationMs`). */
  drive(node: string, o: DriveOptions & { untilStopped?: boolean }): Promise<DriveStats>;
  /** Ends every drive started with `untilStopped`. */
  stopDrives(): Promise<void>;
  /** `hub.awaitSettled` on `node`; resolves with the problem left, or "ok". */
  settled(node: string, timeoutMs: number): Promise<string>;
  /** How many children `node` runs, and how many placements its registry holds (all ids). */
  census(node: string): Promise<{ local: number; placements: number; size: number }>;
  /** Kills (exit `kill`) the instances of `ids` that run on `node`; returns how many it killed. */
  crash(node: string, ids: string[]): Promise<number>;
  /** The node dies without a leave (memory: `MemoryNetwork.kill`; NATS: SIGKILL). */
  kill(node: string): Promise<void>;
  close(): Promise<void>;
}

export interface EntityTransport {
  readonly label: string;
  bed(): EntityBed;
  /** Deadline of the calls of the kill scenario, in ms. */
  readonly callTimeoutMs: number;
  /** Time each scenario may take, in ms (OS processes on a loaded machine take long to start). */
  readonly testTimeoutMs: number;
}

const NAMED = /^HV_ERR_HUB_ENTITY_/;

/**
 * What every drive must show: replies, none stale, no failure past its deadline, every failure
 * a named entity error, and none at all with an idempotent message.
 */
function expectOutcomes(stats: DriveStats[], idempotent: boolean): void {
  for (const s of stats) {
    expect(s.ok).toBeGreaterThan(0);
    expect(s.stale).toBe(0);
    expect(s.late).toBe(0);
    for (const code of Object.keys(s.failed)) expect(code).toMatch(NAMED);
    if (idempotent) expect(s.failed).toEqual({});
  }
}

export function entityScenarios(t: EntityTransport): void {
  describe(`entities over ${t.label}`, () => {
    let bed: EntityBed | undefined;
    const setup = () => (bed = t.bed());
    afterEach(async () => {
      await bed?.close();
      bed = undefined;
    });

    const settledAll = async (b: EntityBed, names: string[]) => {
      for (const n of names) expect(await b.settled(n, 20_000)).toBe("ok");
    };

    it(
      "every node ensures the same 40 ids at once: each runs exactly once, every node gets its pid",
      async () => {
        const b = setup();
        const names = ["a", "b", "c"];
        await b.start(names);
        const ids = Array.from({ length: 40 }, (_, i) => `e${i}`);
        const answers = await Promise.all(names.map((n) => b.ensure(n, ids)));
        for (let i = 0; i < ids.length; i++) {
          const pids = new Set(answers.map((a) => a[i]));
          expect(pids.size, `${ids[i]} answered with ${[...pids].join(", ")}`).toBe(1);
        }
        await settledAll(b, names);
        let local = 0;
        for (const n of names) {
          const c = await b.census(n);
          expect(c).toMatchObject({ size: ids.length, placements: ids.length });
          local += c.local;
        }
        expect(local).toBe(ids.length);
      },
      t.testTimeoutMs,
    );

    it(
      "peek (idempotent) through every node while children are killed again and again: none fails, none is stale",
      async () => {
        const b = setup();
        const names = ["a", "b", "c"];
        await b.start(names);
        const ids = Array.from({ length: 30 }, (_, i) => `k${i}`);
        await b.ensure("a", ids);
        await settledAll(b, names);
        const load = names.map((n) =>
          b.drive(n, { ids, durationMs: 2500, call: "peek", timeoutMs: t.callTimeoutMs }),
        );
        let killed = 0;
        for (let round = 0; round < 8; round++) {
          await new Promise((r) => setTimeout(r, 250));
          const some = ids.filter((_, i) => i % 8 === round);
          for (const n of names) killed += await b.crash(n, some);
        }
        const stats = await Promise.all(load);
        expect(killed).toBeGreaterThanOrEqual(ids.length);
        for (const s of stats) {
          expect(s.ok).toBeGreaterThan(0);
          expect(s).toMatchObject({ failed: {}, stale: 0, late: 0 });
        }
        await settledAll(b, names);
      },
      t.testTimeoutMs,
    );

    for (const call of ["peek", "visit"] as const) {
      const idempotent = call === "peek";
      it(
        `${call} (${idempotent ? "idempotent" : "not idempotent"}) through every node while a node is killed: ${idempotent ? "none fails" : "failures are named"}, none is stale`,
        async () => {
          const b = setup();
          const names = ["a", "b", "c"];
          await b.start(names);
          const ids = Array.from({ length: 30 }, (_, i) => `r${i}`);
          await b.ensure("a", ids);
          await settledAll(b, names);
          const o: DriveOptions = { ids, durationMs: 3000, call, timeoutMs: t.callTimeoutMs };
          const survivors = names.filter((n) => n !== "c");
          const load = survivors.map((n) => b.drive(n, o));
          void b.drive("c", o).catch(() => {});
          await new Promise((r) => setTimeout(r, 800));
          await b.kill("c");
          const stats = await Promise.all(load);
          expectOutcomes(stats, idempotent);
          await settledAll(b, survivors);
          for (const n of survivors) expect((await b.census(n)).size).toBe(ids.length);
        },
        t.testTimeoutMs,
      );
    }

    for (const call of ["peek", "visit"] as const) {
      const idempotent = call === "peek";
      it(
        `${call} through every node and a client-only node while a node joins, children crash, a node drains and a node is killed: ${idempotent ? "none fails" : "failures are named"}, none is stale`,
        async () => {
          const b = setup();
          // z runs no child: it reaches them only through its registry replica and the owners.
          await b.start(["a", "b", "c", "z"], ["z"]);
          const ids = Array.from({ length: 30 }, (_, i) => `m${i}`);
          await b.ensure("z", ids);
          await settledAll(b, ["a", "b", "c", "z"]);
          const o = { ids, durationMs: 120_000, call, timeoutMs: t.callTimeoutMs, untilStopped: true };
          // a, b and z see the whole sequence; c drives until it drains (its calls then fail with
          // HubStoppedError, not counted).
          const load = ["a", "b", "z"].map((n) => b.drive(n, o));
          void b.drive("c", o).catch(() => {});
          const pause = () => new Promise((r) => setTimeout(r, 400));
          await pause();
          await b.join("d");
          await pause();
          let crashed = 0;
          for (const n of ["a", "b", "c", "d"]) crashed += await b.crash(n, ids.slice(0, 10));
          expect(crashed).toBeGreaterThan(0);
          await pause();
          const drained = await b.drain("c", 10_000);
          expect(drained.forced).toBe(0);
          await pause();
          await b.kill("d");
          await pause();
          await b.stopDrives();
          const stats = await Promise.all(load);
          expectOutcomes(stats, idempotent);
          const survivors = ["a", "b", "z"];
          await settledAll(b, survivors);
          for (const n of survivors) expect((await b.census(n)).size).toBe(ids.length);
          expect((await b.census("z")).local).toBe(0);
        },
        t.testTimeoutMs,
      );
    }
  });
}
