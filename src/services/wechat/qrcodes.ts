/**
 * QR codes with scenes, made at WeChat (`/cgi-bin/qrcode/create`) for an app of the tenant, and
 * what a scan of one does. A code that binds a contact carries a random single-use token as its
 * scene (the tenant's scene stays here), so a scene read off a poster binds no one; the others
 * carry the tenant's scene as it is. Creating a code is audited (`wechat_qrcode.create`). A scan
 * (services/wechat/webhook-actions.ts) is carried out again when WeChat retries the delivery, so
 * every action is idempotent: a token spent by an openid stays spent by it, tagging twice is
 * tagging once, and `wechat.scan`'s id comes from the delivery.
 */
import { and, desc, eq, isNull, or } from "drizzle-orm";
import { database } from "../../db/client";
import { contacts, wechatQrCodes } from "../../db/schema";
import { emitEvents } from "../../delivery/webhook-events";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import {
  bindingToken,
  MAX_EXPIRE_SECONDS,
  type QrAction,
  qrCodeRequest,
  qrImageUrl,
} from "../../domain/wechat-qrcodes";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { bindWeChatByOAuth } from "../contacts/contacts";
import { getWeChatApp } from "./apps";
import { callWeChat, type WeChatClientIO, wechatProblem } from "./client";
import { ADD_TAG } from "./followers";

export type QrCodeRow = typeof wechatQrCodes.$inferSelect;

export interface QrCodeInput {
  scene: string;
  temporary: boolean;
  expire_seconds?: number;
  action?: QrAction;
}

function unprocessable(pointer: string, detail: string): ApiError {
  return new ApiError("unprocessable-entity", detail, {
    errors: [{ pointer, detail }],
  });
}

/** WeChat's limits, checked before it is called. */
function checkInput(input: QrCodeInput): void {
  if (!input.temporary && input.expire_seconds !== undefined) {
    throw unprocessable("/expire_seconds", "a permanent code does not expire");
  }
  if (input.expire_seconds !== undefined && input.expire_seconds > MAX_EXPIRE_SECONDS) {
    throw unprocessable("/expire_seconds", `at most ${MAX_EXPIRE_SECONDS} (30 days)`);
  }
}

/** Makes the code at WeChat and keeps what a scan of it does. */
export async function createQrCode(
  env: Env,
  caller: Caller,
  appId: string,
  input: QrCodeInput,
  io?: WeChatClientIO,
  now: number = Date.now(),
): Promise<QrCodeRow & { imageUrl: string }> {
  await getWeChatApp(env, caller, appId);
  checkInput(input);
  const action = input.action ?? null;
  if (action?.type === "bind_contact") {
    const contact = await database(env.DB)
      .select({ id: contacts.id })
      .from(contacts)
      .where(
        and(eq(contacts.tenantId, caller.tenant.id), eq(contacts.externalId, action.external_id)),
      )
      .get();
    if (!contact) {
      throw unprocessable(
        "/action/external_id",
        `no contact with external id ${action.external_id}`,
      );
    }
  }
  const singleUse = action?.type === "bind_contact";
  const sceneStr = singleUse
    ? bindingToken(crypto.getRandomValues(new Uint8Array(16)))
    : input.scene;
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/qrcode/create",
    {
      method: "POST",
      body: qrCodeRequest(sceneStr, input.temporary, input.expire_seconds),
    },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "create the QR code");
  }
  const ticket = typeof answer.value.ticket === "string" ? answer.value.ticket : "";
  if (ticket === "") {
    throw new ApiError("provider-unavailable", "WeChat's answer has no ticket; try again.");
  }
  const expiresIn = Number(answer.value.expire_seconds);
  const row: QrCodeRow = {
    id: newId("qr", now),
    tenantId: caller.tenant.id,
    appId,
    scene: input.scene,
    sceneStr,
    temporary: input.temporary,
    action,
    singleUse,
    ticket,
    url: typeof answer.value.url === "string" ? answer.value.url : "",
    expiresAt: input.temporary && expiresIn > 0 ? now + expiresIn * 1000 : null,
    usedBy: null,
    usedAt: null,
    createdAt: now,
  };
  await audited(
    env,
    caller,
    {
      action: "wechat_qrcode.create",
      target: row.id,
      diff: diffOf(
        {},
        {
          app_id: appId,
          scene: row.scene,
          temporary: row.temporary,
          action: row.action,
        },
      ),
    },
    [database(env.DB).insert(wechatQrCodes).values(row)],
  );
  return { ...row, imageUrl: qrImageUrl(ticket) };
}

/** The app's codes, newest first (at most `limit`). */
export async function listQrCodes(
  env: Env,
  caller: Caller,
  appId: string,
  limit: number,
): Promise<QrCodeRow[]> {
  await getWeChatApp(env, caller, appId);
  return database(env.DB)
    .select()
    .from(wechatQrCodes)
    .where(and(eq(wechatQrCodes.tenantId, caller.tenant.id), eq(wechatQrCodes.appId, appId)))
    .orderBy(desc(wechatQrCodes.id))
    .limit(limit);
}

/** The code a scan names (the newest with that scene), or undefined. */
export async function qrCodeOfScene(
  env: Env,
  tenantId: string,
  appId: string,
  sceneStr: string,
): Promise<QrCodeRow | undefined> {
  return database(env.DB)
    .select()
    .from(wechatQrCodes)
    .where(
      and(
        eq(wechatQrCodes.tenantId, tenantId),
        eq(wechatQrCodes.appId, appId),
        eq(wechatQrCodes.sceneStr, sceneStr),
      ),
    )
    .orderBy(desc(wechatQrCodes.id))
    .get();
}

