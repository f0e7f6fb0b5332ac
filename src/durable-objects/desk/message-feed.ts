/**
 * The desk object's second feed: the message list and overview pages' sockets (tagged
 * `messages`), told `{type: "messages.changed", count}` at most once per window
 * (domain/live-updates). The coalescing state lives in the object's `desk_meta`, so an alarm
 * after an eviction still finds it; every function here is synchronous.
 */
import { type LiveChanges, NO_CHANGES } from "../../domain/live-updates";

/** The tag of the message pages' sockets (the desk's own sockets carry `DESK_FEED`). */
export const MESSAGES_FEED = "messages";
export const DESK_FEED = "desk";

const KEYS = {
  count: "live_count",
  flushAt: "live_flush_at",
  dirtyUntil: "live_dirty_until",
  lastBroadcastAt: "live_last_broadcast_at",
} as const;

export function readLiveChanges(sql: SqlStorage): LiveChanges {
  const rows = sql
    .exec<{ key: string; value: number }>(
      "SELECT key, value FROM desk_meta WHERE key IN (?, ?, ?, ?)",
      KEYS.count,
      KEYS.flushAt,
      KEYS.dirtyUntil,
      KEYS.lastBroadcastAt,
    )
    .toArray();
  const value = (key: string) => rows.find((r) => r.key === key)?.value;
  return {
    count: value(KEYS.count) ?? NO_CHANGES.count,
    // A negative flush time stands for none (desk_meta's values are NOT NULL).
    flushAt: (value(KEYS.flushAt) ?? -1) < 0 ? null : (value(KEYS.flushAt) ?? null),
    dirtyUntil: value(KEYS.dirtyUntil) ?? NO_CHANGES.dirtyUntil,
    lastBroadcastAt: value(KEYS.lastBroadcastAt) ?? NO_CHANGES.lastBroadcastAt,
  };
}

export function writeLiveChanges(sql: SqlStorage, state: LiveChanges): void {
  const pairs: [string, number][] = [
    [KEYS.count, state.count],
    [KEYS.flushAt, state.flushAt ?? -1],
    [KEYS.dirtyUntil, state.dirtyUntil],
    [KEYS.lastBroadcastAt, state.lastBroadcastAt],
  ];
  for (const [key, value] of pairs) {
    sql.exec(
      `INSERT INTO desk_meta (key, value) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      key,
      value,
    );
  }
}

/** Sends one `messages.changed` to every message page's socket. */
export function broadcastChanged(sockets: readonly WebSocket[], count: number, at: number): void {
  const event = JSON.stringify({
    type: "messages.changed",
    count,
    at: new Date(at).toISOString(),
  });
  for (const socket of sockets) {
    try {
      socket.send(event);
    } catch {
      // A socket closing as we send: its page reloads the list when it reconnects.
    }
  }
}
