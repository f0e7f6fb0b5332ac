import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { ApiError } from "../../lib/problem";
import * as service from "../../services/audit/audit-log";
import type * as routes from "./audit.routes";

function present(entry: service.AuditEntry) {
  return {
    id: entry.id,
    seq: entry.seq,
    at: new Date(entry.at).toISOString(),
    actor: { type: entry.actorType as "user" | "key" | "platform", id: entry.actorId },
    ip: entry.ip,
    request_id: entry.requestId,
    action: entry.action,
    target: entry.target,
    diff: JSON.parse(entry.diff) as Record<string, { from?: unknown; to?: unknown }>,
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}

export const listAuditEntries: RouteHandler<typeof routes.listAuditEntries, AppEnv> = async (c) => {
  const { since, until, limit, cursor, ...filter } = c.req.valid("query");
  const from = since === undefined ? undefined : Date.parse(since);
  const to = until === undefined ? undefined : Date.parse(until);
  if (from !== undefined && to !== undefined && from > to) {
    throw new ApiError("unprocessable-entity", "`since` is after `until`.", {
      errors: [{ pointer: "/query/since", detail: "must not be after until" }],
    });
  }
  const page = await service.listAuditEntries(
    c.env,
    c.get("caller").tenant.id,
    { ...filter, since: from, until: to },
    { limit, cursor },
  );
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const verifyAuditLog: RouteHandler<typeof routes.verifyAuditLog, AppEnv> = async (c) => {
  const check = await service.verifyAuditChain(c.env, c.get("caller").tenant.id);
  return c.json(
    {
      valid: check.valid,
      entries: check.entries,
      ...(check.firstBrokenAt === undefined ? {} : { first_broken_at: check.firstBrokenAt }),
    },
    200,
  );
};
