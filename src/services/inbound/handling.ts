/**
 * What happens to an inbound message once it is stored (services/inbound/receive): the stages run
 * in order (opt-out keywords first, then the desk's handoff keywords, then keyword auto-replies, then
 * the desk's fallback, then forwarding) and each may stop
 * the ones after it. Each stage is idempotent on the message's id (an opt-out is an upsert, a
 * reply or a forward is sent with an idempotency key made from the inbound id), so running the
 * handling again after a crash or a carrier's retry does nothing twice. What the stages did is
 * written to the row's `handling` (shown on the message in the API).
 */
import { eq } from "drizzle-orm";
import { database } from "../../db/client";
import { inboundMessages } from "../../db/schema";
import type { InboundRow } from "../../delivery/inbound-store";
import { autoReplyStage } from "./auto-reply-stage";
import { deskFallbackStage, deskStage, quietWhenDeskTookIt } from "./desk-stages";
import { forwardingStage } from "./forwarding-stage";
import { optOutStage } from "./opt-out-stage";
// The stages' types are in ./stage, not here: this file imports the stages.
import type { InboundStage } from "./stage";

/** The stages, in the order they run: an opt-out keyword gets no auto-reply and no forward. */
const STAGES: readonly InboundStage[] = [
  optOutStage,
  deskStage,
  quietWhenDeskTookIt(autoReplyStage),
  deskFallbackStage,
  forwardingStage,
];

/** Runs the stages on a stored message and records what they did. */
export async function handleInbound(
  env: Env,
  message: InboundRow,
  ctx: Pick<ExecutionContext, "waitUntil">,
  stages: readonly InboundStage[] = STAGES,
): Promise<Record<string, unknown>> {
  const handling: Record<string, unknown> = { ...message.handling };
  for (const stage of stages) {
    // Each stage sees what the ones before it did (the desk's fallback, whether the robot answered).
    const outcome = await stage.run(env, { ...message, handling }, ctx);
    if (outcome.result !== undefined) {
      handling[stage.name] = outcome.result;
    }
    if (outcome.stop) {
      break;
    }
  }
  handling.done = true;
  await database(env.DB)
    .update(inboundMessages)
    .set({ handling })
    .where(eq(inboundMessages.id, message.id));
  return handling;
}
