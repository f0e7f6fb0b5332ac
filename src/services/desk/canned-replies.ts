/**
 * The desk's canned replies: a short tenant-level list (at most 100, a title and a body) that
 * supervisors keep (`desk:supervise`, audited) and agents (`desk:work`) pick from when replying.
 */
import { and, asc, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { cannedReplies } from "../../db/schema";
import type { Caller } from "../../domain/caller";
import { grants } from "../../domain/permissions";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";

export type CannedReply = typeof cannedReplies.$inferSelect;

export const MAX_CANNED_REPLIES = 100;
const MAX_TITLE = 60;
const MAX_BODY = 1_000;

function mustSupervise(caller: Caller): void {
  if (!grants(caller.scopes, "desk:supervise")) {
    throw new ApiError("forbidden", "Keeping canned replies needs `desk:supervise`.");
  }
}

export async function listCannedReplies(env: Env, caller: Caller): Promise<CannedReply[]> {
  if (!grants(caller.scopes, "desk:work") && !grants(caller.scopes, "desk:supervise")) {
    throw new ApiError("forbidden", "Canned replies are for the desk (`desk:work`).");
  }
  return database(env.DB)
    .select()
    .from(cannedReplies)
    .where(eq(cannedReplies.tenantId, caller.tenant.id))
    .orderBy(asc(cannedReplies.title), asc(cannedReplies.id))
    .limit(MAX_CANNED_REPLIES);
}

/** One of the tenant's canned replies; another tenant's is as missing as one that never was. */
export async function getCannedReply(env: Env, caller: Caller, id: string): Promise<CannedReply> {
  const row = await database(env.DB)
    .select()
    .from(cannedReplies)
    .where(and(eq(cannedReplies.tenantId, caller.tenant.id), eq(cannedReplies.id, id)))
    .get();
  if (!row) {
    throw new ApiError("not-found", `No canned reply ${id}.`);
  }
  return row;
}

function checked(input: { title: string; body: string }): { title: string; body: string } {
  const title = input.title.trim();
  const body = input.body.trim();
  const errors = [
    ...(title.length === 0 || title.length > MAX_TITLE
      ? [{ pointer: "/title", detail: `1 to ${MAX_TITLE} characters` }]
      : []),
    ...(body.length === 0 || body.length > MAX_BODY
      ? [{ pointer: "/body", detail: `1 to ${MAX_BODY} characters` }]
      : []),
  ];
  if (errors.length > 0) {
    throw new ApiError("validation-error", "The canned reply needs a title and a body.", {
      errors,
    });
  }
  return { title, body };
}

export async function createCannedReply(
  env: Env,
  caller: Caller,
  input: { title: string; body: string },
  now: number = Date.now(),
): Promise<CannedReply> {
  mustSupervise(caller);
  const values = checked(input);
  const existing = await listCannedReplies(env, caller);
  if (existing.length >= MAX_CANNED_REPLIES) {
    throw new ApiError(
      "unprocessable-entity",
      `A tenant keeps at most ${MAX_CANNED_REPLIES} canned replies: delete one first.`,
    );
  }
  const row: CannedReply = {
    id: newId("cnr", now),
    tenantId: caller.tenant.id,
    ...values,
    createdAt: now,
  };
  await audited(
    env,
    caller,
    {
      action: "canned_reply.create",
      target: row.id,
      diff: { title: { from: null, to: row.title } },
    },
    [database(env.DB).insert(cannedReplies).values(row)],
  );
  return row;
}

export async function updateCannedReply(
  env: Env,
  caller: Caller,
  id: string,
  input: { title: string; body: string },
): Promise<CannedReply> {
  mustSupervise(caller);
  const before = await getCannedReply(env, caller, id);
  const values = checked(input);
  await audited(
    env,
    caller,
    {
      action: "canned_reply.update",
      target: id,
      diff: { title: { from: before.title, to: values.title } },
    },
    [
      database(env.DB)
        .update(cannedReplies)
        .set(values)
        .where(and(eq(cannedReplies.tenantId, caller.tenant.id), eq(cannedReplies.id, id))),
    ],
  );
  return { ...before, ...values };
}

export async function deleteCannedReply(env: Env, caller: Caller, id: string): Promise<void> {
  mustSupervise(caller);
  const before = await getCannedReply(env, caller, id);
  await audited(
    env,
    caller,
    {
      action: "canned_reply.delete",
      target: id,
      diff: { title: { from: before.title, to: null } },
    },
    [
      database(env.DB)
        .delete(cannedReplies)
        .where(and(eq(cannedReplies.tenantId, caller.tenant.id), eq(cannedReplies.id, id))),
    ],
  );
}
