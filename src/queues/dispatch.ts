/**
 * DISPATCH_QUEUE consumer: sends released messages through their provider.
 *
 * Receives `DispatchJob`s (at least once, in any order, possibly twice at the same time).
 * Guarantees: one provider call per attempt, held by a claim on the message row, so a duplicate
 * delivery never sends twice; every attempt is recorded; each queue message is acked or retried
 * on its own; retryable failures retry with exponential backoff and jitter, up to MAX_ATTEMPTS,
 * then the message ends `failed` with the reason; results go back to the tenant's dispatcher in
 * one call per tenant per batch. The whole batch costs two D1 round trips in the common case (the
 * claim and the results), whatever its size.
 * Never: acks a message that has not reached a send result.
 */
import type { AdapterIO, SendOutcome, SmsAdapter } from "../channels/sms/adapter";
import { smsAdapters } from "../channels/sms/registry";
import { type Settings, settingsOf } from "../config/settings";
import { type Database, database } from "../db/client";
import {
  type AttemptChange,
  applyReceipts,
  claimForSending,
  FINAL_STATUSES,
  type MessageRow,
  recordAttempts,
} from "../db/message-log";
import type { AttemptOutcome, MessageStatus, ProviderName } from "../db/schema";
import type { SendResult } from "../durable-objects/dispatcher-types";
import { backoffSeconds } from "../lib/backoff";
import { newId } from "../lib/ids";
import { fallbackOf, switchToSms } from "../services/best-channel";
import { dispatcherOf } from "../services/dispatcher";
import { emitMessageEvents, messageEvent } from "../services/message-events";
import { breakerFor, type Plan, planDeliveries } from "./delivery-plan";
import { dispatchJobSchema } from "./payloads";
import { gatheringSender } from "./send-many";
import { isTemplateMessage, sendWeChat } from "./wechat-send";

/** Longer than any provider call may take (adapters time out well before). */
const CLAIM_MS = 60_000;
/**
 * How long a message waits when every provider it may use has its circuit open: about the time a
 * circuit stays open, so the next look finds it half-open. Each wait is a queue retry: a provider
 * down for longer than the queue's retries last (max_retries × this) dead-letters the message,
 * which then ends `failed` saying so.
 */
const CIRCUIT_WAIT_SECONDS = 10;

export interface DispatchDeps {
  /** `fetch` for providers; requests to our own public URL are served in-process. */
  fetch: (request: Request) => Promise<Response>;
  now?: () => number;
  random?: () => number;
  /** Adapters to use instead of the registry's; tests swap in fakes. */
  adapters?: Partial<{ readonly [name in ProviderName]: SmsAdapter }>;
}

export type Verdict =
  | { ack: true; report?: SendResult }
  | { ack: false; delaySeconds: number; report?: SendResult };

export interface Sent {
  message: MessageRow;
  attempt: Parameters<typeof recordAttempts>[1][number]["attempt"];
  change: AttemptChange;
  verdict: Verdict;
}

export async function consumeDispatch(
  batch: MessageBatch<unknown>,
  env: Env,
  ctx: ExecutionContext,
  deps: DispatchDeps,
): Promise<void> {
  const settings = settingsOf(env);
  const now = deps.now ?? Date.now;
  const db = database(env.DB);

  // One queue message per message id does the work; a copy in the same batch is redundant.
  const byId = new Map<string, { queued: Message<unknown>; tenantId: string }>();
  for (const queued of batch.messages) {
    const job = dispatchJobSchema.safeParse(queued.body);
    if (!job.success) {
      // Nothing can be done with a payload we cannot read; retrying would not change it.
      console.error("dispatch: unreadable job, dropped", JSON.stringify(queued.body));
      queued.ack();
    } else if (byId.has(job.data.message_id)) {
      queued.ack();
    } else {
      byId.set(job.data.message_id, { queued, tenantId: job.data.tenant_id });
    }
  }
  if (byId.size === 0) {
    return;
  }

  let verdicts: Map<string, Verdict>;
  try {
    verdicts = await dispatchAll([...byId.keys()], env, ctx, deps, settings, db, now);
  } catch (error) {
    console.error("dispatch: batch failed, will retry", error);
    for (const { queued } of byId.values()) {
      queued.retry({ delaySeconds: retryDelay(queued.attempts, settings, deps) });
    }
    return;
  }

  const reports = new Map<string, SendResult[]>();
  for (const [id, { queued, tenantId }] of byId) {
    const verdict = verdicts.get(id) ?? { ack: false, delaySeconds: 5 };
    if (verdict.report) {
      reports.set(tenantId, [...(reports.get(tenantId) ?? []), verdict.report]);
    }
    if (verdict.ack) {
      queued.ack();
    } else {
      queued.retry({ delaySeconds: verdict.delaySeconds });
    }
  }
  await Promise.all(
    [...reports].map(([tenantId, results]) => dispatcherOf(env, tenantId).reportResults(results)),
  );
}

