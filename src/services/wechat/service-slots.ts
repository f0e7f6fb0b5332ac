/**
 * A follower's customer-service window, as slots: WeChat takes a few customer-service messages in
 * the window a follower's interaction opens (SERVICE_WINDOWS), and each accepted request takes one
 * slot of it in D1 before it reaches the dispatcher, so back-to-back requests never go past the
 * quota; a request that does not become a new message gives its slot back.
 */
import { byWindowKind, windowOpenSql } from "../../delivery/service-windows";
import { type InteractionKind, SERVICE_WINDOWS } from "../../domain/service-windows";

const QUOTA_SQL = byWindowKind((window) => window.quota);

const INTERACTION_NAMES: Readonly<Record<InteractionKind, string>> = {
  message: "message",
  menu: "menu click",
  subscribe: "follow",
  scan: "QR scan",
};

/** One request's place in its follower's customer-service window. */
export interface ServiceSlot {
  tenantId: string;
  appId: string;
  openid: string;
  /** One per accepted request: an idempotent retry finds the slot its first try took. */
  key: string;
  messageId: string;
}

/**
 * Takes one of the follower's customer-service slots in the open window, or says why there is
 * none. The count and the insert are one statement, which D1 runs alone, so back-to-back requests
 * can never take more than the window's quota (counting the send log instead would miss messages
 * the dispatcher has accepted but not logged yet).
 */
export async function reserveServiceSlot(
  db: D1Database,
  slot: ServiceSlot,
  now: number,
): Promise<{ ok: true } | { ok: false; detail: string }> {
  const [, , taken, window] = await db.batch<{
    message_id?: string;
    kind?: InteractionKind | null;
    open?: number | null;
  }>([
    // Slots of windows the follower has since replaced count for nothing any more.
    db
      .prepare(
        `DELETE FROM wechat_service_reservations
         WHERE tenant_id = ?3 AND app_id = ?1 AND openid = ?2
           AND window_opened_at < COALESCE((SELECT service_window_opened_at FROM wechat_followers
             WHERE tenant_id = ?3 AND app_id = ?1 AND openid = ?2), 0)`,
      )
      .bind(slot.appId, slot.openid, slot.tenantId),
    db
      .prepare(
        `INSERT OR IGNORE INTO wechat_service_reservations
           (reservation_key, tenant_id, app_id, openid, window_opened_at, message_id, reserved_at)
         SELECT ?1, f.tenant_id, f.app_id, f.openid, f.service_window_opened_at, ?2, ?3
         FROM wechat_followers AS f
         WHERE f.tenant_id = ?6 AND f.app_id = ?4 AND f.openid = ?5 AND ${windowOpenSql("?3")}
           AND (SELECT count(*) FROM wechat_service_reservations AS r
                WHERE r.tenant_id = f.tenant_id AND r.app_id = f.app_id AND r.openid = f.openid
                  AND r.window_opened_at = f.service_window_opened_at) < ${QUOTA_SQL}`,
      )
      .bind(slot.key, slot.messageId, now, slot.appId, slot.openid, slot.tenantId),
    db
      .prepare(
        `SELECT message_id FROM wechat_service_reservations
         WHERE reservation_key = ? AND tenant_id = ?`,
      )
      .bind(slot.key, slot.tenantId),
    db
      .prepare(
        `SELECT f.service_window_kind AS kind, (${windowOpenSql("?3")}) AS open
         FROM wechat_followers AS f WHERE f.tenant_id = ?4 AND f.app_id = ?1 AND f.openid = ?2`,
      )
      .bind(slot.appId, slot.openid, now, slot.tenantId),
  ]);
  if (taken?.results[0]) {
    return { ok: true };
  }
  // Not taken: the follower's window, read in the same transaction, says why.
  const follower = window?.results[0];
  if (!follower?.open || !follower.kind) {
    return {
      ok: false,
      detail:
        "Outside the customer-service window: a customer-service message can go only within 48 hours of the follower's last message, or within 1 minute of a menu click, follow or scan. Send a template message instead.",
    };
  }
  const { quota } = SERVICE_WINDOWS[follower.kind];
  return {
    ok: false,
    detail: `WeChat takes ${quota} customer-service messages in the window a ${INTERACTION_NAMES[follower.kind]} opens; this follower's are used until they interact again.`,
  };
}

/** Gives a slot back when its request did not become a message (refused, or a replay). */
export async function releaseServiceSlot(db: D1Database, slot: ServiceSlot): Promise<void> {
  await db
    .prepare(
      `DELETE FROM wechat_service_reservations
       WHERE reservation_key = ? AND tenant_id = ? AND message_id = ?`,
    )
    .bind(slot.key, slot.tenantId, slot.messageId)
    .run();
}
