/**
 * A tenant's own end users, keyed by the tenant's `external_id`: a name, a phone in E.164 and the
 * person's openid in each of the tenant's WeChat Official Accounts. An openid belongs to at most
 * one contact per app (a unique index), so a message to "the contact" on WeChat is unambiguous
 * (the checks and reads of the bindings are in bindings.ts).
 */
import { and, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { contacts, contactWeChatBindings } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { normalisePhone } from "../../domain/phone";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { failUnlessChanged, unlessLost } from "../audit/change-guard";
import {
  type BindingRow,
  bindingsOf,
  brokenUniqueIndex,
  checkBindings,
  checkOpenidsFree,
  openidTaken,
  type WeChatBindingInput,
} from "./bindings";

export type ContactRow = typeof contacts.$inferSelect;
export type Contact = ContactRow & { wechat: BindingRow[] };

export interface ContactInput {
  external_id: string;
  name?: string | null;
  phone?: string | null;
  wechat?: WeChatBindingInput[];
}

/** PATCH: a field left out stays; `null` clears it; `wechat` replaces the whole list. */
export interface ContactChanges {
  name?: string | null;
  phone?: string | null;
  wechat?: WeChatBindingInput[] | null;
}

function phoneOf(caller: Caller, phone: string | null | undefined): string | null {
  if (phone === undefined || phone === null) {
    return null;
  }
  const result = normalisePhone(phone, caller.tenant.homeCountry);
  if (!result.ok) {
    throw new ApiError(
      "unprocessable-entity",
      `The phone number is not valid: ${result.error.detail}.`,
      {
        errors: [{ pointer: "/phone", detail: result.error.detail }],
      },
    );
  }
  return result.e164;
}

function externalIdTaken(externalId: string): ApiError {
  return new ApiError("conflict", `A contact with external_id ${externalId} already exists.`, {
    errors: [{ pointer: "/external_id", detail: "already exists" }],
  });
}

/** Runs a write; a race lost on a unique index is the same 409 as the check before it. */
async function writing<T>(externalId: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const index = brokenUniqueIndex(error);
    if (index === "external_id") {
      throw externalIdTaken(externalId);
    }
    if (index === "openid") {
      throw new ApiError("conflict", "An openid is already bound to another contact of that app.");
    }
    throw error;
  }
}

/** The caller's contact row; another tenant's is as missing as one that never was. */
export async function findContactRow(
  env: Env,
  caller: Caller,
  externalId: string,
): Promise<ContactRow> {
  const row = await database(env.DB).query.contacts.findFirst({
    where: and(eq(contacts.tenantId, caller.tenant.id), eq(contacts.externalId, externalId)),
  });
  if (!row) {
    throw new ApiError("not-found", `No contact ${externalId}.`);
  }
  return row;
}

export async function getContact(env: Env, caller: Caller, externalId: string): Promise<Contact> {
  const row = await findContactRow(env, caller, externalId);
  const bindings = await bindingsOf(env, [row.id]);
  return { ...row, wechat: bindings.get(row.id) ?? [] };
}

export async function createContact(
  env: Env,
  caller: Caller,
  input: ContactInput,
  now: number = Date.now(),
): Promise<Contact> {
  const db = database(env.DB);
  const phone = phoneOf(caller, input.phone);
  const wechat = input.wechat ?? [];
  await checkBindings(env, caller, wechat);
  const existing = await db.query.contacts.findFirst({
    where: and(eq(contacts.tenantId, caller.tenant.id), eq(contacts.externalId, input.external_id)),
  });
  if (existing) {
    throw externalIdTaken(input.external_id);
  }
  const row: ContactRow = {
    id: newId("ctc", now),
    tenantId: caller.tenant.id,
    externalId: input.external_id,
    name: input.name ?? null,
    phone,
    createdAt: now,
    updatedAt: now,
  };
  const bindings: BindingRow[] = wechat.map((b) => ({
    contactId: row.id,
    tenantId: caller.tenant.id,
    appId: b.app_id,
    openid: b.openid,
    source: "api",
    createdAt: now,
  }));
  await checkOpenidsFree(env, caller.tenant.id, row.id, bindings);
  const event = {
    action: "contact.create",
    target: input.external_id,
    diff: diffOf({}, { name: row.name, phone: row.phone, wechat: bindingsDiffed(bindings) }),
  };
  await writing(input.external_id, async () => {
    const insertContact = db.insert(contacts).values(row);
    if (bindings.length === 0) {
      await audited(env, caller, event, [insertContact]);
    } else {
      await audited(env, caller, event, [
        insertContact,
        db.insert(contactWeChatBindings).values(bindings),
      ]);
    }
  });
  return { ...row, wechat: [...bindings].sort((a, b) => a.appId.localeCompare(b.appId)) };
}

