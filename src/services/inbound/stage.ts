/** What an inbound handling stage is (services/inbound/handling runs them in order). */
import type { InboundRow } from "../../delivery/inbound-store";

// Stored by delivery/inbound-store; named here too for the routes, which do not reach delivery/.
export type { InboundRow };

export interface StageOutcome {
  /** Merged into the row's `handling` under the stage's name. */
  result?: unknown;
  /** The later stages do not run (an opt-out keyword gets no auto-reply). */
  stop?: boolean;
}

export interface InboundStage {
  /** The key of `handling` its result goes under (`opt_out`, `auto_reply`, `forwarded`). */
  name: string;
  run(
    env: Env,
    message: InboundRow,
    ctx: Pick<ExecutionContext, "waitUntil">,
  ): Promise<StageOutcome>;
}
