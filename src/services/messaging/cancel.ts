/**
 * Canceling what is not yet sent: a message that is scheduled or queued, or what of a batch is
 * left. The tenant's dispatcher decides, since it holds what has not been released; the answer is
 * the message or batch as it reads afterwards.
 */
import type { Caller } from "../../domain/caller";
import { ApiError } from "../../lib/problem";
import { type BatchView, getBatch } from "./batch-reads";
import { firstAnswer, shardStubs } from "./dispatch-shards";
import { getMessage, type MessageRow } from "./message-reads";

/**
 * Cancels a message that is scheduled or queued. 404 if it is not the caller's; 409 once it has
 * been handed to a provider.
 */
export async function cancelMessage(env: Env, caller: Caller, id: string): Promise<MessageRow> {
  const before = await getMessage(env, caller, id);
  if (before.message.status === "canceled") {
    return before.message;
  }
  // On whichever shard holds it (domain/dispatch-shards); one shard: the one call.
  const outcome = (await firstAnswer(
    shardStubs(env, caller.tenant.id, caller.tenant),
    async (stub) => {
      const answer = await stub.cancel(id);
      return answer.kind === "not-found" ? null : answer;
    },
  )) ?? { kind: "not-found" as const };
  const after = await getMessage(env, caller, id);
  if (outcome.kind !== "canceled") {
    throw new ApiError(
      "conflict",
      `Message ${id} is ${after.message.status}: only scheduled or queued messages can be canceled.`,
    );
  }
  return after.message;
}

/** Cancels what of the batch is not yet sent; what is already with a provider finishes. */
export async function cancelBatch(env: Env, caller: Caller, id: string): Promise<BatchView> {
  const before = await getBatch(env, caller, id);
  if (before.status === "completed") {
    throw new ApiError("conflict", `Batch ${id} is completed: nothing is left to cancel.`);
  }
  // A batch is spread over the shards: each cancels its part.
  await Promise.all(
    shardStubs(env, caller.tenant.id, caller.tenant).map((stub) => stub.cancelBatch(id)),
  );
  return getBatch(env, caller, id);
}
