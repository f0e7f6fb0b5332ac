/**
 * Receiving what people send a tenant through a carrier's inbound hook (a WeChat user's message
 * is stored by the same statements, delivery/inbound-store, when the account copies its inbox).
 *
 * Never lost, never twice, whatever fails between the steps:
 * 1. one D1 batch (a transaction) stores each message once per provider message id (INSERT … ON
 *    CONFLICT DO NOTHING) and, only for a message it did store, bumps its conversation (created
 *    on first contact): unread count, last message, last activity, the bound contact;
 * 2. each stored message whose handling lacks `done` is sent to INBOUND_QUEUE (one sendBatch),
 *    and only then is the carrier answered; the queue's consumer (./inbound-queue) emits the
 *    `inbound.received` event and runs `handleInbound`, both idempotent on the inbound id.
 * A failure after 1 (the queue send) answers the carrier with a 5xx, and its retry finds the
 * stored row: a row whose handling lacks `done` is sent to the queue again; a row that is done is
 * answered as the first time, and nothing is sent, emitted or run again.
 */
import { and, eq, inArray } from "drizzle-orm";
import {
  type InboundMessage,
  ReceiptAuthError,
  ReceiptFormatError,
} from "../../channels/sms/adapter";
import { smsAdapters } from "../../channels/sms/registry";
import { settingsOf } from "../../config/settings";
import { database } from "../../db/client";
import { inboundMessages, tenants } from "../../db/schema";
import { type InboundToStore, inboundStatements } from "../../delivery/inbound-store";
import { readyProviders } from "../../delivery/provider-reads";
import { normalisePhone } from "../../domain/phone";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { TtlCache } from "../../lib/ttl-cache";
import { ownerOf } from "../carriers/hook-tokens";
import { inboundJobsOf } from "./inbound-queue";
import type { InboundRow } from "./stage";

/** The tenant's home country, for numbers a carrier gives without their country code. */
const homeCountries = new TtlCache<string, string>({
  ttlMs: 60_000,
  maxEntries: 10_000,
});

async function homeCountryOf(env: Env, tenantId: string, now: number): Promise<string> {
  const cached = homeCountries.get(tenantId, now);
  if (cached) {
    return cached;
  }
  const [row] = await database(env.DB)
    .select({ homeCountry: tenants.homeCountry })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  const country = row?.homeCountry ?? "US";
  homeCountries.set(tenantId, country, now);
  return country;
}

/**
 * A carrier id for a message whose carrier gives none (Tencent's replies): made from what the
 * carrier sends again on a retry, so the retry is still stored once.
 */
