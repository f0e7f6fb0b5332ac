/**
 * Tenants' webhook endpoints and their deliveries: create (the signing secret is shown once),
 * list, delete, rotate the secret, list deliveries with their attempts, replay a delivery.
 */
import { and, count, eq, type SQL, sql } from "drizzle-orm";
import { settingsOf } from "../../config/settings";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { messages, webhookDeliveries, webhookEndpoints } from "../../db/schema";
import { tenantSendLogs } from "../../db/send-log-partitions";
import { enqueueDeliveries, forgetTenantEndpoints } from "../../delivery/webhook-events";
import { diffOf } from "../../domain/audit-chain";
import { type Caller, modeSeenBy } from "../../domain/caller";
import type { WebhookEvent } from "../../domain/vocabulary";
import { checkWebhookUrl } from "../../domain/webhook-urls";
import { randomToken } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { encryptSecret } from "../../lib/secrets";
import { audited } from "../audit/audit-log";
import { failUnlessChanged, unlessLost } from "../audit/change-guard";

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type DeliveryStatus = WebhookDeliveryRow["status"];

/**
 * The deliveries whose event is about a message the caller reaches: a key sees only its own mode's
 * messages (services/messaging/message-reads.ts), and so only their events. An event about no message is every key's.
 */
function aboutMessagesSeenBy(caller: Caller): SQL | undefined {
  const mode = modeSeenBy(caller);
  return mode === null
    ? undefined
    : sql`NOT EXISTS (SELECT 1 FROM ${messages} WHERE ${messages.id} = json_extract(${webhookDeliveries.payload}, '$.data.id') AND ${messages.tenantId} = ${webhookDeliveries.tenantId} AND ${messages.mode} <> ${mode})`;
}

/** Enough for a few environments and services per tenant; each event fans out to all of them. */
export const MAX_ENDPOINTS_PER_TENANT = 20;

export function generateWebhookSecret(): string {
  return `whsec_${randomToken(32)}`;
}

/** A 422 naming each reason the URL is refused, at `/url`. */
export function assertWebhookUrl(env: Env, url: string): void {
  assertOutboundUrl(env, url, "/url", "receive webhooks");
}

/**
 * A 422 naming each reason a URL we would send requests to (with secrets in them) is refused:
 * the webhook rules, https and no private or loopback hosts, with the same development setting.
 */
export function assertOutboundUrl(env: Env, url: string, pointer: string, purpose: string): void {
  const check = checkWebhookUrl(url, { allowLocalHttp: settingsOf(env).WEBHOOK_ALLOW_LOCAL_HTTP });
  if (!check.ok) {
    throw new ApiError(
      "unprocessable-entity",
      `This URL can't ${purpose}: ${check.reasons.join("; ")}.`,
      { errors: check.reasons.map((detail) => ({ pointer, detail })) },
    );
  }
}

export async function createWebhookEndpoint(
  env: Env,
  caller: Caller,
  input: { url: string; events: WebhookEvent[]; description?: string },
  now: number = Date.now(),
): Promise<{ row: WebhookEndpointRow; secret: string }> {
  assertWebhookUrl(env, input.url);
  const db = database(env.DB);
  const [existing] = await db
    .select({ n: count() })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.tenantId, caller.tenant.id));
  if ((existing?.n ?? 0) >= MAX_ENDPOINTS_PER_TENANT) {
    throw new ApiError(
      "unprocessable-entity",
      `A tenant may have at most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints; delete one first.`,
    );
  }
  const secret = generateWebhookSecret();
  const row: WebhookEndpointRow = {
    id: newId("whk", now),
    tenantId: caller.tenant.id,
    // Stored as the parser wrote it (`https://2130706433` would be `https://127.0.0.1/`).
    url: new URL(input.url).href,
    events: [...new Set(input.events)],
    description: input.description ?? null,
    secretCiphertext: await encryptSecret(settingsOf(env).MASTER_KEY, "webhook-secret", secret),
    createdAt: now,
    updatedAt: now,
  };
  await audited(
    env,
    caller,
    {
      action: "webhook_endpoint.create",
      target: row.id,
      diff: diffOf(
        {},
        { url: row.url, events: row.events, description: row.description, secret: "" },
        ["secret"],
      ),
    },
    [db.insert(webhookEndpoints).values(row)],
  );
  forgetTenantEndpoints(caller.tenant.id);
  return { row, secret };
}

export async function listWebhookEndpoints(
  env: Env,
  caller: Caller,
  page: PageRequest,
): Promise<Page<WebhookEndpointRow>> {
  const paging = keyset(webhookEndpoints.id, page);
  const rows = await database(env.DB)
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, caller.tenant.id), paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, page, (row) => row.id);
}

