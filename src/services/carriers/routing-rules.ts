/**
 * A tenant's routing rules (see domain/routing.ts): destination → providers in order. A rule may
 * name only providers the tenant has set up. The dispatch consumers read them through
 * delivery/provider-reads.ts, whose cache a change here clears.
 */
import { and, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { providerSettings, routes } from "../../db/schema";
import { forgetRoutingRules } from "../../delivery/provider-reads";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import type { ProviderName } from "../../domain/vocabulary";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { failUnlessChanged, unlessLost } from "../audit/change-guard";

export type RouteRow = typeof routes.$inferSelect;

export async function listRoutes(env: Env, caller: Caller): Promise<RouteRow[]> {
  return database(env.DB)
    .select()
    .from(routes)
    .where(eq(routes.tenantId, caller.tenant.id))
    .orderBy(routes.destination);
}

/** Creates the rule for a destination, or replaces the one there is. */
export async function putRoute(
  env: Env,
  caller: Caller,
  input: {
    destination: string;
    providers: { provider: ProviderName; priority: number; weight: number }[];
  },
  now: number = Date.now(),
): Promise<{ row: RouteRow; created: boolean }> {
  const db = database(env.DB);
  const configured = new Set(
    (
      await db
        .select({ provider: providerSettings.provider })
        .from(providerSettings)
        .where(eq(providerSettings.tenantId, caller.tenant.id))
    ).map((row) => row.provider),
  );
  const errors = input.providers.flatMap((p, i) =>
    configured.has(p.provider)
      ? []
      : [
          {
            pointer: `/providers/${i}/provider`,
            detail: `${p.provider} is not set up (PUT /v1/providers/${p.provider})`,
          },
        ],
  );
  if (errors.length > 0) {
    throw new ApiError("unprocessable-entity", "A route may only use providers you have set up.", {
      errors,
    });
  }
  const existing = await db.query.routes.findFirst({
    where: and(eq(routes.tenantId, caller.tenant.id), eq(routes.destination, input.destination)),
  });
  const id = existing?.id ?? newId("rte", now);
  const [[row]] = await audited(
    env,
    caller,
    {
      action: existing ? "route.update" : "route.create",
      target: id,
      diff: diffOf(
        existing ? { destination: existing.destination, providers: existing.providers } : {},
        { destination: input.destination, providers: input.providers },
      ),
    },
    [
      existing
        ? db
            .update(routes)
            .set({ providers: input.providers, updatedAt: now })
            .where(eq(routes.id, existing.id))
            .returning()
        : db
            .insert(routes)
            .values({
              id,
              tenantId: caller.tenant.id,
              destination: input.destination,
              providers: input.providers,
              createdAt: now,
              updatedAt: now,
            })
            .returning(),
    ],
  );
  if (!row) {
    throw new Error(`route ${input.destination} vanished`);
  }
  forgetRoutingRules(caller.tenant.id);
  return { row, created: !existing };
}

export async function deleteRoute(env: Env, caller: Caller, id: string): Promise<void> {
  const db = database(env.DB);
  const mine = and(eq(routes.id, id), eq(routes.tenantId, caller.tenant.id));
  const existing = await db.query.routes.findFirst({ where: mine });
  if (!existing) {
    throw new ApiError("not-found", `No route ${id}.`);
  }
  await unlessLost(
    audited(
      env,
      caller,
      {
        action: "route.delete",
        target: id,
        diff: diffOf({ destination: existing.destination, providers: existing.providers }, {}),
      },
      [db.delete(routes).where(mine), failUnlessChanged(env)],
    ),
    () => new ApiError("not-found", `No route ${id}.`),
  );
  forgetRoutingRules(caller.tenant.id);
}
