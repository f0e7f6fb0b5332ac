/**
 * The error and security checks every resource's routes repeat (STYLE.md: happy, error and
 * security tests per resource): no key, a revoked key, a key without the scope, another tenant's
 * id, a body that is not JSON. Each asserts the exact problem+json (support/problem.ts).
 */
import { expect } from "vitest";
import type { Permission } from "../../src/domain/permissions";
import type { Problem } from "../../src/lib/problem";
import { expectProblem } from "./problem";
import { call, type TestTenant } from "./tenants";

/** One request to a route. */
export interface RouteRequest {
  path: string;
  init?: RequestInit;
}

/** A request without a key: 401, with the Bearer challenge. */
export async function expectNoKeyRefused({ path, init }: RouteRequest): Promise<void> {
  const res = await call(path, null, init);
  await expectProblem(res, { status: 401, slug: "unauthenticated", instance: path });
  expect(res.headers.get("www-authenticate")).toBe('Bearer realm="relaybox"');
}

/** A key of the tenant's, revoked through the API before it is returned. */
export async function revokedKey(
  tenant: TestTenant,
  scopes: Permission[],
): Promise<{ id: string; key: string }> {
  const added = await tenant.addKey(scopes);
  expect((await tenant.api(`/v1/keys/${added.id}`, { method: "DELETE" })).status).toBe(204);
  return added;
}

/** A revoked key: 401, saying it was revoked. */
export async function expectRevokedKeyRefused(
  key: string,
  { path, init }: RouteRequest,
): Promise<void> {
  await expectProblem(await call(path, key, init), {
    status: 401,
    slug: "unauthenticated",
    instance: path,
    detail: /revoked/,
  });
}

/** A key without the route's scope: 403, naming the scope when one is given. */
export async function expectScopeRefused(
  key: string,
  { path, init }: RouteRequest,
  scope?: Permission,
): Promise<void> {
  await expectProblem(await call(path, key, init), {
    status: 403,
    slug: "forbidden",
    instance: path,
    detail: scope === undefined ? undefined : new RegExp(`\`${scope}\``),
  });
}

/**
 * Another tenant's resource, asked for by `stranger`: a 404 identical to the one for an id that
 * does not exist (same members, same detail but for the id), so ids leak nothing.
 */
export async function expectForeignLikeMissing(
  stranger: TestTenant,
  request: { path: (id: string) => string; init?: RequestInit },
  ids: { foreign: string; missing: string },
): Promise<Problem> {
  const missingPath = request.path(ids.missing);
  const missing = await expectProblem(await stranger.api(missingPath, request.init), {
    status: 404,
    slug: "not-found",
    instance: missingPath,
  });
  const foreignPath = request.path(ids.foreign);
  const foreign = await expectProblem(await stranger.api(foreignPath, request.init), {
    status: 404,
    slug: "not-found",
    instance: foreignPath,
  });
  expect(foreign.detail.replace(ids.foreign, "<id>")).toBe(
    missing.detail.replace(ids.missing, "<id>"),
  );
  expect(Object.keys(foreign).sort()).toEqual(Object.keys(missing).sort());
  return foreign;
}

/** A JSON body that does not parse: 400, saying so. */
export async function expectMalformedJsonRefused(
  tenant: TestTenant,
  path: string,
  body: string,
  method = "POST",
): Promise<void> {
  await expectProblem(await tenant.api(path, { method, body }), {
    status: 400,
    slug: "validation-error",
    instance: path,
    detail: /not well-formed JSON/,
  });
}
