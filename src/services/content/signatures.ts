/**
 * Sender signatures (签名), reviewed like templates: draft → pending_review → approved | rejected.
 * The tenant's default signature (`tenants.signature`, e.g. 【Relaybox】) is prefixed to messages
 * on Chinese routes; it is the text of an approved signature. The first signature approved while
 * the tenant has none becomes the default, and deleting the default leaves the tenant without one.
 * A change of the default is a change of the tenant's settings (services/accounts/tenants.ts): messages
 * accepted after its answer carry the new default, whichever isolate accepts them.
 */
import { and, eq, exists, inArray, isNull, type SQL } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { signatures, tenants } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { type ReviewAction, reviewNote, reviewStep } from "../../domain/review";
import type { ReviewStatus } from "../../domain/vocabulary";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { announceSettings, NEXT_SETTINGS_VERSION, type TenantRow } from "../accounts/tenants";
import { audited } from "../audit/audit-log";
import { failUnlessChanged, unlessLost } from "../audit/change-guard";
import { refuseBlocked, screenText } from "./sensitive-words";

export type SignatureRow = typeof signatures.$inferSelect;

export interface SignatureRecord {
  row: SignatureRow;
  /** Whether it is the tenant's default signature, the one messages to China are signed with. */
  isDefault: boolean;
}

/** How a signature appears in a message: its name in full-width brackets. */
export function signatureText(name: string): string {
  return `【${name}】`;
}

function recordOf(row: SignatureRow, tenantSignature: string | null): SignatureRecord {
  return {
    row,
    isDefault: row.status === "approved" && tenantSignature === signatureText(row.name),
  };
}

