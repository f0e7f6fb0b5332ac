/**
 * WeChat's calls to our webhook `/wechat/{app_id}`: the URL check (GET) and every message and
 * event (POST). A delivery is authenticated (signature, and msg_signature when encrypted), fresh
 * (±5 minutes), decrypted and checked for our app id, parsed safely, recorded exactly once by the
 * account's Durable Object (which refuses a signature that came before with another message:
 * `signature` does not cover the body), and answered at once: a passive reply when an auto-reply
 * rule matches, else `success`. A refused request changes nothing. What a delivery triggers (its
 * inbox row, the follower it changes, a template message's result) is committed with its dedup
 * record and carried out by the account's object (durable-objects/wechat-account/inbound-copy.ts), never
 * here after the record, where a failure would be lost to the deduplication of WeChat's retries.
 */
import { decryptMessage, encryptReply } from "../../channels/wechat/crypto";
import {
  dedupKeyOf,
  inboundOf,
  newsArticleLimitOf,
  type Inbound as WeChatInbound,
} from "../../channels/wechat/messages";
import { buildReplyXml, type PassiveReply } from "../../channels/wechat/reply-xml";
import {
  isFresh,
  verifyMessageSignature,
  verifyWeChatSignature,
} from "../../channels/wechat/signature";
import { MAX_BODY_BYTES, parseWeChatXml } from "../../channels/wechat/xml";
import { type InboxRowValues, wechatAccountOf } from "../../delivery/wechat-account";
import { chooseReply, type Inbound } from "../../domain/auto-replies";
import { scanOf } from "../../domain/wechat-qrcodes";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { replyClock } from "../inbound/reply-clock";
import { previousAesKey, type ReadyWeChatApp, readyWeChatApp } from "./apps";
import { wechatRules } from "./auto-replies";
import { deskAnswerOf } from "./desk-delivery";
import { carryOutScan, qrCodeOfScene } from "./qrcodes";
import { answerQuery, type DeliveryIO, defaultDeliveryIO } from "./webhook-actions";

export interface WebhookQuery {
  signature?: string;
  timestamp?: string;
  nonce?: string;
  echostr?: string;
  encrypt_type?: string;
  msg_signature?: string;
}

async function authenticated(
  env: Env,
  appId: string,
  query: WebhookQuery,
  now: number,
): Promise<{ app: ReadyWeChatApp; timestamp: string; nonce: string }> {
  const app = await readyWeChatApp(env, appId, now);
  if (!app) {
    throw new ApiError("not-found", `No WeChat app ${appId}.`);
  }
  const { signature, timestamp, nonce } = query;
  if (!signature || !timestamp || !nonce) {
    throw new ApiError("validation-error", "signature, timestamp and nonce are required.");
  }
  if (!isFresh(timestamp, now)) {
    throw new ApiError("forbidden", "The timestamp is more than 5 minutes off.");
  }
  if (!(await verifyWeChatSignature(app.secrets.token, timestamp, nonce, signature))) {
    throw new ApiError("forbidden", "The signature does not verify.");
  }
  return { app, timestamp, nonce };
}

/** GET: WeChat checks the URL; the answer is `echostr`, as text. */
export async function verifyUrl(
  env: Env,
  appId: string,
  query: WebhookQuery,
  now: number = Date.now(),
): Promise<string> {
  await authenticated(env, appId, query, now);
  if (!query.echostr) {
    throw new ApiError("validation-error", "echostr is required.");
  }
  return query.echostr;
}

function refused(detail: string, tooLarge = false): ApiError {
  return tooLarge
    ? new ApiError("payload-too-large", detail)
    : new ApiError("validation-error", detail);
}

/**
 * The delivery's fields, decrypted when it comes encrypted (safe and compatible mode), and the
 * message they were read from: the body, or the XML inside an encrypted one (WeChat's retry of a
 * push is the same message, whether or not it is encrypted afresh).
 */
