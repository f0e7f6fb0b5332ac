/**
 * A contact's WeChat bindings (one openid per app, an openid to one contact per app): the checks
 * a write makes before it, the conflict a lost race is turned into, and reading them by contact.
 */
import { and, eq, inArray } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { contacts, contactWeChatBindings, wechatApps } from "../../db/schema";
import type { Caller } from "../../domain/caller";
import { ApiError, type FieldError } from "../../lib/problem";

export type BindingRow = typeof contactWeChatBindings.$inferSelect;

export interface WeChatBindingInput {
  app_id: string;
  openid: string;
}

/** Each binding names one of the caller's apps, once; an error points at the offending entry. */
export async function checkBindings(
  env: Env,
  caller: Caller,
  bindings: readonly WeChatBindingInput[],
): Promise<void> {
  if (bindings.length === 0) {
    return;
  }
  const owned = await database(env.DB)
    .select({ appId: wechatApps.appId })
    .from(wechatApps)
    .where(
      and(
        eq(wechatApps.tenantId, caller.tenant.id),
        inArray(
          wechatApps.appId,
          bindings.map((b) => b.app_id),
        ),
      ),
    );
  const mine = new Set(owned.map((row) => row.appId));
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  bindings.forEach((binding, index) => {
    const pointer = `/wechat/${index}/app_id`;
    if (!mine.has(binding.app_id)) {
      errors.push({ pointer, detail: `${binding.app_id} is not one of your WeChat apps` });
    } else if (seen.has(binding.app_id)) {
      errors.push({
        pointer,
        detail: `${binding.app_id} is listed twice; a contact has one openid per app`,
      });
    }
    seen.add(binding.app_id);
  });
  if (errors.length > 0) {
    throw new ApiError("unprocessable-entity", "A WeChat binding is not valid.", { errors });
  }
}

/** 409 when an openid is already another of the tenant's contacts' in that app. */
export async function checkOpenidsFree(
  env: Env,
  tenantId: string,
  contactId: string,
  bindings: readonly { appId: string; openid: string }[],
): Promise<void> {
  if (bindings.length === 0) {
    return;
  }
  const taken = await database(env.DB)
    .select()
    .from(contactWeChatBindings)
    .where(
      and(
        eq(contactWeChatBindings.tenantId, tenantId),
        inArray(
          contactWeChatBindings.openid,
          bindings.map((b) => b.openid),
        ),
      ),
    );
  const clash = taken.find(
    (row) =>
      row.contactId !== contactId &&
      bindings.some((b) => b.appId === row.appId && b.openid === row.openid),
  );
  if (clash) {
    throw openidTaken(clash.appId, clash.openid);
  }
}

export function openidTaken(appId: string, openid: string): ApiError {
  return new ApiError(
    "conflict",
    `The openid ${openid} of ${appId} is already bound to another contact; unbind it there first.`,
  );
}

/** The unique index a failed write broke, from D1's message (drizzle wraps it as the cause). */
export function brokenUniqueIndex(error: unknown): "external_id" | "openid" | null {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.message.includes("UNIQUE constraint failed")) {
      return e.message.includes("contact_wechat_bindings") ? "openid" : "external_id";
    }
  }
  return null;
}

/** Each contact's bindings, by app id. */
export async function bindingsOf(
  env: Env,
  contactIds: string[],
): Promise<Map<string, BindingRow[]>> {
  const byContact = new Map<string, BindingRow[]>(contactIds.map((id) => [id, []]));
  if (contactIds.length === 0) {
    return byContact;
  }
  const rows = await database(env.DB)
    .select()
    .from(contactWeChatBindings)
    .where(inArray(contactWeChatBindings.contactId, contactIds))
    .orderBy(contactWeChatBindings.appId);
  for (const row of rows) {
    byContact.get(row.contactId)?.push(row);
  }
  return byContact;
}

export interface AppBinding extends BindingRow {
  /** The contact's own id (`external_id`), as the tenant knows it. */
  externalId: string;
}

/** One app's bindings, in openid order, with each contact's external id (the dashboard's list). */
export async function listAppBindings(
  env: Env,
  caller: Caller,
  appId: string,
  request: PageRequest,
): Promise<Page<AppBinding>> {
  const paging = keyset(contactWeChatBindings.openid, request, "ascending");
  const rows = await database(env.DB)
    .select({ binding: contactWeChatBindings, externalId: contacts.externalId })
    .from(contactWeChatBindings)
    .innerJoin(contacts, eq(contacts.id, contactWeChatBindings.contactId))
    .where(
      and(
        eq(contactWeChatBindings.tenantId, caller.tenant.id),
        eq(contactWeChatBindings.appId, appId),
        paging.after,
      ),
    )
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(
    rows.map((r) => ({ ...r.binding, externalId: r.externalId })),
    request,
    (row) => row.openid,
  );
}

/** The openid the tenant's contact `externalId` is bound to in `appId`, if it is bound there. */
export async function boundOpenid(
  env: Env,
  caller: Caller,
  externalId: string,
  appId: string,
): Promise<string | undefined> {
  const [binding] = await database(env.DB)
    .select({ openid: contactWeChatBindings.openid })
    .from(contactWeChatBindings)
    .innerJoin(contacts, eq(contacts.id, contactWeChatBindings.contactId))
    .where(
      and(
        eq(contacts.tenantId, caller.tenant.id),
        eq(contacts.externalId, externalId),
        eq(contactWeChatBindings.appId, appId),
      ),
    )
    .limit(1);
  return binding?.openid;
}
