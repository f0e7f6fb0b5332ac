/**
 * DISPATCH_QUEUE consumer: sends released messages through their provider.
 *
 * Receives `DispatchJob`s (at least once, in any order, possibly twice at the same time).
 * Guarantees: one provider call per attempt, held by a claim on the message row, so a duplicate
 * delivery never sends twice; every attempt is recorded; each queue message is acked or retried
 * on its own; retryable failures retry with exponential backoff and jitter, up to MAX_ATTEMPTS,
 * then the message ends `failed` with the reason; results go back to the tenant's dispatcher in
 * one call per tenant per batch. Never: acks a message that has not reached a send result.
 */
import type { AdapterIO, SendOutcome, SmsAdapter } from "../channels/sms/adapter";
import { smsAdapters } from "../channels/sms/registry";
import { type Settings, settingsOf } from "../config/settings";
import { database } from "../db/client";
import { claimForSending, FINAL_STATUSES, type MessageRow, recordAttempt } from "../db/message-log";
import { findHookToken } from "../db/provider-settings";
import type { ProviderName } from "../db/schema";
import type { SendResult } from "../durable-objects/dispatcher-types";
import { backoffSeconds } from "../lib/backoff";
import { newId } from "../lib/ids";
import { dispatcherOf } from "../services/dispatcher";
import { dispatchJobSchema } from "./payloads";

/** Longer than any provider call may take (adapters time out well before). */
const CLAIM_MS = 60_000;

export interface DispatchDeps {
  /** `fetch` for providers; requests to our own public URL are served in-process. */
  fetch: (request: Request) => Promise<Response>;
  now?: () => number;
  random?: () => number;
  /** The provider adapters; tests swap in fakes. */
  adapters?: { readonly [name in ProviderName]: SmsAdapter };
}

type Verdict =
  | { ack: true; report?: SendResult }
  | { ack: false; delaySeconds: number; report?: SendResult };

export async function consumeDispatch(
  batch: MessageBatch<unknown>,
  env: Env,
  ctx: ExecutionContext,
  deps: DispatchDeps,
): Promise<void> {
  const settings = settingsOf(env);
  const reports = new Map<string, SendResult[]>();
  await Promise.all(
    batch.messages.map(async (queued) => {
      const job = dispatchJobSchema.safeParse(queued.body);
      if (!job.success) {
        // Nothing can be done with a payload we cannot read; retrying would not change it.
        console.error("dispatch: unreadable job, dropped", JSON.stringify(queued.body));
        queued.ack();
        return;
      }
      let verdict: Verdict;
      try {
        verdict = await dispatchOne(job.data.message_id, env, ctx, deps, settings);
      } catch (error) {
        console.error("dispatch: job failed, will retry", job.data.message_id, error);
        verdict = { ack: false, delaySeconds: retryDelay(queued.attempts, settings, deps) };
      }
      if (verdict.report) {
        const list = reports.get(job.data.tenant_id) ?? [];
        list.push(verdict.report);
        reports.set(job.data.tenant_id, list);
      }
      if (verdict.ack) {
        queued.ack();
      } else {
        queued.retry({ delaySeconds: verdict.delaySeconds });
      }
    }),
  );
  await Promise.all(
    [...reports].map(([tenantId, results]) => dispatcherOf(env, tenantId).reportResults(results)),
  );
}

