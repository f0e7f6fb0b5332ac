/**
 * Batches: one request, up to 100,000 recipients, sent from a template or a free body.
 *
 * Every row is composed with the same rules as a single message (services/compose); a bad row is
 * reported, not fatal. The good rows reach the tenant's dispatcher in a few large staged calls and
 * one commit, so the batch is sent whole or not at all, and always in the bulk lane: a 100k batch
 * never holds up the tenant's verification codes. Progress is counted from the send log.
 */
import { csvParseRows } from "d3-dsv";
import { and, eq, sql } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { batches, messages } from "../../db/schema";
import { dispatcherOf } from "../../delivery/dispatcher";
import type { BatchRecord, OutboxMessage } from "../../delivery/dispatcher-types";
import { type Caller, modeSeenBy } from "../../domain/caller";
import type { MessageStatus, TemplateKind } from "../../domain/vocabulary";
import { seededId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { StaleSettings, withCurrentSettings } from "../accounts/tenants";
import { loadScreener } from "../content/sensitive-words";
import { type Content, composeMessage } from "./compose";
import { type Claim, idempotencyKeyOf, idempotent } from "./idempotency";
import { type ContentInput, loadContent, refusal, scheduledTime } from "./messages";
import { type OutboxOrigin, smsOutboxMessage } from "./outbox-message";

/** A batch as its dispatcher records it: what the API presents. */
export type { BatchRecord };

export const MAX_BATCH_RECIPIENTS = 100_000;
/** Messages per staging call: a few MB per RPC, a handful of calls for the largest batch. */
const STAGE_CHUNK = 5_000;
/** Rejected rows listed in full up to this many; past it, the count says the rest. */
const MAX_LISTED_REJECTIONS = 1_000;

export type BatchInput = ContentInput & {
  recipients?: { to: string; variables?: Record<string, unknown> }[];
  csv?: string;
  send_at?: string;
  smart_encoding?: boolean;
  metadata?: Record<string, string>;
};

export interface Rejection {
  /** 1-based: the recipient's position, or the CSV line (the header is line 1). */
  row: number;
  reason: string;
}

export interface AcceptedBatch {
  id: string;
  status: "accepted";
  accepted: number;
  /** The first MAX_LISTED_REJECTIONS rejected rows; `rejected_count` counts them all. */
  rejected_rows: Rejection[];
  rejected_count: number;
  send_at: string;
  created_at: string;
}

interface Row {
  row: number;
  to: string;
  variables: Record<string, unknown>;
}

/** The recipients as rows, from the JSON list or the CSV text (header `to,<variable>…`). */
export function recipientRows(input: BatchInput): { rows: Row[]; rejected: Rejection[] } {
  if (input.recipients) {
    return {
      rows: input.recipients.map((r, i) => ({
        row: i + 1,
        to: r.to,
        variables: r.variables ?? {},
      })),
      rejected: [],
    };
  }
  const lines = csvParseRows(input.csv ?? "");
  const header = (lines[0] ?? []).map((name) => name.trim());
  if (header[0]?.toLowerCase() !== "to") {
    throw new ApiError(
      "validation-error",
      'The CSV must start with a header row "to,<variable>…".',
      {
        errors: [{ pointer: "/csv", detail: 'the first column of the header must be "to"' }],
      },
    );
  }
  const names = header.slice(1);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) {
    throw new ApiError("validation-error", `The CSV header names "${duplicate}" twice.`, {
      errors: [{ pointer: "/csv", detail: `duplicate column "${duplicate}"` }],
    });
  }
  const rows: Row[] = [];
  const rejected: Rejection[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i] ?? [];
    if (cells.length === 1 && cells[0]?.trim() === "") {
      continue; // a blank line
    }
    if (cells.length !== header.length) {
      rejected.push({
        row: i + 1,
        reason: `has ${cells.length} columns; the header has ${header.length}`,
      });
      continue;
    }
    const variables: Record<string, string> = {};
    names.forEach((name, n) => {
      variables[name] = cells[n + 1] ?? "";
    });
    rows.push({ row: i + 1, to: (cells[0] ?? "").trim(), variables });
  }
  return { rows, rejected };
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
  let chunk: OutboxMessage[] = [];
  let accepted = 0;
  const stage = async () => {
    if (chunk.length > 0) {
      const staged = await dispatcher.stageBatch({
        tenantId: tenant.id,
        messages: chunk,
        settingsVersion: tenant.settingsVersion,
      });
      if (staged === "stale-settings") {
        throw new StaleSettings();
      }
      accepted += staged;
      chunk = [];
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
  const committed = await dispatcher.commitBatch(record, tenant.settingsVersion);
  if (committed === "stale-settings") {
    throw new StaleSettings();
  }
  if (committed === "incomplete") {
    throw new Error(`batch ${batchId}: staged rows missing at commit`);
  }
  return {
    id: batchId,
    status: "accepted",
    accepted,
    rejected_rows: rejected.slice(0, MAX_LISTED_REJECTIONS),
    rejected_count: rejected.length,
    send_at: new Date(wanted).toISOString(),
    created_at: new Date(now).toISOString(),
  };
}

export type BatchStatus = "accepted" | "sending" | "completed" | "canceled";

export interface BatchView {
  record: BatchRecord;
  status: BatchStatus;
  counts: Partial<Record<MessageStatus, number>>;
}

const WAITING: ReadonlySet<MessageStatus> = new Set(["scheduled", "queued"]);
const UNFINISHED: ReadonlySet<MessageStatus> = new Set(["scheduled", "queued", "sending"]);

/**
 * A batch with its messages counted by status; messages not yet in the send log count as waiting
 * (or canceled, once the batch is).
 * One of the other mode is a 404 like a missing one, as a message is (services/messages).
 */
export async function getBatch(env: Env, caller: Caller, id: string): Promise<BatchView> {
  const db = database(env.DB);
  const readLogged = () =>
    db.query.batches.findFirst({
      where: and(eq(batches.id, id), eq(batches.tenantId, caller.tenant.id)),
    });
  // The dispatcher answers only for what D1 lacks; it may have written this batch there after the
  // first read, in which case D1 has it now. Read again rather than answer 404.
  let row = await readLogged();
  const stored = row ? null : await dispatcherOf(env, caller.tenant.id).peekBatch(id);
  if (!row && !stored) {
    row = await readLogged();
  }
  const record = row ?? stored;
  const mode = modeSeenBy(caller);
  if (!record || record.tenantId !== caller.tenant.id || (mode !== null && record.mode !== mode)) {
    throw new ApiError("not-found", `No batch ${id}.`);
  }
  const grouped = row
    ? await db
        .select({ status: messages.status, n: sql<number>`count(*)` })
        .from(messages)
        .where(and(eq(messages.batchId, id), eq(messages.tenantId, caller.tenant.id)))
        .groupBy(messages.status)
    : [];
  const counts: Partial<Record<MessageStatus, number>> = {};
  let logged = 0;
  for (const { status, n } of grouped) {
    counts[status] = n;
    logged += n;
  }
  const unlogged = record.accepted - logged;
  if (unlogged > 0) {
    const status = unloggedStatus(record);
    counts[status] = (counts[status] ?? 0) + unlogged;
  }
  return { record, status: statusOf(record, counts), counts };
}

/** What the batch's messages not yet in the send log are: they wait, or a cancel took them all. */
function unloggedStatus(record: BatchRecord): MessageStatus {
  if (record.canceledAt !== null) {
    return "canceled";
  }
  return record.sendAt > record.createdAt ? "scheduled" : "queued";
}

function statusOf(
  record: BatchRecord,
  counts: Partial<Record<MessageStatus, number>>,
): BatchStatus {
  if (record.canceledAt !== null) {
    return "canceled";
  }
  const entries = Object.entries(counts) as [MessageStatus, number][];
  if (entries.every(([status, n]) => n === 0 || !UNFINISHED.has(status))) {
    return "completed";
  }
  return entries.some(([status, n]) => n > 0 && !WAITING.has(status)) ? "sending" : "accepted";
}

export async function listBatches(
  env: Env,
  caller: Caller,
  page: PageRequest,
): Promise<Page<BatchRecord>> {
  const conditions = [eq(batches.tenantId, caller.tenant.id)];
  const mode = modeSeenBy(caller);
  if (mode !== null) {
    conditions.push(eq(batches.mode, mode));
  }
  const paging = keyset(batches.id, page);
  const rows = await database(env.DB)
    .select()
    .from(batches)
    .where(and(...conditions, paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, page, (row) => row.id);
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
