/** Reading a tenant's inbound messages (`GET /v1/inbound`), newest first; another's are a 404. */
import { and, eq, gte, lte, type SQL } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { inboundMessages } from "../../db/schema";
import type { InboundRow } from "../../delivery/inbound-store";
import type { Caller } from "../../domain/caller";
import { normalisePhone } from "../../domain/phone";
import type { Channel } from "../../domain/vocabulary";
import { ApiError } from "../../lib/problem";

export interface InboundFilters extends PageRequest {
  from?: string;
  to?: string;
  channel?: Channel;
  /** Unix ms, inclusive, on when the message was received. */
  since?: number;
  until?: number;
}

/** A number as stored (E.164, a national one read in the home country); anything else as given. */
function storedForm(value: string, homeCountry: string): string {
  const phone = normalisePhone(value, homeCountry);
  return phone.ok ? phone.e164 : value.trim();
}

export async function listInbound(
  env: Env,
  caller: Caller,
  filters: InboundFilters,
): Promise<Page<InboundRow>> {
  const conditions: (SQL | undefined)[] = [eq(inboundMessages.tenantId, caller.tenant.id)];
  if (filters.from) {
    conditions.push(
      eq(inboundMessages.sender, storedForm(filters.from, caller.tenant.homeCountry)),
    );
  }
  if (filters.to) {
    conditions.push(
      eq(inboundMessages.recipient, storedForm(filters.to, caller.tenant.homeCountry)),
    );
  }
  if (filters.channel) {
    conditions.push(eq(inboundMessages.channel, filters.channel));
  }
  if (filters.since !== undefined) {
    conditions.push(gte(inboundMessages.receivedAt, filters.since));
  }
  if (filters.until !== undefined) {
    conditions.push(lte(inboundMessages.receivedAt, filters.until));
  }
  const paging = keyset(inboundMessages.id, filters);
  const rows = await database(env.DB)
    .select()
    .from(inboundMessages)
    .where(and(...conditions, paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, filters, (row) => row.id);
}

export async function getInbound(env: Env, caller: Caller, id: string): Promise<InboundRow> {
  const [row] = await database(env.DB)
    .select()
    .from(inboundMessages)
    .where(and(eq(inboundMessages.tenantId, caller.tenant.id), eq(inboundMessages.id, id)));
  if (!row) {
    throw new ApiError("not-found", `No inbound message ${id}.`);
  }
  return row;
}