export type ScanResult =
  | { type: "none" }
  | { type: "bind_contact"; status: "bound"; external_id: string }
  | { type: "tag"; status: "tagged"; tag_id: number }
  | { type: "auto_reply"; status: "replied" }
  | {
      type: QrAction["type"];
      status: "already_used" | "expired" | "failed";
      reason: string;
    };

/**
 * Carries out a scan of `code` by `openid` and emits `wechat.scan` (`deliveryKey` makes its id,
 * so WeChat's retry of the delivery emits nothing twice). Never throws for a refused action:
 * the result says what happened.
 */
export async function carryOutScan(
  env: Env,
  scan: {
    tenantId: string;
    appId: string;
    openid: string;
    event: "scan" | "subscribe";
    sceneStr: string;
    deliveryKey: string;
  },
  code: QrCodeRow | undefined,
  io: WeChatClientIO | undefined,
  now: number,
): Promise<ScanResult> {
  const result = code ? await actOn(env, scan, code, io, now) : ({ type: "none" } as const);
  await emitEvents(
    env,
    [
      {
        type: "wechat.scan",
        tenantId: scan.tenantId,
        messageId: `${scan.tenantId}:${scan.appId}:${scan.deliveryKey}`,
        occurredAt: now,
        data: scanEventData(scan, code, result),
      },
    ],
    now,
  );
  return result;
}

/** The `data` of a `wechat.scan` event (webhook-doc.ts: WeChatScanEventData). */
export function scanEventData(
  scan: { appId: string; openid: string; event: "scan" | "subscribe"; sceneStr: string },
  code: Pick<QrCodeRow, "id" | "scene"> | undefined,
  result: ScanResult,
) {
  return {
    app_id: scan.appId,
    openid: scan.openid,
    scene: code?.scene ?? scan.sceneStr,
    qrcode_id: code?.id ?? null,
    event: scan.event,
    action_result: result,
  };
}

async function actOn(
  env: Env,
  scan: { tenantId: string; appId: string; openid: string },
  code: QrCodeRow,
  io: WeChatClientIO | undefined,
  now: number,
): Promise<ScanResult> {
  const action = code.action as QrAction | null;
  if (!action) {
    return { type: "none" };
  }
  const refused = (status: "already_used" | "expired" | "failed", reason: string): ScanResult => ({
    type: action.type,
    status,
    reason,
  });
  if (action.type === "auto_reply") {
    // The reply went back with the webhook's answer.
    return { type: "auto_reply", status: "replied" };
  }
  if (action.type === "tag") {
    const answer = await callWeChat(
      env,
      scan.appId,
      "/cgi-bin/tags/members/batchtagging",
      {
        method: "POST",
        body: { openid_list: [scan.openid], tagid: action.tag_id },
      },
      io,
    );
    if (!answer.ok) {
      const { errcode, errmsg, message } = answer.error;
      return refused(
        "failed",
        errcode === undefined ? message : `WeChat errcode ${errcode} (${errmsg ?? ""})`,
      );
    }
    await env.DB.prepare(ADD_TAG)
      .bind(now, action.tag_id, scan.appId, JSON.stringify([scan.openid]), scan.tenantId)
      .run();
    return { type: "tag", status: "tagged", tag_id: action.tag_id };
  }
  return bindContact(env, scan, code, action.external_id, now);
}

/**
 * Spends the code's token for `openid` (or finds it spent by the same openid: WeChat's retry)
 * and binds the contact; a failed binding gives the token back.
 */
async function bindContact(
  env: Env,
  scan: { tenantId: string; appId: string; openid: string },
  code: QrCodeRow,
  externalId: string,
  now: number,
): Promise<ScanResult> {
  const refused = (status: "already_used" | "expired" | "failed", reason: string): ScanResult => ({
    type: "bind_contact",
    status,
    reason,
  });
  if (code.expiresAt !== null && code.expiresAt <= now && code.usedBy !== scan.openid) {
    return refused("expired", "the code has expired");
  }
  const db = database(env.DB);
  const mine = and(eq(wechatQrCodes.id, code.id), eq(wechatQrCodes.tenantId, scan.tenantId));
  const [claimed] = await db
    .update(wechatQrCodes)
    .set({ usedBy: scan.openid, usedAt: now })
    .where(and(mine, or(isNull(wechatQrCodes.usedBy), eq(wechatQrCodes.usedBy, scan.openid))))
    .returning({ id: wechatQrCodes.id });
  if (!claimed) {
    return refused("already_used", "the code was used by another follower");
  }
  const contact = await db
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(eq(contacts.tenantId, scan.tenantId), eq(contacts.externalId, externalId)))
    .get();
  try {
    if (!contact) {
      throw new ApiError("not-found", `the contact ${externalId} no longer exists`);
    }
    await bindWeChatByOAuth(
      env,
      {
        tenantId: scan.tenantId,
        contactId: contact.id,
        appId: scan.appId,
        openid: scan.openid,
      },
      now,
      "qrcode",
    );
  } catch (error) {
    if (!(error instanceof ApiError)) {
      throw error;
    }
    await db
      .update(wechatQrCodes)
      .set({ usedBy: null, usedAt: null })
      .where(and(mine, eq(wechatQrCodes.usedBy, scan.openid)));
    return refused("failed", error.message);
  }
  return { type: "bind_contact", status: "bound", external_id: externalId };
}