async function dispatchOne(
  messageId: string,
  env: Env,
  ctx: ExecutionContext,
  deps: DispatchDeps,
  settings: Settings,
): Promise<Verdict> {
  const now = deps.now ?? Date.now;
  const db = database(env.DB);
  const claimId = crypto.randomUUID();
  const message = await claimForSending(db, messageId, claimId, now(), CLAIM_MS);
  if (!message) {
    return alreadyHandled(db, messageId);
  }
  const provider = "sandbox" as const;
  const hookToken = await findHookToken(db, message.tenantId, provider);
  if (!hookToken) {
    await recordAttempt(
      db,
      attemptOf(message, provider, claimId, now(), 0, "permanent", "no sandbox provider settings"),
      { kind: "failed", reason: `the tenant has no settings for provider ${provider}` },
    );
    return { ack: true, report: { id: message.id, outcome: "final" } };
  }
  const io: AdapterIO = {
    fetch: deps.fetch,
    now,
    waitUntil: (work) => ctx.waitUntil(work),
  };
  const startedAt = now();
  const adapters = deps.adapters ?? smsAdapters;
  const outcome: SendOutcome = await adapters[provider].send(
    {
      messageId: message.id,
      to: message.recipient,
      from: message.sender,
      body: message.body,
      attempt: message.attemptCount,
      statusCallbackUrl: `${settings.PUBLIC_BASE_URL}/hooks/sms/${provider}/${hookToken}/status`,
    },
    io,
  );
  const finishedAt = now();
  const latency = finishedAt - startedAt;
  if (outcome.kind === "sent") {
    await recordAttempt(
      db,
      {
        ...attemptOf(message, provider, claimId, finishedAt, latency, "sent", null),
        providerMessageId: outcome.providerMessageId,
      },
      { kind: "sent", provider, providerMessageId: outcome.providerMessageId },
    );
    return { ack: true, report: { id: message.id, outcome: "sent" } };
  }
  const retryable = outcome.kind === "unknown" || outcome.retryable;
  const reason = outcome.kind === "unknown" ? outcome.reason : `${outcome.code}: ${outcome.reason}`;
  const attempt = attemptOf(
    message,
    provider,
    claimId,
    finishedAt,
    latency,
    outcome.kind === "unknown" ? "unknown" : retryable ? "retryable" : "permanent",
    reason,
  );
  if (retryable && message.attemptCount < settings.MAX_ATTEMPTS) {
    await recordAttempt(db, attempt, { kind: "retry", reason: `retrying after: ${reason}` });
    return { ack: false, delaySeconds: retryDelay(message.attemptCount, settings, deps) };
  }
  const finalReason = retryable
    ? `gave up after ${message.attemptCount} attempts; last: ${reason}`
    : reason;
  await recordAttempt(db, attempt, { kind: "failed", reason: finalReason });
  return { ack: true, report: { id: message.id, outcome: "final" } };
}

/**
 * The claim failed: the message is done, or another consumer holds it right now. A done message
 * is acked (and reported again, which is harmless); a held one is looked at again after the claim.
 */
async function alreadyHandled(
  db: ReturnType<typeof database>,
  messageId: string,
): Promise<Verdict> {
  const row = await db.query.messages.findFirst({
    columns: { id: true, status: true },
    where: (m, { eq }) => eq(m.id, messageId),
  });
  if (!row) {
    // Released before its send-log row is readable (should not happen: the dispatcher logs
    // first); look again shortly.
    return { ack: false, delaySeconds: 5 };
  }
  if (row.status === "sent") {
    return { ack: true, report: { id: row.id, outcome: "sent" } };
  }
  if (FINAL_STATUSES.includes(row.status)) {
    return { ack: true, report: { id: row.id, outcome: "final" } };
  }
  return { ack: false, delaySeconds: Math.ceil(CLAIM_MS / 1000) };
}

function attemptOf(
  message: MessageRow,
  provider: string,
  claimId: string,
  at: number,
  latencyMs: number,
  outcome: "sent" | "retryable" | "permanent" | "unknown",
  reason: string | null,
) {
  return {
    attemptId: newId("att", at),
    claimId,
    messageId: message.id,
    tenantId: message.tenantId,
    attempt: message.attemptCount,
    provider,
    outcome,
    reason,
    providerMessageId: null,
    latencyMs,
    createdAt: at,
  };
}

function retryDelay(attempt: number, settings: Settings, deps: DispatchDeps): number {
  return backoffSeconds(attempt, {
    baseSeconds: settings.RETRY_BASE_SECONDS,
    maxSeconds: settings.RETRY_MAX_SECONDS,
    random: deps.random,
  });
}
