/**
 * The permission matrix, enforced on every route: generated from domain/permissions' matrix and
 * the operations of the served OpenAPI document (each names its permission in `x-permission`),
 * not hand-listed, so a new route or a changed row of the matrix is tested with no edit here.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  BUILT_IN_ROLES,
  type BuiltInRole,
  grants,
  PERMISSIONS,
  type Permission,
  ROLE_PERMISSIONS,
} from "../../src/domain/permissions";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";

interface Operation {
  method: string;
  path: string;
  permission: Permission;
  hasBody: boolean;
}

const METHODS = new Set(["get", "put", "post", "delete", "patch"]);

async function operations(): Promise<Operation[]> {
  const res = await call("/openapi.json", null);
  expect(res.status).toBe(200);
  const doc = (await res.json()) as {
    paths: Record<string, Record<string, { "x-permission"?: string; requestBody?: unknown }>>;
  };
  return Object.entries(doc.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod)
      .filter(([method, op]) => METHODS.has(method) && op["x-permission"] !== undefined)
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        permission: op["x-permission"] as Permission,
        hasBody: op.requestBody !== undefined,
      })),
  );
}

/** A path with every parameter filled: the permission is checked before parameters are. */
const concrete = (path: string) => path.replaceAll(/\{[^}]+\}/g, "x1");

function request(op: Operation, key: string): Promise<Response> {
  const init: RequestInit = { method: op.method };
  if (op.hasBody) {
    // An empty body: a caller with the permission gets as far as validation, which is enough.
    Object.assign(init, postJson({}), { method: op.method });
  }
  return call(concrete(op.path), key, init);
}

let ops: Operation[];
let tenant: TestTenant;
/** One live key per built-in role, holding exactly that role's row of the matrix. */
const keys = new Map<BuiltInRole, string>();

beforeAll(async () => {
  ops = await operations();
  tenant = await createTenant();
  for (const role of BUILT_IN_ROLES) {
    keys.set(role, (await tenant.addKey([...ROLE_PERMISSIONS[role]])).key);
  }
});

describe("the OpenAPI document's x-permission", () => {
  it("is on every API-key operation, and names a known permission", async () => {
    const res = await call("/openapi.json", null);
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { security?: unknown; "x-permission"?: string }>>;
    };
    const missing = Object.entries(doc.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod)
        // The platform admin's routes take the platform key, not a tenant's.
        .filter(() => path.startsWith("/v1/") && !path.startsWith("/v1/platform/"))
        // An operation that says outright it takes no key (`security: []`) needs no permission.
        .filter(
          ([method, op]) =>
            METHODS.has(method) && Array.isArray(op.security) && op.security.length > 0,
        )
        .filter(([, op]) => !(PERMISSIONS as readonly string[]).includes(op["x-permission"] ?? ""))
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(missing).toEqual([]);
    expect(ops.length).toBeGreaterThanOrEqual(70);
    expect(ops.find((op) => op.method === "POST" && op.path === "/v1/keys")?.permission).toBe(
      "admin",
    );
    for (const p of ["messages:send", "templates:review", "users:read", "users:write"] as const) {
      expect(ops.map((op) => op.permission)).toContain(p);
    }
  });
});

describe("every operation, for every built-in role", () => {
  it.each([...BUILT_IN_ROLES])(
    "%s: 403 exactly where the role lacks the operation's permission",
    async (role) => {
      const key = keys.get(role) ?? "";
      const wrong: string[] = [];
      for (const op of ops) {
        const res = await request(op, key);
        const allowed = grants(ROLE_PERMISSIONS[role], op.permission);
        const name = `${op.method} ${op.path} (${op.permission})`;
        if (allowed && res.status === 403) {
          wrong.push(`${name}: 403 though ${role} holds it: ${await res.text()}`);
        } else if (!allowed) {
          const body = await res.text();
          const refused =
            res.status === 403 &&
            res.headers.get("content-type") === "application/problem+json" &&
            body.includes(`\`${op.permission}\``);
          if (!refused) {
            wrong.push(`${name}: ${res.status} though ${role} lacks it`);
          }
        } else {
          await res.body?.cancel();
        }
      }
      expect(wrong).toEqual([]);
    },
  );
});

describe("a custom role", () => {
  it('"campaign manager" creates a template and a batch, but not an API key', async () => {
    const created = await tenant.api(
      "/v1/roles",
      postJson({
        name: "campaign manager",
        permissions: ["templates:read", "templates:write", "messages:send", "messages:read"],
      }),
    );
    expect(created.status).toBe(201);
    const role = (await created.json()) as { id: string; permissions: Permission[] };
    const manager = (await tenant.addKey(role.permissions)).key;

    const template = await call(
      "/v1/templates",
      manager,
      postJson({
        name: "Login code",
        kind: "verification",
        body: "Your code is {{code}}",
        variables: [{ name: "code", type: "code", max_length: 8 }],
      }),
    );
    expect(template.status).toBe(201);
    const batch = await call(
      "/v1/batches",
      manager,
      postJson({ body: "Store closes at 6 today", recipients: [{ to: "+14155550100" }] }),
    );
    expect(batch.status).toBe(202);
    const key = await call("/v1/keys", manager, postJson({ name: "mine", scopes: ["admin"] }));
    expect(key.status).toBe(403);
    expect(await key.text()).toContain("`admin`");
  });
});