async function keyOf(message: InboundMessage): Promise<string> {
  if (message.providerMessageId) {
    return message.providerMessageId;
  }
  const fields = JSON.stringify([message.from, message.to, message.body, message.receivedAt]);
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(fields)),
  );
  return `sha256:${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A sender's number in E.164 (a 400 when it is none); our number in E.164 when it is one. */
function numbersOf(
  message: InboundMessage,
  homeCountry: string,
): { sender: string; recipient: string } {
  const sender = normalisePhone(message.from, homeCountry);
  if (!sender.ok) {
    throw new ApiError(
      "validation-error",
      `The sender "${message.from}" is not a phone number: ${sender.error.detail}.`,
    );
  }
  // Aliyun and Tencent give the extension code replied to, not a number: kept as given.
  const recipient = /^\+/.test(message.to) ? normalisePhone(message.to, homeCountry) : null;
  return {
    sender: sender.e164,
    recipient: recipient?.ok ? recipient.e164 : message.to.trim(),
  };
}

export interface ReceiveOptions {
  now?: number;
}

/**
 * Authenticates, reads and stores a carrier's inbound callback, then queues the handling of each
 * message not handled yet. Returns the stored rows in the callback's order.
 */
export async function receiveInboundSms(
  env: Env,
  provider: string,
  hookToken: string,
  request: Request,
  options: ReceiveOptions = {},
): Promise<InboundRow[]> {
  const now = options.now ?? Date.now();
  const db = database(env.DB);
  const owner = await ownerOf(db, provider, hookToken, now);
  const ready = owner && (await readyProviders(env, owner.tenantId, now)).get(owner.provider);
  if (!owner || !ready) {
    throw new ApiError("not-found", "No such hook.");
  }
  const url = new URL(request.url);
  let parsed: InboundMessage[];
  try {
    parsed = await smsAdapters[owner.provider].parseInbound(request, {
      settings: ready.settings,
      publicUrl: `${settingsOf(env).PUBLIC_BASE_URL}${url.pathname}${url.search}`,
      now,
    });
  } catch (error) {
    if (error instanceof ReceiptFormatError) {
      throw new ApiError("validation-error", error.message);
    }
    if (error instanceof ReceiptAuthError) {
      throw new ApiError("forbidden", `The callback's signature does not verify: ${error.message}`);
    }
    throw error;
  }
  const homeCountry = await homeCountryOf(env, owner.tenantId, now);
  // Every message is checked before any is stored: a malformed one stores none of the callback.
  const toStore: InboundToStore[] = [];
  for (const message of parsed) {
    toStore.push({
      id: newId("inb", now),
      tenantId: owner.tenantId,
      channel: "sms",
      ...numbersOf(message, homeCountry),
      body: message.body,
      provider: owner.provider,
      providerMessageId: await keyOf(message),
      raw: message.raw,
      receivedAt: Number.isFinite(message.receivedAt) ? message.receivedAt : now,
    });
  }
  const results = await env.DB.batch<{ id: string; conversation_id: string }>(
    toStore.flatMap((m) => inboundStatements(env.DB, m)),
  );
  // A new message's row is what we stored; only a retry's (stored before) is read back.
  const byKey = new Map<string, InboundRow>();
  toStore.forEach((m, i) => {
    const stored = results[i * STATEMENTS_PER_MESSAGE + 1]?.results[0];
    if (stored && !byKey.has(m.providerMessageId)) {
      byKey.set(m.providerMessageId, newRowOf(m, stored.conversation_id));
    }
  });
  const before = toStore.filter((m) => !byKey.has(m.providerMessageId));
  for (const row of await storedRows(env, owner.tenantId, owner.provider, before)) {
    byKey.set(row.providerMessageId, row);
  }
  const rows = toStore.flatMap((m) => byKey.get(m.providerMessageId) ?? []);
  const jobs = inboundJobsOf(rows.filter((row) => row.handling.done !== true));
  if (jobs.length > 0) {
    // A failure here answers a 5xx: the carrier's retry finds the rows stored, not done.
    await env.INBOUND_QUEUE.sendBatch(jobs);
  }
  return rows;
}

/** inboundStatements' count, the second of which (the message's insert) returns what it stored. */
const STATEMENTS_PER_MESSAGE = 3;

function newRowOf(m: InboundToStore, conversationId: string): InboundRow {
  return {
    id: m.id,
    tenantId: m.tenantId,
    channel: m.channel,
    conversationId,
    sender: m.sender,
    recipient: m.recipient,
    body: m.body,
    provider: m.provider,
    providerMessageId: m.providerMessageId,
    raw: { ...m.raw },
    handling: { ...m.handling },
    autoReplyMessageId: null,
    receivedAt: m.receivedAt,
  };
}

/** The stored rows of messages a retry brought again (the first stored). */
async function storedRows(
  env: Env,
  tenantId: string,
  provider: string,
  messages: InboundToStore[],
): Promise<InboundRow[]> {
  const keys = [...new Set(messages.map((m) => m.providerMessageId))];
  const found: InboundRow[] = [];
  for (let i = 0; i < keys.length; i += 90) {
    const chunk = await database(env.DB)
      .select()
      .from(inboundMessages)
      .where(
        and(
          eq(inboundMessages.tenantId, tenantId),
          eq(inboundMessages.provider, provider),
          inArray(inboundMessages.providerMessageId, keys.slice(i, i + 90)),
        ),
      );
    found.push(...chunk);
  }
  return found;
}