async function dispatchAll(
  ids: string[],
  env: Env,
  ctx: ExecutionContext,
  deps: DispatchDeps,
  settings: Settings,
  db: Database,
  now: () => number,
): Promise<Map<string, Verdict>> {
  const claimId = crypto.randomUUID();
  const claimed = await claimForSending(db, ids, claimId, now(), CLAIM_MS);
  const claimedIds = new Set(claimed.map((m) => m.id));
  const verdicts = await alreadyHandled(
    db,
    ids.filter((id) => !claimedIds.has(id)),
  );

  const io: AdapterIO = { fetch: deps.fetch, now, waitUntil: (work) => ctx.waitUntil(work) };
  const adapters = { ...smsAdapters, ...deps.adapters };
  const sms = claimed.filter((message) => message.channel === "sms");
  const plans = await planDeliveries(env, db, sms, adapters, now());
  const send = gatheringSender(io);
  const sent = await Promise.all(
    claimed.map(async (message) => {
      if (message.channel === "wechat") {
        const startedAt = now();
        const outcome = await sendWeChat(env, message, deps.fetch);
        const result = settle(
          message,
          claimId,
          "wechat",
          outcome,
          startedAt,
          now(),
          settings,
          deps,
          {
            failover: false,
          },
        );
        const fallback = fallbackOf(message);
        if (outcome.kind !== "failed" || outcome.retryable || !fallback) {
          return result;
        }
        // Refused for good by WeChat: the same message goes out as its SMS, at once.
        await switchToSms(env.DB, message, claimId, fallback, now());
        return {
          ...result,
          change: {
            kind: "retry" as const,
            reason: `falling back to SMS after WeChat: ${outcome.reason}`,
          },
          verdict: { ack: false as const, delaySeconds: 0 },
        };
      }
      return sendOne(message, claimId, plans.get(message.id), adapters, send, io, deps, settings);
    }),
  );
  await withRetries(() =>
    recordAttempts(
      env.DB,
      sent.map(({ attempt, change }) => ({ attempt, change })),
    ),
  );
  for (const result of sent) {
    verdicts.set(result.message.id, result.verdict);
  }
  await deliveredOnSend(env, sent, now());
  await emitMessageEvents(
    env,
    sent.map(({ message, attempt, change }) =>
      change.kind === "sent"
        ? messageEvent(message, {
            status: "sent",
            reason: null,
            provider: change.provider,
            providerMessageId: change.providerMessageId,
            at: attempt.createdAt,
            sentAt: attempt.createdAt,
          })
        : change.kind === "failed"
          ? messageEvent(message, {
              status: "failed",
              reason: change.reason,
              provider: attempt.provider,
              providerMessageId: null,
              at: attempt.createdAt,
            })
          : null,
    ),
  );
  return verdicts;
}

async function sendOne(
  message: MessageRow,
  claimId: string,
  plan: Plan | undefined,
  adapters: { readonly [name in ProviderName]: SmsAdapter },
  send: ReturnType<typeof gatheringSender>,
  io: AdapterIO,
  deps: DispatchDeps,
  settings: Settings,
): Promise<Sent> {
  const provider = plan?.provider ?? "none";
  const record = (
    at: number,
    latencyMs: number,
    outcome: AttemptOutcome,
    reason: string | null,
  ) => ({
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
  });
  if (!plan || plan.provider === null) {
    const reason = plan?.reason ?? "no provider could be chosen";
    if (plan && !plan.permanent) {
      // Nothing was called: wait for a circuit to half-open, without spending an attempt.
      return {
        message,
        attempt: record(io.now(), 0, "retryable", reason),
        change: { kind: "wait", reason: `waiting: ${reason}` },
        verdict: { ack: false, delaySeconds: CIRCUIT_WAIT_SECONDS },
      };
    }
    return {
      message,
      attempt: record(io.now(), 0, "permanent", reason),
      change: { kind: "failed", reason },
      verdict: { ack: true, report: { id: message.id, outcome: "final" } },
    };
  }
  const startedAt = io.now();
  const outcome = await send(
    adapters[plan.provider],
    {
      messageId: message.id,
      to: message.recipient,
      from: message.sender,
      body: message.body,
      attempt: message.attemptCount,
      statusCallbackUrl: `${settings.PUBLIC_BASE_URL}/hooks/sms/${plan.provider}/${plan.hookToken}/status`,
      template: plan.template,
      signName: plan.signName,
    },
    plan.settings,
    // Messages of one tenant with one provider template may go in one call.
    plan.template ? `${message.tenantId}:${plan.provider}:${plan.template.code}` : null,
  );
  const finishedAt = io.now();
  // A refusal is the provider working as it should; no answer or a retryable error is not.
  breakerFor(message.tenantId, plan.provider).record(
    plan.ticket,
    outcome.kind === "sent" || (outcome.kind === "failed" && !outcome.retryable),
    finishedAt,
  );
  return settle(message, claimId, plan.provider, outcome, startedAt, finishedAt, settings, deps, {
    failover: hasLaterCandidate(plan.candidates, plan.provider),
  });
}

/**
 * The attempt's record, the message's change and the queue verdict for a provider's outcome. A
 * retryable failure fails over to the next provider at once while there is one this round; no
 * answer (the message may have gone) waits and tries the same provider again.
 */
