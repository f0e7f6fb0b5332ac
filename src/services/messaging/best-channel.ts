/**
 * One call for the best channel (`channel: "auto"`): a contact bound in the WeChat account and
 * following it gets the WeChat part, with the SMS part composed and kept as its fallback (used
 * when WeChat refuses the send, gives up after retries, or ends it undelivered); anyone else,
 * and a customer-service part the follower's window does not allow, gets the SMS part at once.
 * Either way it is one message id, and every attempt on either channel shows on it.
 */
import { and, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { contacts, contactWeChatBindings, wechatFollowers } from "../../db/schema";
import type { AcceptedMessage } from "../../delivery/dispatcher-types";
import type { Caller } from "../../domain/caller";
import type { SmsFallback } from "../../domain/wechat-payload";
import { ApiError } from "../../lib/problem";
import { withCurrentSettings } from "../accounts/tenants";
import { loadScreener } from "../content/sensitive-words";
import {
  acceptWithinWindow,
  refuseWeChatOutsideSandbox,
  type WeChatContent,
} from "../wechat/messages";
import { composeMessage } from "./compose";
import { acceptMessage, type ContentInput, loadContent, refusal } from "./messages";

export interface AutoSendInput {
  contact: string;
  app_id: string;
  wechat: WeChatContent;
  sms: ContentInput & { smart_encoding?: boolean };
  metadata?: Record<string, string>;
  send_at?: string;
}

export function acceptAutoMessage(
  env: Env,
  caller: Caller,
  input: AutoSendInput,
  idempotencyKey: string | undefined,
  now: number = Date.now(),
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  // The SMS part (or the WeChat part's SMS fallback) is signed with the tenant's settings.
  return withCurrentSettings(env, caller, (current) =>
    acceptByBestChannel(env, current, input, idempotencyKey, now),
  );
}

async function acceptByBestChannel(
  env: Env,
  caller: Caller,
  input: AutoSendInput,
  idempotencyKey: string | undefined,
  now: number,
): Promise<{ replayed: boolean; message: AcceptedMessage }> {
  // Whichever channel the contact's state picks, a test key's request is refused alike.
  await refuseWeChatOutsideSandbox(env, caller, input.app_id);
  const db = database(env.DB);
  const contact = await db.query.contacts.findFirst({
    where: and(eq(contacts.tenantId, caller.tenant.id), eq(contacts.externalId, input.contact)),
  });
  if (!contact) {
    throw new ApiError("unprocessable-entity", `No contact ${input.contact}.`, {
      errors: [{ pointer: "/contact", detail: "not one of this account's contacts" }],
    });
  }
  const [bound] = await db
    .select({ openid: contactWeChatBindings.openid, following: wechatFollowers.following })
    .from(contactWeChatBindings)
    .leftJoin(
      wechatFollowers,
      and(
        eq(wechatFollowers.tenantId, contactWeChatBindings.tenantId),
        eq(wechatFollowers.appId, contactWeChatBindings.appId),
        eq(wechatFollowers.openid, contactWeChatBindings.openid),
      ),
    )
    .where(
      and(
        eq(contactWeChatBindings.tenantId, contact.tenantId),
        eq(contactWeChatBindings.contactId, contact.id),
        eq(contactWeChatBindings.appId, input.app_id),
      ),
    )
    .limit(1);
  const smsInput = { ...input.sms, metadata: input.metadata, send_at: input.send_at };
  if (!bound?.following) {
    if (!contact.phone) {
      throw new ApiError(
        "unprocessable-entity",
        "The contact follows no WeChat account here and has no phone.",
        {
          errors: [
            { pointer: "/contact", detail: "neither a following WeChat binding nor a phone" },
          ],
        },
      );
    }
    return acceptMessage(env, caller, { ...smsInput, to: contact.phone }, idempotencyKey, now);
  }
  let fallback: SmsFallback | null = null;
  if (contact.phone) {
    const [content, screen] = await Promise.all([
      loadContent(env, caller, input.sms),
      loadScreener(env, caller.tenant.id),
    ]);
    const composed = composeMessage(caller.tenant, screen, contact.phone, content, {
      smartEncoding: input.sms.smart_encoding ?? false,
      pointer: "/sms",
    });
    if (!composed.ok) {
      throw refusal(composed.errors, composed.hits);
    }
    const v = composed.value;
    fallback = {
      recipient: v.recipient ?? contact.phone,
      body: v.text,
      segments: v.segments,
      encoding: v.encoding,
      costMicros: v.costMicros,
      templateId: "template" in content ? content.template.id : null,
      templateVersion: "template" in content ? content.template.version : null,
      templateParams: v.templateParams,
    };
  }
  const wechat = await acceptWithinWindow(
    env,
    caller,
    {
      app_id: input.app_id,
      openid: bound.openid,
      wechat: input.wechat,
      metadata: input.metadata,
      send_at: input.send_at,
    },
    idempotencyKey,
    now,
    fallback,
  );
  if (wechat.ok) {
    return wechat.accepted;
  }
  // A customer-service part the follower's window does not allow now: "auto" means the best
  // channel that can take the message, so the SMS part goes instead of a refusal.
  if (!contact.phone) {
    throw new ApiError("unprocessable-entity", wechat.detail, {
      errors: [{ pointer: "/wechat/type", detail: wechat.detail }],
    });
  }
  return acceptMessage(env, caller, { ...smsInput, to: contact.phone }, idempotencyKey, now);
}
