/**
 * Batches: one request, up to 100,000 recipients, sent from a template or a free body.
 *
 * Every row is composed with the same rules as a single message (compose.ts); a bad row is
 * reported, not fatal. The good rows reach the tenant's dispatcher in a few large staged calls and
 * one commit, so the batch is sent whole or not at all, and always in the bulk lane: a 100k batch
 * never holds up the tenant's verification codes. The rows come from batch-rows.ts; reading a
 * batch and its progress is in batch-reads.ts, canceling in cancel.ts.
 */
import { dispatcherOf, dispatcherShard } from "../../delivery/dispatcher";
import type { BatchRecord, OutboxMessage } from "../../delivery/dispatcher-types";
import type { Caller } from "../../domain/caller";
import { shardOf } from "../../domain/dispatch-shards";
import type { TemplateKind } from "../../domain/vocabulary";
import { seededId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { budgetExceeded, budgetPolicyOf } from "../accounts/budget";
import { StaleSettings, withCurrentSettings } from "../accounts/tenants";
import { loadScreener } from "../content/sensitive-words";
import { type BatchRecipient, type Rejection, recipientRows } from "./batch-rows";
import { type Content, composeMessage } from "./compose";
import { type Claim, idempotencyKeyOf, idempotent } from "./idempotency";
import { type ContentInput, loadContent, optedOutDetail, refusal, scheduledTime } from "./messages";
import { type OutboxOrigin, smsOutboxMessage } from "./outbox-message";

export const MAX_BATCH_RECIPIENTS = 100_000;
/** Messages per staging call: a few MB per RPC, a handful of calls for the largest batch. */
const STAGE_CHUNK = 5_000;
/** Rejected rows listed in full up to this many; past it, the count says the rest. */
const MAX_LISTED_REJECTIONS = 1_000;

export type BatchInput = ContentInput & {
  recipients?: BatchRecipient[];
  csv?: string;
  send_at?: string;
  smart_encoding?: boolean;
  metadata?: Record<string, string>;
  /** Over the budget: send what fits (in row order) rather than nothing. */
  partial?: boolean;
};

export interface AcceptedBatch {
  id: string;
  status: "accepted";
  accepted: number;
  /** The first MAX_LISTED_REJECTIONS rejected rows; `rejected_count` counts them all. */
  rejected_rows: Rejection[];
  rejected_count: number;
  /** Cut at the budget (asked for with `partial: true`); `budget_refused` rows were refused. */
  partial: boolean;
  budget_refused: number;
  send_at: string;
  created_at: string;
}

export async function acceptBatch(
  env: Env,
  caller: Caller,
  input: BatchInput,
  idempotencyKey: string | undefined,
  now: number = Date.now(),
): Promise<{ replayed: boolean; batch: AcceptedBatch }> {
  const result = await idempotent(
    env,
    {
      tenantId: caller.tenant.id,
      operation: "POST /v1/batches",
      key: idempotencyKeyOf(caller, idempotencyKey),
      request: input,
      // The batch's ids follow from the claim, so a rerun stages the same rows and its commit
      // finds the batch committed already: never a second batch, never a second message.
      rerunnable: true,
    },
    async (claim) => ({
      status: 202,
      body: await withCurrentSettings(env, caller, (current) =>
        createBatch(env, current, input, claim),
      ),
    }),
    (body) => body,
    now,
  );
  return { replayed: result.replayed, batch: result.body };
}

/** Makes the batch of `claim`: run again under the same claim, it finds or makes the same one. */
async function createBatch(
  env: Env,
  caller: Caller,
  input: BatchInput,
  claim: Claim,
): Promise<AcceptedBatch> {
  const { tenant } = caller;
  const now = claim.at;
  const wanted = scheduledTime(input.send_at, now);
  const { rows, rejected } = recipientRows(input);
  if (rows.length + rejected.length > MAX_BATCH_RECIPIENTS) {
    throw new ApiError(
      "unprocessable-entity",
      `A batch takes at most ${MAX_BATCH_RECIPIENTS.toLocaleString("en")} recipients.`,
      {
        errors: [
          {
            pointer: input.csv !== undefined ? "/csv" : "/recipients",
            detail: `${rows.length + rejected.length} recipients`,
          },
        ],
      },
    );
  }
  const [content, screen] = await Promise.all([
    loadContent(
      env,
      caller,
      input.template_id === undefined
        ? { body: input.body }
        : { template_id: input.template_id, variables: {} },
    ),
    loadScreener(env, tenant.id),
  ]);
  const batchId = seededId("bat", now, claim.seed);
  const kind: TemplateKind = "template" in content ? content.template.kind : "notification";
  // Staged a chunk at a time while composing, so at most one chunk of messages is in memory
  // (a Worker has 128 MB); nothing staged is sent unless the commit below happens.
  const dispatcher = dispatcherOf(env, tenant.id);
  // Sharded dispatch (domain/dispatch-shards): each recipient's messages staged on its shard,
  // every shard then commits its part (one shard: as always, the one dispatcher).
  const shards = tenant.dispatchShards;
  const parts = Array.from({ length: shards }, () => 0);
  const origin: OutboxOrigin = {
    tenantId: tenant.id,
    mode: caller.mode,
    sender: null,
    metadata: input.metadata ?? null,
    idempotencyKey: null,
    createdAt: now,
    // Marketing inside the quiet hours is held by the dispatcher as the batch commits.
    sendAt: wanted,
    batchId,
    template: "template" in content ? content.template : null,
    lane: "bulk",
  };
  const options = { smartEncoding: input.smart_encoding ?? false, pointer: "" };
  // SMS to numbers that opted out are left out by the dispatcher as it stages them, and become
  // rejected rows (the tenant's verification codes pass when it exempts them).
  const optOutExempt = kind === "verification" && tenant.verificationOptOutExempt;
  let chunk: OutboxMessage[] = [];
  let chunkRows = new Map<string, number>();
  // Every staged message's row, for the rows a budget cut refuses (only when one may).
  const stagedRows = input.partial ? new Map<string, number>() : null;
  let accepted = 0;
  const stage = async () => {
    if (chunk.length > 0) {
      const byShard = new Map<number, OutboxMessage[]>();
      for (const m of chunk) {
        const shard = shardOf(m.recipient, shards);
        byShard.set(shard, [...(byShard.get(shard) ?? []), m]);
      }
      const optedOut: string[] = [];
      for (const [shard, messages] of byShard) {
        const staged = await (shards === 1
          ? dispatcher
          : dispatcherShard(env, tenant.id, shard)
        ).stageBatch({
          tenantId: tenant.id,
          messages,
          settingsVersion: tenant.settingsVersion,
          ...(optOutExempt ? { optOutExempt } : {}),
        });
        if (staged === "stale-settings") {
          throw new StaleSettings();
        }
        accepted += staged.staged;
        parts[shard] = (parts[shard] ?? 0) + staged.staged;
        optedOut.push(...staged.optedOut);
      }
      const staged = { optedOut };
      const recipients = new Map(chunk.map((m) => [m.id, m.recipient]));
      for (const id of staged.optedOut) {
        const phone = recipients.get(id) ?? "";
        rejected.push({ row: chunkRows.get(id) ?? 0, reason: `to: ${optedOutDetail(phone)}` });
      }
      chunk = [];
      chunkRows = new Map();
    }
  };
  for (const row of rows) {
    const rowContent: Content =
      "template" in content ? { template: content.template, variables: row.variables } : content;
    const composition = composeMessage(tenant, screen, row.to, rowContent, options);
    if (!composition.ok) {
      rejected.push({
        row: row.row,
        reason: composition.errors
          .map((e) => `${e.pointer.slice(1) || "row"}: ${e.detail}`)
          .join("; "),
      });
      continue;
    }
    const id = seededId("msg", now, claim.seed, row.row);
    chunk.push(smsOutboxMessage(origin, id, row.to, composition.value));
    chunkRows.set(id, row.row);
    stagedRows?.set(id, row.row);
    if (chunk.length === STAGE_CHUNK) {
      await stage();
    }
  }
  await stage();
  rejected.sort((a, b) => a.row - b.row);
  if (accepted === 0) {
    if (rejected.length === 0) {
      // As for an empty `recipients` list: nothing to send is a malformed request.
      throw new ApiError("validation-error", "The batch has no recipients.", {
        errors: [{ pointer: "/csv", detail: "no rows after the header" }],
      });
    }
    throw refusal(
      rejected.slice(0, 20).map((r) => ({ pointer: `/rows/${r.row}`, detail: r.reason })),
    );
  }
  const record: BatchRecord = {
    id: batchId,
    tenantId: tenant.id,
    templateId: "template" in content ? content.template.id : null,
    templateVersion: "template" in content ? content.template.version : null,
    kind,
    mode: caller.mode,
    accepted,
    rejected: rejected.length,
    sendAt: wanted,
    createdAt: now,
    canceledAt: null,
  };
  const budget = { policy: budgetPolicyOf(tenant), partial: input.partial === true };
  let committed = await dispatcher.commitBatch(
    record,
    tenant.settingsVersion,
    budget,
    ...(shards === 1 ? [] : [parts[0] ?? 0]),
  );
  // The other shards' parts (a sharded tenant has no budget: platform-tenants refuses both).
  for (let shard = 1; shard < shards && committed === "committed"; shard++) {
    committed = await dispatcherShard(env, tenant.id, shard).commitBatch(
      record,
      tenant.settingsVersion,
      budget,
      parts[shard] ?? 0,
    );
  }
  if (committed === "stale-settings") {
    throw new StaleSettings();
  }
  if (committed === "incomplete") {
    throw new Error(`batch ${batchId}: staged rows missing at commit`);
  }
  if (typeof committed === "object" && committed.kind === "over-budget") {
    throw budgetExceeded(committed.refusal, tenant.currency);
  }
  let budgetRefused = 0;
  if (typeof committed === "object") {
    const reason = `budget: ${budgetExceeded(committed.refusal, tenant.currency).message}`;
    for (const id of committed.refused) {
      rejected.push({ row: stagedRows?.get(id) ?? 0, reason });
    }
    rejected.sort((a, b) => a.row - b.row);
    accepted -= committed.refused.length;
    budgetRefused = committed.refused.length;
  }
  return {
    id: batchId,
    status: "accepted",
    accepted,
    rejected_rows: rejected.slice(0, MAX_LISTED_REJECTIONS),
    rejected_count: rejected.length,
    partial: budgetRefused > 0,
    budget_refused: budgetRefused,
    send_at: new Date(wanted).toISOString(),
    created_at: new Date(now).toISOString(),
  };
}
