/**
 * The first stage of an inbound SMS's handling: a reply that is exactly an opt-out keyword (STOP,
 * 退订, R…) opts the number out of the tenant's messages, an opt-in keyword (START, 订阅…) lifts
 * the opt-out it made; either way the later stages (auto-replies, forwarding) do not run. A
 * number the tenant suppressed by hand stays suppressed: a person's START lifts only what their
 * own keyword did. The tenant's `opt_out_confirmation` text (Chinese for a Chinese number) is
 * sent once when a number opts out, through the normal send path under an idempotency key made
 * from the inbound id, and is the one message an opted-out number still gets.
 * Running the stage again on the same message changes nothing twice: the opt-out is found made
 * by this message, its event keeps its id, and the confirmation replays its first answer.
 */
import { eq } from "drizzle-orm";
import { database } from "../../db/client";
import { tenants } from "../../db/schema";
import { tenantConfigOf } from "../../db/tenant-config";
import type { InboundRow } from "../../delivery/inbound-store";
import { type Caller, systemCallerKeyId } from "../../domain/caller";
import { keywordIntentOf } from "../../domain/opt-out-keywords";
import { normalisePhone } from "../../domain/phone";
import { ApiError } from "../../lib/problem";
import { acceptMessage } from "../messaging/messages";
import {
  emitOptOutEvent,
  findOptOut,
  inboundSource,
  liftOptOut,
  type OptOutRow,
  recordOptOut,
} from "./opt-outs";
import type { InboundStage, StageOutcome } from "./stage";

export type OptOutAction = "opted_out" | "already_opted_out" | "opted_in" | "still_suppressed";

export const optOutStage: InboundStage = {
  name: "opt_out",
  run: (env, message) => runOptOutStage(env, message),
};

export async function runOptOutStage(
  env: Env,
  message: InboundRow,
  now: number = Date.now(),
): Promise<StageOutcome> {
  if (message.channel !== "sms") {
    return {};
  }
  const intent = keywordIntentOf(message.body);
  if (intent === null) {
    return {};
  }
  const phone = message.sender;
  const existing = await findOptOut(env, message.tenantId, phone);
  if (intent === "opt_in") {
    if (!existing) {
      return { result: { action: "opted_in" satisfies OptOutAction }, stop: true };
    }
    if (existing.source === "manual") {
      return { result: { action: "still_suppressed" satisfies OptOutAction }, stop: true };
    }
    await liftOptOut(env, inboundSource(message.tenantId), existing, "keyword", now, message.id);
    return { result: { action: "opted_in" satisfies OptOutAction }, stop: true };
  }

  let mine: boolean;
  if (existing) {
    // Made by this very message: a second run, which finishes what the first may not have.
    mine = existing.inboundId === message.id;
    if (mine) {
      await emitOptOutEvent(env, "opt_out.created", existing, existing.createdAt);
    }
  } else {
    const row: OptOutRow = {
      tenantId: message.tenantId,
      phone,
      source: "keyword",
      reason: null,
      inboundId: message.id,
      createdAt: now,
    };
    mine = await recordOptOut(env, inboundSource(message.tenantId), row);
  }
  if (!mine) {
    return { result: { action: "already_opted_out" satisfies OptOutAction }, stop: true };
  }
  const confirmation = await sendConfirmation(env, message, now);
  return {
    result: { action: "opted_out" satisfies OptOutAction, ...(confirmation ?? {}) },
    stop: true,
  };
}

/** The confirmation's message id, why it was not sent, or null when the tenant sends none. */
async function sendConfirmation(
  env: Env,
  message: InboundRow,
  now: number,
): Promise<{ confirmation: { message_id: string } | { skipped: string } } | null> {
  const row = await database(env.DB).query.tenants.findFirst({
    where: eq(tenants.id, message.tenantId),
  });
  const settings = row?.optOutConfirmation;
  if (!row || !settings) {
    return null;
  }
  const tenant = tenantConfigOf(row);
  const chinese = normalisePhone(message.sender, tenant.homeCountry);
  const zh = chinese.ok && chinese.country === "CN";
  const text = zh ? (settings.zh ?? settings.en) : (settings.en ?? settings.zh);
  if (!text) {
    return null;
  }
  const caller: Caller = {
    keyId: systemCallerKeyId("inbound"),
    // A number that wrote to the sandbox is answered by the sandbox.
    mode: message.provider === "sandbox" ? "test" : "live",
    scopes: [],
    tenant,
  };
  try {
    const sent = await acceptMessage(
      env,
      caller,
      { to: message.sender, body: text },
      `opt-out-confirmation:${message.id}`,
      now,
      { optOutExempt: true },
    );
    return { confirmation: { message_id: sent.message.id } };
  } catch (error) {
    // A rule of the send path (no approved signature for a Chinese number, say) refuses it: the
    // opt-out stands, and the reason is shown on the inbound message.
    if (error instanceof ApiError) {
      return { confirmation: { skipped: error.message } };
    }
    throw error;
  }
}
