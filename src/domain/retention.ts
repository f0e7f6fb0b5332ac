/**
 * A tenant's `retention` (issue 17): how long the send log keeps message bodies, how long it keeps
 * messages at all, and how long inbound messages are kept, in days. Bodies may be kept shorter
 * than the rest of a message (PIPL and GDPR ask for the least content kept), never longer: a
 * message deleted whole has no body left to keep. Rollups and the audit log are not affected.
 */
import { DAY_MS } from "./verification-limits";

export interface Retention {
  bodiesDays: number;
  messagesDays: number;
  inboundDays: number;
}

export const DEFAULT_RETENTION: Retention = {
  bodiesDays: 180,
  messagesDays: 180,
  inboundDays: 180,
};

/** The longest a setting may be: ten years. */
export const MAX_RETENTION_DAYS = 3650;

/** What a redacted body reads: the row stays, its content is gone. */
export const REDACTED_BODY = "[redacted]";

/** The settings as the tenants row stores them (null: never changed, the defaults apply). */
export function retentionOf(stored: Partial<Retention> | null): Retention {
  return { ...DEFAULT_RETENTION, ...stored };
}

/** Why the settings cannot be kept, or null when they can. */
export function retentionProblem(retention: Retention): string | null {
  return retention.bodiesDays > retention.messagesDays
    ? `bodies_days (${retention.bodiesDays}) cannot be longer than messages_days (${retention.messagesDays}): a deleted message keeps no body`
    : null;
}

/**
 * The instants before which each kind is due at `now`: a message created (an inbound one
 * received) strictly before its cutoff is past its time; one created at the cutoff is not yet.
 */
export function retentionCutoffs(
  retention: Retention,
  now: number,
): { bodies: number; messages: number; inbound: number } {
  return {
    bodies: now - retention.bodiesDays * DAY_MS,
    messages: now - retention.messagesDays * DAY_MS,
    inbound: now - retention.inboundDays * DAY_MS,
  };
}