async function fieldsOf(
  app: ReadyWeChatApp,
  query: WebhookQuery,
  timestamp: string,
  nonce: string,
  body: string,
  now: number,
): Promise<{
  fields: Record<string, string>;
  encrypted: boolean;
  message: string;
  aesKey: string;
}> {
  if (new TextEncoder().encode(body).length > MAX_BODY_BYTES) {
    throw refused("The body is over 64 KB.", true);
  }
  const outer = parseWeChatXml(body);
  if (!outer.ok) {
    throw refused(
      `The body is not a WeChat message: ${outer.error.detail}`,
      outer.error.code === "too-large",
    );
  }
  const encrypted = query.encrypt_type === "aes";
  if (!encrypted) {
    if (app.row.mode === "safe") {
      throw new ApiError(
        "forbidden",
        "This account is in safe mode: deliveries must be encrypted.",
      );
    }
    return { fields: outer.fields, encrypted, message: body, aesKey: app.secrets.encoding_aes_key };
  }
  const encrypt = outer.fields.Encrypt;
  if (!encrypt || !query.msg_signature) {
    throw refused("An encrypted delivery needs Encrypt and msg_signature.");
  }
  if (
    !(await verifyMessageSignature(
      app.secrets.token,
      timestamp,
      nonce,
      encrypt,
      query.msg_signature,
    ))
  ) {
    throw new ApiError("forbidden", "The msg_signature does not verify.");
  }
  let aesKey = app.secrets.encoding_aes_key;
  let decrypted = await decryptMessage(aesKey, encrypt, app.row.appId);
  // During a key change WeChat may still encrypt with the key before (its advice: keep trying the
  // previous EncodingAESKey for a while); the reply is then sealed with the key that opened it.
  const previous = previousAesKey(app.secrets, now);
  if (!decrypted.ok && previous) {
    const retried = await decryptMessage(previous, encrypt, app.row.appId);
    if (retried.ok) {
      decrypted = retried;
      aesKey = previous;
    }
  }
  if (!decrypted.ok) {
    throw decrypted.error.code === "app-id-mismatch"
      ? new ApiError("forbidden", "The message is for another account.")
      : refused(`The message does not decrypt: ${decrypted.error.detail}`);
  }
  const inner = parseWeChatXml(decrypted.xml);
  if (!inner.ok) {
    throw refused(`The decrypted message is not WeChat XML: ${inner.error.detail}`);
  }
  return { fields: inner.fields, encrypted, message: decrypted.xml, aesKey };
}

/** How the auto-reply rules see a delivery. */
function ruleInput(inbound: WeChatInbound): Inbound {
  if (inbound.kind === "event") {
    return inbound.event === "subscribe" ? { kind: "subscribe" } : { kind: "event" };
  }
  return inbound.msgType === "text" ? { kind: "text", text: inbound.content } : { kind: "message" };
}

function passiveReply(
  reply: Record<string, unknown>,
  fields: Record<string, string>,
  inbound: WeChatInbound,
  now: number,
): PassiveReply | null {
  const head = {
    toUser: fields.FromUserName ?? "",
    fromUser: fields.ToUserName ?? "",
    createTime: Math.floor(now / 1000),
  };
  if (reply.type === "text" && typeof reply.content === "string") {
    return { ...head, type: "text", content: reply.content };
  }
  if (reply.type === "news" && Array.isArray(reply.articles)) {
    // WeChat takes one article in a reply to a user's message, up to eight in one to an event.
    const limit = newsArticleLimitOf(inbound);
    const articles = (reply.articles as Record<string, string | undefined>[])
      .slice(0, limit)
      .map((a) => ({
        title: a.title ?? "",
        description: a.description ?? "",
        url: a.url ?? "",
        pic_url: a.pic_url ?? "",
      }));
    return { ...head, type: "news", articles };
  }
  return null;
}