export async function createSignature(
  env: Env,
  caller: Caller,
  name: string,
  now: number = Date.now(),
): Promise<SignatureRecord> {
  const db = database(env.DB);
  const row: SignatureRow = {
    id: newId("sig", now),
    tenantId: caller.tenant.id,
    name,
    status: "draft",
    reviewReason: null,
    reviewedBy: null,
    submittedAt: null,
    reviewedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  // A name already taken fails the whole batch (unique per tenant), so no entry records it.
  const taken = await audited(
    env,
    caller,
    { action: "signature.create", target: row.id, diff: diffOf({}, { name }) },
    [db.insert(signatures).values(row)],
  ).then(
    () => false,
    (error: unknown) => {
      if (/UNIQUE constraint failed: signatures/.test(String(error))) {
        return true;
      }
      throw error;
    },
  );
  if (taken) {
    const existing = await db.query.signatures.findFirst({
      where: and(eq(signatures.tenantId, caller.tenant.id), eq(signatures.name, name)),
    });
    throw new ApiError(
      "conflict",
      `This account already has the signature ${signatureText(name)}${existing ? ` (${existing.id})` : ""}.`,
      { errors: [{ pointer: "/name", detail: "already taken" }] },
    );
  }
  return { row, isDefault: false };
}

function tenantSignature(env: Env, caller: Caller) {
  return database(env.DB)
    .select({ signature: tenants.signature })
    .from(tenants)
    .where(eq(tenants.id, caller.tenant.id));
}

export async function listSignatures(
  env: Env,
  caller: Caller,
  query: { status?: ReviewStatus } & PageRequest,
): Promise<Page<SignatureRecord>> {
  const conditions: SQL[] = [eq(signatures.tenantId, caller.tenant.id)];
  if (query.status) {
    conditions.push(eq(signatures.status, query.status));
  }
  const paging = keyset(signatures.id, query);
  const db = database(env.DB);
  const [rows, [tenant]] = await db.batch([
    db
      .select()
      .from(signatures)
      .where(and(...conditions, paging.after))
      .orderBy(paging.orderBy)
      .limit(paging.limit),
    tenantSignature(env, caller),
  ]);
  const page = pageOf(rows, query, (row) => row.id);
  return { ...page, data: page.data.map((row) => recordOf(row, tenant?.signature ?? null)) };
}

/** Another tenant's signature is as missing as one that never was. */
export async function getSignature(env: Env, caller: Caller, id: string): Promise<SignatureRecord> {
  const db = database(env.DB);
  const [[row], [tenant]] = await db.batch([
    db
      .select()
      .from(signatures)
      .where(and(eq(signatures.id, id), eq(signatures.tenantId, caller.tenant.id)))
      .limit(1),
    tenantSignature(env, caller),
  ]);
  if (!row) {
    throw new ApiError("not-found", `No signature ${id}.`);
  }
  return recordOf(row, tenant?.signature ?? null);
}

/** Deleting the default signature leaves the tenant with none; sent messages keep theirs. */
export async function deleteSignature(env: Env, caller: Caller, id: string): Promise<void> {
  const { row, isDefault } = await getSignature(env, caller, id);
  const db = database(env.DB);
  const deleted = db.delete(signatures).where(eq(signatures.id, row.id));
  const event = {
    action: "signature.delete",
    target: row.id,
    diff: diffOf({ name: row.name, status: row.status, isDefault }, {}),
  };
  if (!isDefault) {
    await audited(env, caller, event, [deleted]);
    return;
  }
  const [, changed] = await audited(env, caller, event, [
    deleted,
    db
      .update(tenants)
      .set({ signature: null, ...NEXT_SETTINGS_VERSION })
      .where(and(eq(tenants.id, caller.tenant.id), eq(tenants.signature, signatureText(row.name))))
      .returning(),
  ]);
  await announceChanged(env, changed);
}

function changedMeanwhile(id: string): ApiError {
  return new ApiError("conflict", `Signature ${id} was changed by another request; try again.`);
}

/** A default signature changed (`changed`: the tenant's row, if it did): sending must know. */
async function announceChanged(env: Env, changed: TenantRow[]): Promise<void> {
  const [tenant] = changed;
  if (tenant) {
    await announceSettings(env, tenant);
  }
}

/** The tenant's default becomes this signature's text if the signature is (still) approved. */
function makeDefault(env: Env, caller: Caller, row: SignatureRow, onlyIfNone: boolean) {
  const db = database(env.DB);
  const approved = exists(
    db
      .select({ id: signatures.id })
      .from(signatures)
      .where(and(eq(signatures.id, row.id), eq(signatures.status, "approved"))),
  );
  return db
    .update(tenants)
    .set({ signature: signatureText(row.name), ...NEXT_SETTINGS_VERSION })
    .where(
      and(
        eq(tenants.id, caller.tenant.id),
        approved,
        onlyIfNone ? isNull(tenants.signature) : undefined,
      ),
    )
    .returning();
}

/** Moves the signature one review step on, or says why it can't. */
async function review(
  env: Env,
  caller: Caller,
  id: string,
  action: ReviewAction,
  set: (row: SignatureRow) => Promise<Partial<SignatureRow>>,
): Promise<SignatureRecord> {
  const { row } = await getSignature(env, caller, id);
  const step = reviewStep("signature", id, row.status, action);
  const changes = { ...(await set(row)), status: step.to };
  const db = database(env.DB);
  const event = {
    action: `signature.${action}`,
    target: row.id,
    diff: diffOf(
      { status: row.status, reviewReason: row.reviewReason },
      { status: step.to, reviewReason: changes.reviewReason ?? row.reviewReason },
    ),
  };
  const [, , madeDefault] = await unlessLost(
    audited(env, caller, event, [
      db
        .update(signatures)
        .set(changes)
        .where(and(eq(signatures.id, row.id), inArray(signatures.status, step.from))),
      failUnlessChanged(env),
      // Approving a signature while the tenant has no default makes it the default.
      ...(step.to === "approved" ? [makeDefault(env, caller, row, true)] : []),
    ]),
    () => changedMeanwhile(row.id),
  );
  await announceChanged(env, madeDefault ?? []);
  return getSignature(env, caller, row.id);
}

/** Screens the name like a template's body: a blocked word refuses it, 422 with the hits. */
export function submitSignature(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<SignatureRecord> {
  return review(env, caller, id, "submit", async (row) => {
    const screening = await screenText(env, caller.tenant.id, row.name);
    refuseBlocked(screening, "/name");
    return {
      reviewReason: reviewNote(screening.hits),
      reviewedBy: null,
      submittedAt: now,
      reviewedAt: null,
      updatedAt: now,
    };
  });
}

export function approveSignature(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<SignatureRecord> {
  return review(env, caller, id, "approve", async () => ({
    reviewedBy: caller.keyId,
    reviewedAt: now,
    updatedAt: now,
  }));
}

export function rejectSignature(
  env: Env,
  caller: Caller,
  id: string,
  reason: string,
  now: number = Date.now(),
): Promise<SignatureRecord> {
  return review(env, caller, id, "reject", async () => ({
    reviewReason: reason,
    reviewedBy: caller.keyId,
    reviewedAt: now,
    updatedAt: now,
  }));
}

/** Makes an approved signature the tenant's default. */
export async function setDefaultSignature(
  env: Env,
  caller: Caller,
  id: string,
): Promise<SignatureRecord> {
  const { row } = await getSignature(env, caller, id);
  if (row.status !== "approved") {
    throw new ApiError(
      "conflict",
      `Signature ${id} is ${row.status}; only an approved signature can be the default.`,
    );
  }
  const [changed] = await unlessLost(
    audited(
      env,
      caller,
      { action: "signature.set_default", target: row.id, diff: diffOf({}, { default: row.name }) },
      [makeDefault(env, caller, row, false), failUnlessChanged(env)],
    ),
    () => changedMeanwhile(id),
  );
  await announceChanged(env, changed);
  return getSignature(env, caller, id);
}
