/**
 * A scripted mix of traffic through the one status writer, with the duplicates real traffic
 * brings: the dispatcher logging a message twice, queue redelivery of a claim and of an outcome,
 * repeated and out-of-order carrier receipts, a receipt before the send, dead letters and cancels
 * twice. The stats tests compare the rollups with a direct count of the send log after it.
 */
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { database } from "../../src/db/client";
import type { MessageRow } from "../../src/db/message-log";
import { messages } from "../../src/db/schema";
import type { OutboxMessage } from "../../src/delivery/dispatcher-types";
import { sentMessageColumns } from "../../src/delivery/message-events";
import {
  applyReceipts,
  cancelLogged,
  claimForSending,
  expireOverdue,
  failUnlessDone,
  holdReceipts,
  recordAttempts,
} from "../../src/delivery/status-writer";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { outboxMessage } from "./messages";

const COUNTRIES = [
  ["CN", "+86138001"],
  ["US", "+1415555"],
  ["GB", "+447700"],
] as const;
const TEMPLATES = ["tpl_stats_a", "tpl_stats_b", null] as const;

/** Messages accepted every `stepMs` from `start`, in three countries, three templates, both providers. */
export function scriptedMessages(
  tenantId: string,
  count: number,
  start: number,
  stepMs: number,
  mode: "live" | "test" = "live",
): OutboxMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const [country, prefix] = COUNTRIES[i % 3] ?? COUNTRIES[0];
    const createdAt = start + i * stepMs;
    return outboxMessage(tenantId, `${prefix}${String(1000 + i).padStart(4, "0")}`, {
      mode,
      country,
      templateId: TEMPLATES[i % 3 === 0 ? (i / 3) % 3 : i % 3] ?? null,
      segments: 1 + (i % 3),
      costMicros: 500 + (i % 5) * 1000,
      createdAt,
      sendAt: createdAt,
    });
  });
}

async function sentRow(id: string) {
  const [row] = await database(env.DB)
    .select(sentMessageColumns)
    .from(messages)
    .where(eq(messages.id, id));
  if (!row) {
    throw new Error(`no message ${id}`);
  }
  return row;
}

const providerOf = (i: number) => (i % 2 === 0 ? "sandbox" : "twilio");

function outcome(
  message: MessageRow,
  provider: string,
  change:
    | { kind: "sent"; provider: string; providerMessageId: string }
    | { kind: "failed"; reason: string },
) {
  return {
    message,
    attempt: {
      attemptId: `att_${message.id.slice(4)}`,
      claimId: message.claimId ?? "",
      messageId: message.id,
      tenantId: message.tenantId,
      attempt: message.attemptCount,
      provider,
      outcome: change.kind === "sent" ? ("sent" as const) : ("permanent" as const),
      reason: change.kind === "failed" ? change.reason : null,
      providerMessageId: change.kind === "sent" ? change.providerMessageId : null,
      latencyMs: 10,
      createdAt: Date.now(),
    },
    change,
  };
}

/**
 * Runs every message to its fate by its index modulo 8: delivered, undelivered, failed at send,
 * expired, canceled, dead-lettered, delivered by a receipt that beat the send, left queued.
 */
export async function runScriptedTraffic(tenantId: string, batch: OutboxMessage[]): Promise<void> {
  await logMessages(env.DB, batch);
  // The dispatcher writes part of it again after a crash: INSERT OR IGNORE.
  await logMessages(env.DB, batch.slice(0, 10));
  const fate = (m: OutboxMessage) => batch.indexOf(m) % 8;
  const idsOf = (fates: number[]) => batch.filter((m) => fates.includes(fate(m))).map((m) => m.id);

  await cancelLogged(env, env.DB, { ids: idsOf([4]) }, Date.now());
  await cancelLogged(env, env.DB, { ids: idsOf([4]) }, Date.now());

  const toClaim = idsOf([0, 1, 2, 3, 6]);
  const claimed = await claimForSending(env, env.DB, toClaim, "claim-1", Date.now(), 60_000);
  // Queue redelivery of the same job: the claim holds, nothing is claimed or moved again.
  await claimForSending(env, env.DB, toClaim, "claim-2", Date.now(), 60_000);
  const byId = new Map(claimed.map((m) => [m.id, m]));
  const index = (id: string) => batch.findIndex((m) => m.id === id);

  // Receipts that beat the record of the send.
  for (const provider of ["sandbox", "twilio"]) {
    const early = idsOf([6]).filter((id) => providerOf(index(id)) === provider);
    await holdReceipts(
      env,
      env.DB,
      { tenantId, provider },
      early.map((id) => ({ providerMessageId: `c-${id}`, status: "delivered" as const })),
      Date.now(),
    );
  }

  const records = [...byId.values()].map((m) => {
    const i = index(m.id);
    const provider = providerOf(i);
    return i % 8 === 2
      ? outcome(m, provider, {
          kind: "failed",
          reason: i % 3 === 0 ? "21211: invalid number" : "30007: filtered",
        })
      : outcome(m, provider, { kind: "sent", provider, providerMessageId: `c-${m.id}` });
  });
  await recordAttempts(env, env.DB, records);
  // The consumer's batch redelivered after it wrote: the claims are gone, nothing changes.
  await recordAttempts(env, env.DB, records);

  for (const provider of ["sandbox", "twilio"]) {
    const owner = { tenantId, provider };
    const receipts = [];
    for (const id of idsOf([0, 1])) {
      const i = index(id);
      if (providerOf(i) !== provider) {
        continue;
      }
      const delivered = i % 8 === 0;
      receipts.push({
        message: await sentRow(id),
        providerMessageId: `c-${id}`,
        status: delivered ? ("delivered" as const) : ("undelivered" as const),
        reason: delivered ? null : "30003: unreachable",
      });
    }
    await applyReceipts(env, env.DB, owner, receipts, Date.now());
    // Repeated, and contradicting ones after the final status.
    await applyReceipts(env, env.DB, owner, receipts, Date.now());
    await applyReceipts(
      env,
      env.DB,
      owner,
      receipts.map((r) => ({ ...r, status: "undelivered" as const, reason: "late" })),
      Date.now(),
    );
  }

  const later = Date.now() + 60_000;
  await expireOverdue(env, env.DB, tenantId, later, 1_000);
  await expireOverdue(env, env.DB, tenantId, later, 1_000);

  for (const id of idsOf([5])) {
    await failUnlessDone(env, env.DB, id, "dead letter: retries exhausted", Date.now());
    await failUnlessDone(env, env.DB, id, "dead letter: retries exhausted", Date.now());
  }
}
