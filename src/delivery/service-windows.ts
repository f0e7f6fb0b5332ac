/**
 * Reading a follower's customer-service window (domain/service-windows.ts) from its row in D1:
 * the API takes a slot of an open window for each customer-service message it accepts
 * (services/wechat/messages.ts), and the dispatch consumer checks the window again at send time.
 */
import { SERVICE_WINDOWS } from "../domain/service-windows";

/** A `CASE` over follower row `f`'s window kind, from SERVICE_WINDOWS (constants, not input). */
export function byWindowKind(value: (window: { ms: number; quota: number }) => number): string {
  const cases = Object.entries(SERVICE_WINDOWS).map(
    ([kind, window]) => `WHEN '${kind}' THEN ${value(window)}`,
  );
  return `(CASE f.service_window_kind ${cases.join(" ")} ELSE 0 END)`;
}

/**
 * SQL reading follower row `f` as a window open at `at` (a bound parameter): following, opened
 * since the last unfollow, and not over yet.
 */
export function windowOpenSql(at: string): string {
  return `f.following = 1 AND f.service_window_opened_at IS NOT NULL
    AND f.service_window_opened_at > COALESCE(f.unsubscribed_at, -1)
    AND f.service_window_opened_at + ${byWindowKind((window) => window.ms)} > ${at}`;
}

/**
 * Whether the follower's customer-service window is open at `at`: checked again when the message
 * is sent, since a scheduled or long-retried message may go out after the window closed.
 */
export async function serviceWindowOpen(
  db: D1Database,
  message: { tenantId: string; sender: string; recipient: string },
  at: number,
): Promise<boolean> {
  const row = await db
    .prepare(
      `SELECT 1 AS open FROM wechat_followers AS f
       WHERE f.tenant_id = ?3 AND f.app_id = ?1 AND f.openid = ?2 AND ${windowOpenSql("?4")}`,
    )
    .bind(message.sender, message.recipient, message.tenantId, at)
    .first<{ open: number }>();
  return row !== null;
}