export async function updateContact(
  env: Env,
  caller: Caller,
  externalId: string,
  changes: ContactChanges,
  now: number = Date.now(),
): Promise<Contact> {
  const db = database(env.DB);
  const row = await findContactRow(env, caller, externalId);
  const set: Partial<ContactRow> = { updatedAt: now };
  if (changes.name !== undefined) {
    set.name = changes.name;
  }
  if (changes.phone !== undefined) {
    set.phone = phoneOf(caller, changes.phone);
  }
  const update = db.update(contacts).set(set).where(eq(contacts.id, row.id));
  const fields = (contact: Partial<ContactRow>) => ({
    ...(set.name === undefined ? {} : { name: contact.name }),
    ...(set.phone === undefined ? {} : { phone: contact.phone }),
  });
  if (changes.wechat === undefined) {
    await audited(
      env,
      caller,
      { action: "contact.update", target: externalId, diff: diffOf(fields(row), fields(set)) },
      [update],
    );
    return getContact(env, caller, externalId);
  }
  const wanted = changes.wechat ?? [];
  await checkBindings(env, caller, wanted);
  // A binding kept as it was keeps its source and creation time.
  const current = (await bindingsOf(env, [row.id])).get(row.id) ?? [];
  const bindings: BindingRow[] = wanted.map(
    (b) =>
      current.find((c) => c.appId === b.app_id && c.openid === b.openid) ?? {
        contactId: row.id,
        tenantId: caller.tenant.id,
        appId: b.app_id,
        openid: b.openid,
        source: "api",
        createdAt: now,
      },
  );
  await checkOpenidsFree(env, caller.tenant.id, row.id, bindings);
  const clear = db.delete(contactWeChatBindings).where(eq(contactWeChatBindings.contactId, row.id));
  const event = {
    action: "contact.update",
    target: externalId,
    diff: diffOf(
      { ...fields(row), wechat: bindingsDiffed(current) },
      { ...fields(set), wechat: bindingsDiffed(bindings) },
    ),
  };
  await writing(externalId, async () => {
    if (bindings.length === 0) {
      await audited(env, caller, event, [update, clear]);
    } else {
      await audited(env, caller, event, [
        update,
        clear,
        db.insert(contactWeChatBindings).values(bindings),
      ]);
    }
  });
  return getContact(env, caller, externalId);
}

export async function listContacts(
  env: Env,
  caller: Caller,
  request: PageRequest,
): Promise<Page<Contact>> {
  const paging = keyset(contacts.id, request);
  const rows = await database(env.DB)
    .select()
    .from(contacts)
    .where(and(eq(contacts.tenantId, caller.tenant.id), paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  const page = pageOf(rows, request, (row) => row.id);
  const bindings = await bindingsOf(
    env,
    page.data.map((row) => row.id),
  );
  return {
    ...page,
    data: page.data.map((row) => ({ ...row, wechat: bindings.get(row.id) ?? [] })),
  };
}

export async function deleteContact(env: Env, caller: Caller, externalId: string): Promise<void> {
  const db = database(env.DB);
  const row = await findContactRow(env, caller, externalId);
  await audited(
    env,
    caller,
    {
      action: "contact.delete",
      target: externalId,
      diff: diffOf({ name: row.name, phone: row.phone }, {}),
    },
    [
      db.delete(contactWeChatBindings).where(eq(contactWeChatBindings.contactId, row.id)),
      db.delete(contacts).where(eq(contacts.id, row.id)),
    ],
  );
}

export async function unbindWeChat(
  env: Env,
  caller: Caller,
  externalId: string,
  appId: string,
): Promise<void> {
  const row = await findContactRow(env, caller, externalId);
  const db = database(env.DB);
  const binding = and(
    eq(contactWeChatBindings.contactId, row.id),
    eq(contactWeChatBindings.appId, appId),
  );
  const existing = await db.query.contactWeChatBindings.findFirst({ where: binding });
  if (!existing) {
    throw new ApiError("not-found", `Contact ${externalId} has no binding in ${appId}.`);
  }
  await unlessLost(
    audited(
      env,
      caller,
      {
        action: "contact.wechat_unbind",
        target: externalId,
        diff: diffOf({ wechat: bindingsDiffed([existing]) }, { wechat: [] }),
      },
      [db.delete(contactWeChatBindings).where(binding), failUnlessChanged(env)],
    ),
    () => new ApiError("not-found", `Contact ${externalId} has no binding in ${appId}.`),
  );
}

/**
 * Records the openid the person proved through WeChat's OAuth (source `oauth`), replacing the
 * contact's binding in that app. The contact is found by id within the tenant: one deleted since
 * the link was made is a 404.
 */
export async function bindWeChatByOAuth(
  env: Env,
  binding: { tenantId: string; contactId: string; appId: string; openid: string },
  now: number = Date.now(),
  /** `qrcode` when the person scanned a binding QR code (services/wechat/qrcodes). */
  source: "oauth" | "qrcode" = "oauth",
): Promise<void> {
  const db = database(env.DB);
  const contact = await db.query.contacts.findFirst({
    where: and(eq(contacts.id, binding.contactId), eq(contacts.tenantId, binding.tenantId)),
  });
  if (!contact) {
    throw new ApiError("not-found", "The contact this link was made for no longer exists.");
  }
  await checkOpenidsFree(env, contact.tenantId, contact.id, [binding]);
  const row: BindingRow = { ...binding, source, createdAt: now };
  try {
    await db
      .insert(contactWeChatBindings)
      .values(row)
      .onConflictDoUpdate({
        target: [contactWeChatBindings.contactId, contactWeChatBindings.appId],
        set: { openid: row.openid, source: row.source, createdAt: row.createdAt },
      });
  } catch (error) {
    if (brokenUniqueIndex(error) === "openid") {
      throw openidTaken(binding.appId, binding.openid);
    }
    throw error;
  }
}

/** A contact's bindings as an entry's diff names them. */
function bindingsDiffed(bindings: readonly BindingRow[]) {
  return bindings
    .map((b) => ({ app_id: b.appId, openid: b.openid }))
    .sort((a, b) => a.app_id.localeCompare(b.app_id));
}
