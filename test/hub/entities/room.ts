/**
 * The child the entity tests reach by id: a room that counts visits and tells which instance
 * answered (a token drawn at `init`, so a restarted or adopted room answers with a new one).
 * `visit` changes state (not idempotent); `peek` does not, and is declared idempotent.
 * `driveCalls` issues calls through references without pause, one loop per id (for a duration,
 * or until told to stop), and counts what came back: replies, failures by error code, failures past their deadline, and answers from an
 * instance an earlier call had already left behind (stale). Used in-process (memory bed) and by
 * the entity node processes over NATS (`entity-node.ts`).
 */
import { entity } from "../../../src/hub/entities/entity.js";
import type { ProcessHub } from "../../../src/hub/process-hub.js";
import { defineServer, noreply, ok, reply } from "../../../src/server/index.js";

export interface RoomProtocol {
  calls: { visit(): { token: string; n: number }; peek(): { token: string; n: number } };
  casts: { bump(): void };
}

let seq = 0;

export const room = entity(
  defineServer<RoomProtocol>()({
    name: "room",
    init: () => ok({ token: `${process.pid}.${Date.now()}.${seq++}`, n: 0 }),
    handleCall: {
      visit: (_a, s) => reply({ token: s.token, n: s.n + 1 }, { ...s, n: s.n + 1 }),
      peek: (_a, s) => reply({ token: s.token, n: s.n }, s),
    },
    handleCast: { bump: (_a, s) => noreply({ ...s, n: s.n + 1 }) },
    handleInfo: (_m, s) => noreply(s),
  }),
  { idempotent: ["peek"] },
);

export interface DriveOptions {
  ids: string[];
  /** How long to call; with `stop`, the longest (it ends when `stop` settles). */
  durationMs: number;
  call: "visit" | "peek";
  timeoutMs: number;
}

export interface DriveStats {
  ok: number;
  /** Failures by error code (`code`, else the error's name). */
  failed: Record<string, number>;
  /** Failures that came later than their deadline plus 1 s of slack. */
  late: number;
  /** Replies from an instance of the id that an earlier reply had already replaced. */
  stale: number;
}

export async function driveCalls(
  hub: ProcessHub,
  o: DriveOptions,
  stop?: Promise<void>,
): Promise<DriveStats> {
  const stats: DriveStats = { ok: 0, failed: {}, late: 0, stale: 0 };
  let end = performance.now() + o.durationMs;
  void stop?.then(() => {
    end = 0;
  });
  await Promise.all(
    o.ids.map(async (id) => {
      const ref = hub.ref<typeof room>(id);
      const seen: string[] = [];
      let calls = 0;
      while (performance.now() < end) {
        // Calls to a child on this node settle in microtasks only: a loop of them would starve
        // timers and I/O (the very joins and failure detection the scenarios exercise).
        if (++calls % 32 === 0) await new Promise((r) => setImmediate(r));
        const t0 = performance.now();
        try {
          const r = await ref.call(o.call, undefined, { timeoutMs: o.timeoutMs });
          stats.ok++;
          if (seen.at(-1) !== r.token) {
            if (seen.includes(r.token)) stats.stale++;
            seen.push(r.token);
          }
        } catch (e) {
          const code = (e as { code?: string }).code ?? (e as Error).name;
          stats.failed[code] = (stats.failed[code] ?? 0) + 1;
          if (performance.now() - t0 > o.timeoutMs + 1000) stats.late++;
          // A failure is immediate for some reasons (lost): do not spin.
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    }),
  );
  return stats;
}
