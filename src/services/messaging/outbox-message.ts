/**
 * The outbox message an accepted request becomes, built in one place for a single SMS, each row of
 * a batch and a WeChat message, so a field added to OutboxMessage is filled for every path.
 * What one request's messages share is read once (`OutboxOrigin`); each message is then one object
 * literal with no copying or spreading, since a batch builds up to 100,000 of them.
 */
import type { Lane, OutboxMessage } from "../../delivery/dispatcher-types";
import type { Mode } from "../../domain/caller";
import type { TemplateKind } from "../../domain/vocabulary";
import type { Composed } from "./compose";

/** What every message of one request shares. */
export interface OutboxOrigin {
  tenantId: string;
  mode: Mode;
  /** The sender id asked for (SMS) or the app that sends (WeChat); null for the default. */
  sender: string | null;
  metadata: Record<string, string> | null;
  idempotencyKey: string | null;
  createdAt: number;
  /** When the messages may go (`scheduledTime`). */
  sendAt: number;
  batchId: string | null;
  /** Our template the text was rendered from; null for a free body or WeChat. */
  template: { id: string; version: number } | null;
  /** Bulk for a batch, whatever its kind; left out, the kind decides (laneOf). */
  lane?: Lane;
}

/** Marketing goes in the bulk lane; everything else (codes, notifications) ahead of it. */
export function laneOf(kind: TemplateKind): Lane {
  return kind === "marketing" ? "bulk" : "transactional";
}

/** An SMS to `to` as `composed` (a single send, or a batch's row). */
export function smsOutboxMessage(
  origin: OutboxOrigin,
  id: string,
  to: string,
  composed: Composed,
): OutboxMessage {
  return {
    id,
    tenantId: origin.tenantId,
    channel: "sms",
    recipient: composed.recipient ?? to,
    sender: origin.sender,
    body: composed.text,
    metadata: origin.metadata,
    mode: origin.mode,
    segments: composed.segments,
    encoding: composed.encoding,
    idempotencyKey: origin.idempotencyKey,
    createdAt: origin.createdAt,
    sendAt: origin.sendAt,
    batchId: origin.batchId,
    templateId: origin.template === null ? null : origin.template.id,
    templateVersion: origin.template === null ? null : origin.template.version,
    templateParams: composed.templateParams,
    payload: null,
    kind: composed.kind,
    costMicros: composed.costMicros,
    currency: composed.currency,
    lane: origin.lane ?? laneOf(composed.kind),
    // Read once here, so that neither the dispatcher's quiet-hours check nor the consumer's
    // routing parses the number again, nor the consumer the text for its signature.
    country: composed.country,
    signName: composed.signName,
  };
}

/** What a WeChat message says, as WeChat's API and our lists will show it. */
export interface WeChatOutboxContent {
  /** The follower's openid. */
  recipient: string;
  /** A readable text of the message for lists and the dashboard. */
  body: string;
  /** WeChat's request body, as JSON text. */
  payload: string;
  /** The tenant's currency (a WeChat message costs nothing in it). */
  currency: string;
}

/** A WeChat message: no segments, no price, no country or signature to carry. */
export function wechatOutboxMessage(
  origin: OutboxOrigin,
  id: string,
  content: WeChatOutboxContent,
): OutboxMessage {
  return {
    id,
    tenantId: origin.tenantId,
    channel: "wechat",
    recipient: content.recipient,
    sender: origin.sender,
    body: content.body,
    metadata: origin.metadata,
    mode: origin.mode,
    // Not SMS: no segments and no per-segment price.
    segments: 0,
    encoding: "UCS-2",
    idempotencyKey: origin.idempotencyKey,
    createdAt: origin.createdAt,
    sendAt: origin.sendAt,
    batchId: origin.batchId,
    templateId: origin.template === null ? null : origin.template.id,
    templateVersion: origin.template === null ? null : origin.template.version,
    templateParams: null,
    payload: content.payload,
    kind: "notification",
    costMicros: 0,
    currency: content.currency,
    lane: origin.lane ?? laneOf("notification"),
  };
}
