/**
 * Canceling what is not yet sent: a message that is scheduled or queued, or what of a batch is
 * left. The tenant's dispatcher decides, since it holds what has not been released; the answer is
 * the message or batch as it reads afterwards.
 */
import { dispatcherOf } from "../../delivery/dispatcher";
import type { Caller } from "../../domain/caller";
import { ApiError } from "../../lib/problem";
import { type BatchView, getBatch } from "./batch-reads";
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
  const outcome = await dispatcherOf(env, caller.tenant.id).cancel(id);
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
  await dispatcherOf(env, caller.tenant.id).cancelBatch(id);
  return getBatch(env, caller, id);
}