/** The caller's endpoint; another tenant's is a 404 like a missing one. */
export async function getWebhookEndpoint(
  env: Env,
  caller: Caller,
  id: string,
): Promise<WebhookEndpointRow> {
  const row = await database(env.DB).query.webhookEndpoints.findFirst({
    where: and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, caller.tenant.id)),
  });
  if (!row) {
    throw new ApiError("not-found", `No webhook endpoint ${id}.`);
  }
  return row;
}

/**
 * Deletes the endpoint and its deliveries (on each of the tenant's send-log partitions: the
 * deliveries have no foreign key to cascade, migration 0044); queued ones are dropped when they
 * come up, finding no endpoint.
 */
export async function deleteWebhookEndpoint(env: Env, caller: Caller, id: string): Promise<void> {
  const db = database(env.DB);
  const mine = and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, caller.tenant.id));
  const existing = await db.query.webhookEndpoints.findFirst({ where: mine });
  if (!existing) {
    forgetTenantEndpoints(caller.tenant.id);
    throw new ApiError("not-found", `No webhook endpoint ${id}.`);
  }
  await unlessLost(
    audited(
      env,
      caller,
      {
        action: "webhook_endpoint.delete",
        target: id,
        diff: diffOf({ url: existing.url, events: existing.events }, {}),
      },
      [db.delete(webhookEndpoints).where(mine), failUnlessChanged(env)],
    ),
    () => new ApiError("not-found", `No webhook endpoint ${id}.`),
  );
  forgetTenantEndpoints(caller.tenant.id);
  for (const log of tenantSendLogs(env, caller.tenant)) {
    await log
      .prepare("DELETE FROM webhook_deliveries WHERE endpoint_id = ? AND tenant_id = ?")
      .bind(id, caller.tenant.id)
      .run();
  }
}

/** A new secret, in force at once: the next attempt of every delivery is signed with it. */
export async function rotateWebhookSecret(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<{ row: WebhookEndpointRow; secret: string }> {
  await getWebhookEndpoint(env, caller, id);
  const secret = generateWebhookSecret();
  const [[row]] = await audited(
    env,
    caller,
    {
      action: "webhook_endpoint.rotate_secret",
      target: id,
      diff: diffOf({ secret: "old" }, { secret: "new" }, ["secret"]),
    },
    [
      database(env.DB)
        .update(webhookEndpoints)
        .set({
          secretCiphertext: await encryptSecret(
            settingsOf(env).MASTER_KEY,
            "webhook-secret",
            secret,
          ),
          updatedAt: now,
        })
        .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, caller.tenant.id)))
        .returning(),
    ],
  );
  if (!row) {
    throw new ApiError("not-found", `No webhook endpoint ${id}.`);
  }
  return { row, secret };
}

export async function listDeliveries(
  env: Env,
  caller: Caller,
  endpointId: string,
  page: { status?: DeliveryStatus } & PageRequest,
): Promise<Page<WebhookDeliveryRow>> {
  await getWebhookEndpoint(env, caller, endpointId);
  const paging = keyset(webhookDeliveries.id, page);
  // Each of the tenant's send-log partitions, the same page asked of each, merged newest first.
  const rows: WebhookDeliveryRow[] = [];
  for (const log of tenantSendLogs(env, caller.tenant)) {
    rows.push(
      ...(await database(log)
        .select()
        .from(webhookDeliveries)
        .where(
          and(
            eq(webhookDeliveries.endpointId, endpointId),
            eq(webhookDeliveries.tenantId, caller.tenant.id),
            aboutMessagesSeenBy(caller),
            paging.after,
            page.status ? eq(webhookDeliveries.status, page.status) : undefined,
          ),
        )
        .orderBy(paging.orderBy)
        .limit(paging.limit)),
    );
  }
  rows.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return pageOf(rows.slice(0, paging.limit), page, (row) => row.id);
}

/**
 * Sends a delivery again, whatever its status: a new series of attempts (up to 24 h from now)
 * with the same event id and body, signed afresh. Earlier attempts stay in its record.
 */
export async function replayDelivery(
  env: Env,
  caller: Caller,
  endpointId: string,
  deliveryId: string,
  now: number = Date.now(),
): Promise<WebhookDeliveryRow> {
  await getWebhookEndpoint(env, caller, endpointId);
  // On whichever of the tenant's send-log partitions holds it; its job names that one.
  for (const log of tenantSendLogs(env, caller.tenant)) {
    const [row] = await database(log)
      .update(webhookDeliveries)
      .set({ status: "pending", nextAttemptAt: now, updatedAt: now })
      .where(
        and(
          eq(webhookDeliveries.id, deliveryId),
          eq(webhookDeliveries.endpointId, endpointId),
          eq(webhookDeliveries.tenantId, caller.tenant.id),
          aboutMessagesSeenBy(caller),
        ),
      )
      .returning();
    if (row) {
      await enqueueDeliveries(env, [{ id: row.id, seriesStartedAt: now }], log);
      return row;
    }
  }
  throw new ApiError("not-found", `No delivery ${deliveryId} for webhook endpoint ${endpointId}.`);
}
