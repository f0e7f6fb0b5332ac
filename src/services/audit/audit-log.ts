/**
 * The one writer of the audit log. Every administrative change goes through `audited`: the change's
 * statements and the entry that records it run as one D1 batch, which is one transaction, so there
 * is no change without its entry and no entry without its change.
 *
 * Each tenant's entries form one hash chain (domain/audit-chain). The next entry's `seq` and
 * `prev_hash` come from the head read just before the batch; the unique index on `(tenant_id,
 * seq)` lets only one of two writers that read the same head commit, and the other's whole batch,
 * its change included, rolls back and is tried again on the new head. Concurrent changes from any
 * number of isolates therefore all land, one after the other, on one unbroken line.
 */
import { and, asc, desc, eq, gt, gte, lte, type SQL } from "drizzle-orm";
import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { auditEntries } from "../../db/schema";
import {
  type ChainCheck,
  ChainWalker,
  canonicalJson,
  chainedContent,
  type Diff,
  GENESIS_HASH,
} from "../../domain/audit-chain";
import { type Actor, actorOf, type Caller, type RequestOrigin } from "../../domain/caller";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";

export type AuditEntry = typeof auditEntries.$inferSelect;

/** Who made a change, for whom and from where: a request's caller says all three. */
export interface AuditSource {
  tenantId: string;
  actor: Actor;
  origin?: RequestOrigin;
}

export interface AuditEvent {
  /** `noun.verb`, such as `api_key.create` or `user.role_change`. */
  action: string;
  /** The id of what changed, or a name for a singleton (`tenant`). */
  target: string;
  diff?: Diff;
}

type Statement = BatchItem<"sqlite">;

/** Tries on a moved head; each try is a D1 round trip, so this bounds a burst of changes. */
const MAX_TRIES = 25;

const CHAIN_CONFLICT = /UNIQUE constraint failed: audit_entries\.tenant_id, audit_entries\.seq/;

export function sourceOf(caller: Caller): AuditSource {
  return { tenantId: caller.tenant.id, actor: actorOf(caller), origin: caller.origin };
}

/**
 * Runs `changes` (none for an event that changes nothing else, such as a failed sign-in) and the
 * entry recording them in one batch; answers the changes' results, in their order.
 */
export async function audited<const T extends readonly Statement[]>(
  env: Env,
  by: Caller | AuditSource,
  event: AuditEvent,
  changes: T,
): Promise<BatchResponse<[...T]>> {
  const source = "tenant" in by ? sourceOf(by) : by;
  const db = database(env.DB);
  for (let attempt = 1; ; attempt++) {
    const entry = await nextEntry(env, source, event);
    try {
      // The entry last: it names the tenant, which a tenant's creation inserts in the same batch
      // (the foreign key is checked statement by statement).
      const record: Statement = db.insert(auditEntries).values(entry);
      const [first, ...rest] = changes as readonly Statement[];
      const results = await db.batch(first ? [first, ...rest, record] : [record]);
      return results.slice(0, changes.length) as BatchResponse<[...T]>;
    } catch (error) {
      if (attempt >= MAX_TRIES || !CHAIN_CONFLICT.test(String(error))) {
        throw error;
      }
      // Another change took this place in the line: read the new head and try again, a little
      // later each time so that a burst of writers spreads out.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

async function nextEntry(env: Env, source: AuditSource, event: AuditEvent): Promise<AuditEntry> {
  const head = await database(env.DB)
    .select({ seq: auditEntries.seq, hash: auditEntries.hash })
    .from(auditEntries)
    .where(eq(auditEntries.tenantId, source.tenantId))
    .orderBy(desc(auditEntries.seq))
    .limit(1)
    .get();
  const at = Date.now();
  const chained = {
    id: newId("aud", at),
    tenantId: source.tenantId,
    seq: (head?.seq ?? 0) + 1,
    at,
    actorType: source.actor.type,
    actorId: source.actor.id,
    ip: source.origin?.ip ?? null,
    requestId: source.origin?.requestId ?? null,
    action: event.action,
    target: event.target,
    diff: canonicalJson(event.diff ?? {}),
    prevHash: head?.hash ?? GENESIS_HASH,
  };
  return { ...chained, hash: await sha256Hex(chainedContent(chained)) };
}

export interface AuditFilter {
  action?: string;
  /** A user's or key's id, or `platform`. */
  actor?: string;
  target?: string;
  since?: number;
  until?: number;
}

/** The tenant's entries, newest first, matching every filter given. */
export async function listAuditEntries(
  env: Env,
  tenantId: string,
  filter: AuditFilter,
  page: PageRequest,
): Promise<Page<AuditEntry>> {
  const { after, orderBy, limit } = keyset(auditEntries.id, page);
  const conditions: (SQL | undefined)[] = [
    eq(auditEntries.tenantId, tenantId),
    after,
    filter.action === undefined ? undefined : eq(auditEntries.action, filter.action),
    filter.actor === undefined ? undefined : eq(auditEntries.actorId, filter.actor),
    filter.target === undefined ? undefined : eq(auditEntries.target, filter.target),
    filter.since === undefined ? undefined : gte(auditEntries.at, filter.since),
    filter.until === undefined ? undefined : lte(auditEntries.at, filter.until),
  ];
  const rows = await database(env.DB)
    .select()
    .from(auditEntries)
    .where(and(...conditions))
    .orderBy(orderBy)
    .limit(limit);
  return pageOf(rows, page, (row) => row.id);
}

const VERIFY_PAGE = 500;

/** Walks the tenant's whole line, a page at a time, and says where it first breaks. */
export async function verifyAuditChain(env: Env, tenantId: string): Promise<ChainCheck> {
  const walker = new ChainWalker(sha256Hex);
  let lastSeq = 0;
  for (;;) {
    const rows = await database(env.DB)
      .select()
      .from(auditEntries)
      .where(and(eq(auditEntries.tenantId, tenantId), gt(auditEntries.seq, lastSeq)))
      .orderBy(asc(auditEntries.seq))
      .limit(VERIFY_PAGE);
    await walker.take(rows);
    const last = rows.at(-1);
    if (!last || rows.length < VERIFY_PAGE) {
      return walker.result();
    }
    lastSeq = last.seq;
  }
}
