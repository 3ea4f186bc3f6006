/**
 * Errors of the hub strategies. Imports the root `errors`.
 */
import { HubvisorError, show } from "../../errors.js";

/**
 * This node has lost its partition-tolerance quorum: it runs no hub children and refuses starts
 * and stops until quorum returns. Code `HV_ERR_HUB_PARTITIONED`; start results carry the same
 * condition as the reason `partitioned`.
 * @category hub
 */
export class HubPartitionedError extends HubvisorError {
  constructor(
    readonly hubId: string,
    readonly node: string,
  ) {
    super(
      "HV_ERR_HUB_PARTITIONED",
      `hub ${show(hubId)} on node ${show(node)} is partitioned (no quorum): it refuses starts and stops`,
    );
  }
}