export function settle(
  message: MessageRow,
  claimId: string,
  provider: string,
  outcome: SendOutcome,
  startedAt: number,
  finishedAt: number,
  settings: Settings,
  deps: DispatchDeps,
  options: { failover: boolean },
): Sent {
  const latency = finishedAt - startedAt;
  const record = (outcomeOf: AttemptOutcome, reason: string | null) => ({
    attemptId: newId("att", finishedAt),
    claimId,
    messageId: message.id,
    tenantId: message.tenantId,
    attempt: message.attemptCount,
    provider,
    outcome: outcomeOf,
    reason,
    providerMessageId: null,
    latencyMs: latency,
    createdAt: finishedAt,
  });
  if (outcome.kind === "sent") {
    return {
      message,
      attempt: { ...record("sent", null), providerMessageId: outcome.providerMessageId },
      change: { kind: "sent", provider, providerMessageId: outcome.providerMessageId },
      verdict: { ack: true, report: { id: message.id, outcome: "sent" } },
    };
  }
  const retryable = outcome.kind === "unknown" || outcome.retryable;
  const reason = outcome.kind === "unknown" ? outcome.reason : `${outcome.code}: ${outcome.reason}`;
  const attempt = record(
    outcome.kind === "unknown" ? "unknown" : retryable ? "retryable" : "permanent",
    reason,
  );
  if (retryable && message.attemptCount < settings.MAX_ATTEMPTS) {
    const failover = outcome.kind === "failed" && options.failover;
    return {
      message,
      attempt,
      change: {
        kind: "retry",
        reason: failover
          ? `failing over after ${provider}: ${reason}`
          : `retrying after: ${reason}`,
      },
      verdict: {
        ack: false,
        delaySeconds: failover ? 0 : retryDelay(message.attemptCount, settings, deps),
      },
    };
  }
  const finalReason = retryable
    ? `gave up after ${message.attemptCount} attempts; last: ${reason}`
    : reason;
  return {
    message,
    attempt,
    change: { kind: "failed", reason: finalReason },
    verdict: { ack: true, report: { id: message.id, outcome: "final" } },
  };
}

/** Whether another provider comes after `provider` this round (else the next try starts over). */
function hasLaterCandidate(candidates: readonly ProviderName[], provider: ProviderName): boolean {
  return candidates.indexOf(provider) < candidates.length - 1;
}

/**
 * Messages the claim did not take: done ones are acked (and reported again, which is harmless),
 * ones another consumer holds right now are looked at again after its claim.
 */
async function alreadyHandled(db: Database, ids: string[]): Promise<Map<string, Verdict>> {
  const verdicts = new Map<string, Verdict>();
  if (ids.length === 0) {
    return verdicts;
  }
  const rows = await db.query.messages.findMany({
    columns: { id: true, status: true },
    where: (m, { inArray }) => inArray(m.id, ids),
  });
  const statusOf = new Map<string, MessageStatus>(rows.map((row) => [row.id, row.status]));
  for (const id of ids) {
    const status = statusOf.get(id);
    if (status === undefined) {
      // Released before its send-log row is readable (the dispatcher logs first); look again soon.
      verdicts.set(id, { ack: false, delaySeconds: 5 });
    } else if (status === "sent") {
      verdicts.set(id, { ack: true, report: { id, outcome: "sent" } });
    } else if (FINAL_STATUSES.includes(status)) {
      verdicts.set(id, { ack: true, report: { id, outcome: "final" } });
    } else {
      verdicts.set(id, { ack: false, delaySeconds: Math.ceil(CLAIM_MS / 1000) });
    }
  }
  return verdicts;
}

/**
 * The provider calls have happened: losing their record would let a later delivery send again,
 * so a failed write is tried a few more times before the batch gives up.
 */
async function withRetries(write: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (error) {
      if (attempt >= 3) {
        throw error;
      }
      await scheduler.wait(100 * attempt);
    }
  }
}

function retryDelay(attempt: number, settings: Settings, deps: DispatchDeps): number {
  return backoffSeconds(attempt, {
    baseSeconds: settings.RETRY_BASE_SECONDS,
    maxSeconds: settings.RETRY_MAX_SECONDS,
    random: deps.random,
  });
}

/**
 * A WeChat customer-service message WeChat accepted has reached the user (there is no receipt for
 * it, unlike a template message's job-finish event): it is delivered once recorded sent.
 */
async function deliveredOnSend(env: Env, sent: Sent[], now: number): Promise<void> {
  const byTenant = new Map<string, { messageId: string; status: "delivered"; reason: null }[]>();
  for (const { message, change } of sent) {
    if (message.channel === "wechat" && change.kind === "sent" && !isTemplateMessage(message)) {
      const list = byTenant.get(message.tenantId) ?? [];
      list.push({ messageId: message.id, status: "delivered", reason: null });
      byTenant.set(message.tenantId, list);
    }
  }
  for (const [tenantId, receipts] of byTenant) {
    await applyReceipts(env.DB, tenantId, receipts, now);
  }
}