/** POST: one delivery; the answer's content type and body. */
export async function receiveDelivery(
  env: Env,
  appId: string,
  query: WebhookQuery,
  body: string,
  now: number = Date.now(),
  io: DeliveryIO = defaultDeliveryIO(),
): Promise<{ contentType: string; body: string }> {
  const startedAt = io.clock();
  const { app, timestamp, nonce } = await authenticated(env, appId, query, now);
  const { fields, encrypted, message, aesKey } = await fieldsOf(
    app,
    query,
    timestamp,
    nonce,
    body,
    now,
  );
  const inbound = inboundOf(fields);
  if (!inbound.ok) {
    throw refused(`The message is incomplete: ${inbound.error.detail}`);
  }
  const rules = await wechatRules(env, app.row.tenantId, appId, now);
  const clock = await replyClock(env, app.row.tenantId, rules, now);
  const rule = chooseReply(rules, ruleInput(inbound.inbound), clock);
  const scan = scanOf(fields.MsgType ?? "", fields.Event ?? null, fields.EventKey ?? null);
  const code = scan ? await qrCodeOfScene(env, app.row.tenantId, appId, scan.sceneStr) : undefined;
  // A code's auto-reply answers its scan in the place of the rules' (a follow's welcome).
  const chosen =
    code?.action?.type === "auto_reply" && typeof code.action.reply === "object"
      ? (code.action.reply as Record<string, unknown>)
      : rule?.reply.type === "query"
        ? // The rule's id goes with a query, for its record (services/webhooks/query-log.ts).
          { ...rule.reply, rule_id: rule.id }
        : (rule?.reply ?? null);
  const row: InboxRowValues = {
    id: newId("wxm", now),
    tenantId: app.row.tenantId,
    appId,
    dedupKey: dedupKeyOf(fields),
    msgType: fields.MsgType ?? "",
    event: fields.Event ?? null,
    eventKey: fields.EventKey ?? null,
    fromUser: fields.FromUserName ?? "",
    toUser: fields.ToUserName ?? "",
    createTime: Number(fields.CreateTime ?? 0),
    fields,
    reply: chosen,
    receivedAt: now,
  };
  // A retry gets the reply its first delivery got, even if the rules changed in between.
  const recorded = await wechatAccountOf(env, appId).receive(
    row,
    chosen ? JSON.stringify(chosen) : null,
    { timestamp: Number(timestamp), nonce, messageSha256: await sha256Hex(message) },
  );
  if ("refused" in recorded) {
    throw new ApiError(
      "forbidden",
      "This signature was already used for another message: WeChat signs each push afresh.",
    );
  }
  if (scan) {
    // Again on WeChat's retry of the delivery: every action is idempotent (qrcodes.ts), and the
    // first attempt may have failed before it was carried out.
    const openid = row.fromUser;
    await carryOutScan(
      env,
      { ...scan, tenantId: app.row.tenantId, appId, openid, deliveryKey: row.dedupKey },
      code,
      io.wechat,
      now,
    );
  }
  let answer: Record<string, unknown> | null = recorded.reply ? JSON.parse(recorded.reply) : null;
  if (answer?.type === "query") {
    // The first delivery asks; WeChat's retry of it (seldom: it is answered within 4.5 s) is not
    // answered twice.
    answer =
      recorded.duplicate || typeof answer.endpoint_id !== "string"
        ? null
        : await answerQuery(
            env,
            row,
            fields.Content ?? "",
            {
              endpointId: answer.endpoint_id,
              ruleId: typeof answer.rule_id === "string" ? answer.rule_id : null,
            },
            io,
            startedAt,
          );
  }
  if (!recorded.duplicate) {
    const desk = await deskAnswerOf(env, row, answer !== null);
    if (desk.kind === "quiet") {
      answer = null;
    } else if (desk.kind === "answer") {
      answer = { type: "text", content: desk.content };
    }
  }
  const reply = answer ? passiveReply(answer, fields, inbound.inbound, now) : null;
  if (!reply) {
    return { contentType: "text/plain; charset=utf-8", body: "success" };
  }
  const xml = buildReplyXml(reply);
  if (!encrypted) {
    return { contentType: "application/xml; charset=utf-8", body: xml };
  }
  const sealed = await encryptReply({
    token: app.secrets.token,
    encodingAesKey: aesKey,
    appId,
    xml,
    timestamp: String(Math.floor(now / 1000)),
    nonce,
  });
  if (!sealed.ok) {
    throw new Error(`reply not encrypted: ${sealed.error.detail}`);
  }
  return { contentType: "application/xml; charset=utf-8", body: sealed.body };
}
