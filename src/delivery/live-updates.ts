/**
 * The sender side of the live message list and overview: after a status write (the status
 * writer's door) or a send-log flush (the dispatcher), the tenant's desk object is told "messages
 * changed", at most once per window per tenant in this isolate
 * (domain/live-updates), with the count of changes held back since the last note. A burst of
 * thousands of writes a second costs the desk one call a second per isolate, not one per write.
 * Never fails the write that called it: a lost note costs a page one refresh, nothing more.
 */
import { waitUntil } from "cloudflare:workers";
import { shouldNotify } from "../domain/live-updates";
import { createLogger } from "../lib/log";
import { deskOf } from "./desk";

interface TenantNotes {
  lastNotifiedAt: number | undefined;
  heldBack: number;
}

/** Isolate-local: the notes per tenant (bounded by the tenants this isolate writes for). */
const notes = new Map<string, TenantNotes>();

/** The tenant ids of the changes, counted. */
function countsOf(tenantIds: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of tenantIds) {
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Counts the changes in this isolate's notes; returns the tenants whose window allows a note now. */
function takeNotes(tenantIds: Iterable<string>, now: number): [tenantId: string, told: number][] {
  const due: [string, number][] = [];
  for (const [tenantId, count] of countsOf(tenantIds)) {
    const note = notes.get(tenantId) ?? { lastNotifiedAt: undefined, heldBack: 0 };
    note.heldBack += count;
    notes.set(tenantId, note);
    if (!shouldNotify(note.lastNotifiedAt, now)) {
      continue;
    }
    due.push([tenantId, note.heldBack]);
    note.lastNotifiedAt = now;
    note.heldBack = 0;
  }
  return due;
}

/** Tells each tenant's desk its count; a failure is logged, never thrown. */
async function tellDesks(env: Env, due: readonly [string, number][]): Promise<void> {
  await Promise.all(
    due.map(([tenantId, told]) =>
      Promise.resolve()
        .then(() => deskOf(env, tenantId).messagesChanged(tenantId, told))
        .then(
          () => undefined,
          (error: unknown) =>
            createLogger(env.LOG_LEVEL, { tenant_id: tenantId }).error(
              "live: could not tell the desk",
              { error },
            ),
        ),
    ),
  );
}

/**
 * Notes that messages of these tenants changed (one id per change); tells a tenant's desk when its
 * window allows. Resolves once the notes that went out were delivered (or failed, logged).
 */
export async function noteMessagesChanged(
  env: Env,
  tenantIds: Iterable<string>,
  now: number = Date.now(),
): Promise<void> {
  await tellDesks(env, takeNotes(tenantIds, now));
}

/**
 * As noteMessagesChanged, without making the caller wait: the counting is done before it returns,
 * and a note its window allows goes on after the caller's work (`waitUntil`). What the status
 * writer and the dispatcher's send-log flush call: a write on the send path never waits for the
 * desk, and in a burst at most one note a second per tenant is even started.
 */
export function noteMessagesChangedSoon(
  env: Env,
  tenantIds: Iterable<string>,
  now: number = Date.now(),
): void {
  const due = takeNotes(tenantIds, now);
  if (due.length > 0) {
    waitUntil(tellDesks(env, due));
  }
}

/** Tests only: forgets this isolate's notes. */
export function forgetNotes(): void {
  notes.clear();
}
