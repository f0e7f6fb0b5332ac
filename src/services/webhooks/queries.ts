/**
 * Keyword queries answered by the tenant's own system: an auto-reply rule `{type: "query",
 * endpoint_id}` has the platform POST the message to one of the tenant's webhook endpoints,
 * `{id, type: "query", channel, app_id?, from, text, conversation_id, received_at}`, signed as
 * webhooks are (`Relaybox-Signature` with the endpoint's secret), never following a redirect.
 * The endpoint answers `200 {"reply": "…"}` (the text to send back) or 204 (no reply); anything
 * else is a failure with its reason. How long the caller waits is the caller's (WeChat leaves
 * 5 s: services/wechat/webhook-actions.ts); the request itself gives up after 10 s.
 */
import { and, eq } from "drizzle-orm";
import { masterKeysOf, settingsOf } from "../../config/settings";
import { database } from "../../db/client";
import { webhookEndpoints } from "../../db/schema";
import { USER_AGENT } from "../../delivery/webhook-delivery";
import { SIGNATURE_HEADER, signWebhook } from "../../domain/webhook-signature";
import { checkWebhookUrl } from "../../domain/webhook-urls";
import type { Fetch } from "../../lib/outbound-fetch";
import { ApiError } from "../../lib/problem";
import { decryptSecret } from "../../lib/secrets";

/** The longest a query request may take, whoever waits for it. */
export const QUERY_TIMEOUT_MS = 10_000;
/** WeChat's passive reply and SMS both stop well short of this. */
const MAX_REPLY_CHARS = 2000;

export interface KeywordQuery {
  id: string;
  channel: "sms" | "wechat";
  app_id?: string;
  from: string;
  text: string;
  conversation_id: string | null;
  received_at: string;
}

export type QueryAnswer =
  | { ok: true; reply: string | null }
  | { ok: false; reason: string; statusCode: number | null };

/** The endpoint a rule names must be one of the tenant's (422 otherwise, at the rule's pointer). */
export async function checkQueryEndpoint(
  env: Env,
  tenantId: string,
  endpointId: string,
  pointer: string,
): Promise<void> {
  const row = await database(env.DB)
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.tenantId, tenantId)))
    .get();
  if (!row) {
    throw new ApiError("unprocessable-entity", `No webhook endpoint ${endpointId}.`, {
      errors: [{ pointer, detail: "not one of your webhook endpoints" }],
    });
  }
}

/** POSTs `query` to the tenant's endpoint and reads its answer. Never throws. */
export async function askEndpoint(
  env: Env,
  tenantId: string,
  endpointId: string,
  query: KeywordQuery,
  fetch: Fetch,
  now: number = Date.now(),
): Promise<QueryAnswer> {
  const failed = (reason: string, statusCode: number | null = null): QueryAnswer => ({
    ok: false,
    reason,
    statusCode,
  });
  const endpoint = await database(env.DB)
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.tenantId, tenantId)))
    .get();
  if (!endpoint) {
    return failed(`the webhook endpoint ${endpointId} no longer exists`);
  }
  const settings = settingsOf(env);
  const check = checkWebhookUrl(endpoint.url, {
    allowLocalHttp: settings.WEBHOOK_ALLOW_LOCAL_HTTP,
  });
  if (!check.ok) {
    return failed(`the endpoint's URL is refused (${check.reasons.join("; ")})`);
  }
  let secret: string;
  try {
    secret = await decryptSecret(masterKeysOf(env), "webhook-secret", endpoint.secretCiphertext);
  } catch {
    return failed("the endpoint's signing secret is unreadable");
  }
  const body = JSON.stringify({ ...query, type: "query" });
  let response: Response;
  try {
    response = await fetch(
      new Request(check.url.href, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": USER_AGENT,
          [SIGNATURE_HEADER]: await signWebhook(secret, body, Math.floor(now / 1000)),
          "Relaybox-Event-Id": query.id,
        },
        body,
        // A redirect could point anywhere, including where the URL rules forbid: never followed.
        redirect: "manual",
        signal: AbortSignal.timeout(QUERY_TIMEOUT_MS),
      }),
    );
  } catch (error) {
    const name = (error as { name?: unknown } | null)?.name;
    return failed(
      name === "TimeoutError"
        ? `no answer within ${QUERY_TIMEOUT_MS / 1000} s`
        : "the endpoint could not be reached",
    );
  }
  return answerOf(response);
}

async function answerOf(response: Response): Promise<QueryAnswer> {
  const status = response.status;
  if (status === 204) {
    await response.body?.cancel().catch(() => undefined);
    return { ok: true, reply: null };
  }
  if (status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    const redirect = status >= 300 && status < 400 ? ": redirects are not followed" : "";
    return {
      ok: false,
      reason: `the endpoint answered HTTP ${status}${redirect}`,
      statusCode: status,
    };
  }
  let parsed: unknown;
  try {
    parsed = await response.json();
  } catch {
    return {
      ok: false,
      reason: "the endpoint's answer is not JSON",
      statusCode: status,
    };
  }
  const reply = (parsed as { reply?: unknown } | null)?.reply;
  if (reply === undefined || reply === null || reply === "") {
    return { ok: true, reply: null };
  }
  if (typeof reply !== "string") {
    return {
      ok: false,
      reason: "the endpoint's `reply` is not a string",
      statusCode: status,
    };
  }
  return { ok: true, reply: reply.slice(0, MAX_REPLY_CHARS) };
}
