/**
 * `ParentSupervisor`: a ready-made parent that starts a list of children in order. If a child
 * fails to start, the ones already started are stopped (reverse order), the rest are skipped,
 * "Error starting the child <id>: <reason>" is logged and the start returns the error
 * `start_error`. Afterwards it is driven through `ParentClient`. Imports `process`, `server`, and
 * its own `parent-gen-server`, `parent`, `child-spec`.
 */
import { formatReason } from "../../process/exit-reason.js";
import type { Pid } from "../../process/pid.js";
import type { LinkOptions } from "../../server/gen-server.js";
import { ok, type StartResult } from "../../server/results.js";
import { reportFields } from "../reports.js";
import type { ParentChildSpec } from "./child-spec.js";
import { Parent } from "./parent.js";
import { defineParentServer, ParentGenServer, type ParentServerOptions } from "./parent-gen-server.js";

/** The error of a `ParentSupervisor` start whose child failed to start. */
export const START_ERROR = "start_error";

function idText(id: unknown): string {
  return typeof id === "string" ? id : id === undefined ? "nil" : formatReason(id);
}

const SupervisorBehaviour = defineParentServer<{}>()({
  name: "ParentSupervisor",
  async init(children: readonly ParentChildSpec[], ctx) {
    const parent = Parent.of(ctx);
    for (const spec of children) {
      const r = await parent.startChild(spec);
      if (!r.ok && !("ignore" in r)) {
        const id = (spec as { id?: unknown } | null)?.id;
        ctx.node.logger.error(
          reportFields("parent", ctx.node.proc(ctx.self) ?? ctx.self, id, undefined, r.error),
          `Error starting the child ${idText(id)}: ${formatReason(r.error)}`,
        );
        await parent.shutdownAll();
        return { stop: START_ERROR };
      }
    }
    return ok(undefined);
  },
});

/** Options of `ParentSupervisor.start`: parent options plus GenServer start options. */
export type ParentSupervisorOptions = ParentServerOptions;

/**
 * A parent supervisor: `start(children, options)` / `startLink(children, options)`.
 * @category supervision
 */
export const ParentSupervisor = {
  start(
    children: readonly ParentChildSpec[] = [],
    options: ParentSupervisorOptions = {},
  ): Promise<StartResult<Pid>> {
    return ParentGenServer.start(SupervisorBehaviour, children, options);
  },
  /** Linked to the calling process, or to `linkTo` (a pid, or an async process's `ctx`). */
  startLink(
    children: readonly ParentChildSpec[] = [],
    options: ParentSupervisorOptions & LinkOptions = {},
  ): Promise<StartResult<Pid>> {
    return ParentGenServer.startLink(SupervisorBehaviour, children, options);
  },
} as const;
