/**
 * The sender side of the live message list and overview: after a status write, the tenant's desk
 * object is told "messages changed", at most once per window per tenant in this isolate
 * (domain/live-updates), with the count of changes held back since the last note. A burst of
 * thousands of writes a second costs the desk one call a second per isolate, not one per write.
 * Never fails the write that called it: a lost note costs a page one refresh, nothing more.
 */
import { shouldNotify } from "../domain/live-updates";
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

/**
 * Notes that messages of these tenants changed (one id per change); tells a tenant's desk when its
 * window allows. Resolves once the notes that went out were delivered (or failed, logged).
 */
export async function noteMessagesChanged(
  env: Env,
  tenantIds: Iterable<string>,
  now: number = Date.now(),
): Promise<void> {
  const calls: Promise<void>[] = [];
  for (const [tenantId, count] of countsOf(tenantIds)) {
    const note = notes.get(tenantId) ?? { lastNotifiedAt: undefined, heldBack: 0 };
    note.heldBack += count;
    notes.set(tenantId, note);
    if (!shouldNotify(note.lastNotifiedAt, now)) {
      continue;
    }
    const told = note.heldBack;
    note.lastNotifiedAt = now;
    note.heldBack = 0;
    calls.push(
      Promise.resolve()
        .then(() => deskOf(env, tenantId).messagesChanged(tenantId, told))
        .then(
          () => undefined,
          (error: unknown) => console.error("live: could not tell the desk", error),
        ),
    );
  }
  await Promise.all(calls);
}

/** Tests only: forgets this isolate's notes. */
export function forgetNotes(): void {
  notes.clear();
}
