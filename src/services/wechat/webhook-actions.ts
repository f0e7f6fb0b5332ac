/**
 * What a WeChat delivery may set off beyond its passive reply (services/wechat/webhook.ts): a
 * scan of one of the app's QR codes (its action and `wechat.scan`), and a keyword query asked of
 * the tenant's endpoint. WeChat gives up on an answer after 5 s and then retries, so a query is
 * waited for until QUERY_DEADLINE_MS after the delivery arrived at the latest: an answer by then
 * is the passive reply; a later one is sent as a customer-service message through the normal send
 * path (the follower's window is open: they have just written), once per query.
 */
import { and, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { inboundMessages } from "../../db/schema";
import type { InboxRowValues } from "../../delivery/wechat-account";
import { newId } from "../../lib/ids";
import { createLogger } from "../../lib/log";
import { type Fetch, networkFetch } from "../../lib/outbound-fetch";
import { tenantCaller } from "../inbound/automatic-sends";
import { askEndpoint, type QueryAnswer } from "../webhooks/queries";
import { recordQuery, statusOf } from "../webhooks/query-log";
import type { WeChatClientIO } from "./client";
import { acceptWeChatMessage } from "./messages";

/** WeChat waits 5 s for an answer; `success` goes back by 4.5 s whatever the endpoint does. */
export const QUERY_DEADLINE_MS = 4_500;

export interface DeliveryIO {
  /** For the tenant's query endpoints. */
  fetch: Fetch;
  /** For WeChat calls a scan makes (tagging); the app's API by default. */
  wechat?: WeChatClientIO;
  /** How long after the delivery arrived a query's answer may still be the passive reply. */
  queryDeadlineMs: number;
  /** Keeps the Worker alive for a late answer after the webhook has answered. */
  waitUntil: (promise: Promise<unknown>) => void;
  /** The real clock the deadline is kept by. */
  clock: () => number;
}

export function defaultDeliveryIO(): DeliveryIO {
  return {
    fetch: networkFetch,
    queryDeadlineMs: QUERY_DEADLINE_MS,
    waitUntil: (promise) => {
      promise.catch((error) =>
        createLogger(undefined).error("wechat: background work failed", { error }),
      );
    },
    clock: () => Date.now(),
  };
}

/** The conversation of the delivery's inbound message, once the account's copy has stored it. */
async function conversationOf(env: Env, row: InboxRowValues): Promise<string | null> {
  const stored = await database(env.DB)
    .select({ conversationId: inboundMessages.conversationId })
    .from(inboundMessages)
    .where(
      and(
        eq(inboundMessages.tenantId, row.tenantId),
        eq(inboundMessages.provider, "wechat"),
        eq(inboundMessages.providerMessageId, `${row.appId}:${row.dedupKey}`),
      ),
    )
    .get();
  return stored?.conversationId ?? null;
}

/**
 * Asks the endpoint about a follower's text and gives the passive reply when the answer comes
 * in time (null: none, or it came too late and goes as a customer-service message).
 */
export async function answerQuery(
  env: Env,
  row: InboxRowValues,
  text: string,
  asked: { endpointId: string; ruleId: string | null },
  io: DeliveryIO,
  startedAt: number,
): Promise<{ type: "text"; content: string } | null> {
  const { endpointId } = asked;
  const query = {
    id: newId("qry", row.receivedAt),
    channel: "wechat" as const,
    app_id: row.appId,
    from: row.fromUser,
    text,
    conversation_id: await conversationOf(env, row),
    received_at: new Date(row.receivedAt).toISOString(),
  };
  const askedAt = io.clock();
  const asking = askEndpoint(env, row.tenantId, endpointId, query, io.fetch, askedAt);
  const record = (answer: QueryAnswer, late: boolean) =>
    recordQuery(env, {
      id: query.id,
      tenantId: row.tenantId,
      ruleId: asked.ruleId,
      channel: "wechat",
      appId: row.appId,
      endpointId,
      ...statusOf(answer, late),
      latencyMs: io.clock() - askedAt,
      askedAt,
    });
  let timer: ReturnType<typeof setTimeout> | null = null;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(
      () => resolve("late"),
      Math.max(0, io.queryDeadlineMs - (io.clock() - startedAt)),
    );
  });
  const first = await Promise.race([asking, late]);
  clearTimeout(timer);
  if (first !== "late") {
    io.waitUntil(record(first, false));
    return replyOf(first, query.id);
  }
  io.waitUntil(
    asking.then(async (answer) => {
      await record(answer, true);
      await sendLateAnswer(env, row, replyOf(answer, query.id), query.id);
    }),
  );
  return null;
}

function replyOf(answer: QueryAnswer, queryId: string): { type: "text"; content: string } | null {
  if (!answer.ok) {
    createLogger(undefined).warn("wechat: keyword query unanswered", {
      query_id: queryId,
      reason: answer.reason,
    });
    return null;
  }
  return answer.reply === null ? null : { type: "text", content: answer.reply };
}

/** A late answer, as a customer-service message to the follower (once per query). */
async function sendLateAnswer(
  env: Env,
  row: InboxRowValues,
  reply: { type: "text"; content: string } | null,
  queryId: string,
): Promise<void> {
  if (!reply) {
    return;
  }
  try {
    await acceptWeChatMessage(
      env,
      await tenantCaller(env, row.tenantId),
      {
        app_id: row.appId,
        openid: row.fromUser,
        wechat: reply,
        metadata: { query_id: queryId, inbox_id: row.id },
      },
      `query:${queryId}`,
    );
  } catch (error) {
    createLogger(env.LOG_LEVEL, { tenant_id: row.tenantId }).warn(
      "wechat: a late query answer was not sent",
      { query_id: queryId, error },
    );
  }
}
