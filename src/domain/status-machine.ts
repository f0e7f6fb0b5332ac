/**
 * The message status machine: `scheduled → queued → sending → sent → delivered | undelivered |
 * failed | canceled | expired`, forward only (DESIGN.md, Contracts). `TRANSITIONS` is the one
 * table of the moves a status may make; the status writer (delivery/status-writer.ts) derives the
 * guard of every write from it, so a move the table does not list cannot be written.
 */
import { MESSAGE_STATUSES, type MessageStatus } from "./vocabulary";

/** The statuses a message ends in: none of them moves again. */
export const FINAL_STATUSES = [
  "delivered",
  "undelivered",
  "failed",
  "canceled",
  "expired",
] as const satisfies readonly MessageStatus[];
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/**
 * Every move a message's status may make, and no other. Some skip a step, as what happens to a
 * message can:
 * - a carrier's receipt may come before our record of the send (`queued`/`sending` → delivered or
 *   undelivered; the record then only fills in the send's details);
 * - a message that cannot be sent fails from wherever it waits (the dead-letter consumer), and a
 *   fallback SMS, which waits as `sent` (its WeChat part was sent), fails from `sent`;
 * - a consumer claims a scheduled message straight from `scheduled` once it is due.
 */
export const TRANSITIONS: { readonly [from in MessageStatus]: readonly MessageStatus[] } = {
  scheduled: ["queued", "sending", "failed", "canceled"],
  queued: ["sending", "delivered", "undelivered", "failed", "canceled"],
  sending: ["sent", "delivered", "undelivered", "failed"],
  sent: ["delivered", "undelivered", "failed", "expired"],
  delivered: [],
  undelivered: [],
  failed: [],
  canceled: [],
  expired: [],
};

/** Whether the table lets a message move from `from` to `to` (staying put is not a move). */
export function mayMove(from: MessageStatus, to: MessageStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses from which a message may move to `to`, in the vocabulary's order. */
export function sourcesOf(to: MessageStatus): MessageStatus[] {
  return MESSAGE_STATUSES.filter((from) => mayMove(from, to));
}

export function isFinal(status: MessageStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly MessageStatus[]).includes(status);
}

/**
 * The statuses a write may move from to reach `to`: all the table allows, or the narrower `only`
 * a write asks for (the dead-letter consumer does not fail a message that was sent). Throws when
 * `only` names a move the table does not allow, so a guard can never widen the machine.
 */
export function guardFor(to: MessageStatus, only?: readonly MessageStatus[]): MessageStatus[] {
  const allowed = sourcesOf(to);
  if (only === undefined) {
    return allowed;
  }
  const illegal = only.filter((from) => !allowed.includes(from));
  if (illegal.length > 0) {
    throw new Error(`status machine: no move from ${illegal.join(", ")} to ${to}`);
  }
  return [...only];
}
