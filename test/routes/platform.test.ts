import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PROBLEM_TYPES, type Problem } from "../../src/lib/problem";
import { call, createTenant, postJson } from "../support/tenants";

const GENERATED_ID = /^req_[0-9A-Z]{26}$/;
const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string }[];
  responses: Record<string, { content?: Record<string, Json> }>;
  security?: Json[];
}

/**
 * The API operations that take no key, each by design: accepting an invitation (its signed token
 * is the credential). Anything else without bearer auth is a mistake.
 */
const PUBLIC_OPERATIONS = ["acceptInvitation"];

/** Every property name declared by any schema anywhere in the document. */
function propertyNames(node: Json, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) {
      propertyNames(item, into);
    }
  } else if (node !== null && typeof node === "object") {
    const properties = node.properties;
    if (properties !== null && typeof properties === "object" && !Array.isArray(properties)) {
      for (const name of Object.keys(properties)) {
        into.add(name);
      }
    }
    for (const value of Object.values(node)) {
      propertyNames(value, into);
    }
  }
  return into;
}

async function openApi(): Promise<OpenApiDocument> {
  const res = await call("/openapi.json", null);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("application/json");
  return (await res.json()) as OpenApiDocument;
}

describe("unknown routes", () => {
  it.each([
    { method: "GET", path: "/nothing-here" },
    { method: "POST", path: "/v1/nothing" },
    { method: "GET", path: "/v1/messages/msg_00000000000000000000000000/extra" },
  ])("answers $method $path with a 404 problem naming it", async ({ method, path }) => {
    const res = await call(path, null, { method });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as Problem;
    expect(problem).toEqual({
      type: expect.stringMatching(/\/not-found$/),
      title: PROBLEM_TYPES["not-found"].title,
      status: 404,
      detail: expect.stringContaining(`${method} ${path}`),
      instance: path,
      request_id: res.headers.get("x-request-id"),
    });
  });
});

describe("X-Request-Id", () => {
  it("is on every response, successful or not, and differs per request", async () => {
    const tenant = await createTenant();
    const responses = [
      await call("/healthz", null),
      await call("/openapi.json", null),
      await call("/docs", null),
      await call("/nothing-here", null),
      await call("/v1/messages", null),
      await tenant.api("/v1/messages"),
      await tenant.api("/v1/messages?limit=0"),
      await tenant.api("/v1/messages", postJson({ to: "+8613800138000", body: "hi" })),
      await tenant.api("/v1/messages", {
        method: "POST",
        body: "x",
        headers: { "content-type": "text/plain" },
      }),
      await tenant.api(
        "/v1/messages",
        postJson({ to: "+8613800138000", body: "a".repeat(1 << 20) }),
      ),
      await tenant.api(`/v1/keys/key_${"0".repeat(26)}`, { method: "DELETE" }),
    ];
    expect(responses.map((r) => r.status)).toEqual([
      200, 200, 200, 404, 401, 200, 400, 202, 415, 413, 404,
    ]);
    const ids = responses.map((r) => r.headers.get("x-request-id") ?? "");
    for (const id of ids) {
      expect(id).toMatch(GENERATED_ID);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("matches request_id in every problem", async () => {
    for (const path of ["/nothing-here", "/v1/messages"]) {
      const res = await call(path, null);
      const problem = (await res.json()) as Problem;
      expect(problem.request_id).toBe(res.headers.get("x-request-id"));
    }
  });

  it("echoes a caller's well-formed id, on success and in errors", async () => {
    const tenant = await createTenant();
    const mine = "trace-42.abc:DEF_9";
    const ok = await call("/healthz", null, { headers: { "x-request-id": mine } });
    expect(ok.headers.get("x-request-id")).toBe(mine);

    const refused = await tenant.api("/v1/messages", {
      ...postJson({ to: "+8612345678901", body: "hi" }),
      headers: { "x-request-id": mine },
    });
    expect(refused.status).toBe(422);
    expect(refused.headers.get("x-request-id")).toBe(mine);
    expect(((await refused.json()) as Problem).request_id).toBe(mine);

    const unauthenticated = await call("/v1/keys", null, { headers: { "x-request-id": mine } });
    expect(unauthenticated.headers.get("x-request-id")).toBe(mine);
    expect(((await unauthenticated.json()) as Problem).request_id).toBe(mine);
  });

  it.each([
    { what: "spaces and markup", id: "<script>alert(1)</script> x" },
    { what: "over 100 characters", id: "a".repeat(101) },
  ])("replaces a caller's id with $what by a fresh one", async ({ id }) => {
    const res = await call("/nothing-here", null, { headers: { "x-request-id": id } });
    const header = res.headers.get("x-request-id");
    expect(header).toMatch(GENERATED_ID);
    expect(((await res.json()) as Problem).request_id).toBe(header);
  });
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document with the messages and keys routes", async () => {
    const doc = await openApi();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toBe("Relaybox API");
    expect(Object.keys(doc.paths["/v1/messages"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/v1/messages/{id}"] ?? {})).toEqual(["get"]);
    expect(Object.keys(doc.paths["/v1/keys"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/v1/keys/{id}"] ?? {}).sort()).toEqual(["delete", "patch"]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
  });

  it("names every field and query parameter in snake_case", async () => {
    const doc = await openApi();
    const names = propertyNames(doc as unknown as Json);
    for (const expected of ["created_at", "status_reason", "provider_message_id", "revoked_at"]) {
      expect(names).toContain(expected);
    }
    expect([...names].filter((name) => !SNAKE_CASE.test(name))).toEqual([]);

    const parameters = Object.values(doc.paths)
      .flatMap((operations) => Object.values(operations))
      .flatMap((operation) => operation.parameters ?? [])
      .filter((parameter) => parameter.in === "query" || parameter.in === "path");
    expect(parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(["id", "limit", "cursor", "status", "to", "since", "until"]),
    );
    expect(parameters.map((p) => p.name).filter((name) => !SNAKE_CASE.test(name))).toEqual([]);
  });

  it("declares bearer auth and problem+json errors on every API operation", async () => {
    const doc = await openApi();
    const operations = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/v1/"))
      .flatMap(([path, byMethod]) => Object.values(byMethod).map((op) => [path, op] as const));
    expect(operations.length).toBeGreaterThanOrEqual(5);
    for (const [path, operation] of operations) {
      const errors = Object.entries(operation.responses).filter(
        ([status]) => Number(status) >= 400,
      );
      if (operation.operationId && PUBLIC_OPERATIONS.includes(operation.operationId)) {
        // Said outright: no key at all, rather than a key left out by mistake.
        expect(operation.security).toEqual([]);
        continue;
      }
      // The platform admin's routes take the platform key, and never answer 403.
      const platformRoute = path.startsWith("/v1/platform/");
      expect(operation.security).toEqual([
        platformRoute ? { platformKey: [] } : { bearerAuth: [] },
      ]);
      expect(errors.map(([status]) => status)).toEqual(
        expect.arrayContaining(platformRoute ? ["401"] : ["401", "403"]),
      );
      for (const [, response] of errors) {
        expect(Object.keys(response.content ?? {})).toEqual(["application/problem+json"]);
      }
    }
  });
});

describe("GET /docs", () => {
  it("serves Swagger UI from our own assets, pointed at /openapi.json", async () => {
    const res = await call("/docs", null);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain('src="/docs/swagger-ui-dist/swagger-ui-bundle.js"');
    expect(html).toContain('href="/docs/swagger-ui-dist/swagger-ui.css"');
    expect(html).toContain("/openapi.json");
    expect(html).not.toContain("cdn.jsdelivr.net");
  });

  it.each([
    { file: "swagger-ui-bundle.js", type: /javascript/, marker: "SwaggerUIBundle" },
    { file: "swagger-ui.css", type: /text\/css/, marker: ".swagger-ui" },
  ])("has $file among the static assets", async ({ file, type, marker }) => {
    // Through the Worker, Vitest answers asset paths with 404; the ASSETS binding serves them.
    const res = await env.ASSETS.fetch(`http://x/docs/swagger-ui-dist/${file}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(type);
    const text = await res.text();
    expect(text.length).toBeGreaterThan(10_000);
    expect(text).toContain(marker);
  });
});

describe("GET /healthz", () => {
  it("answers 200 ok without a key", async () => {
    const res = await call("/healthz", null);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", checks: { d1: "ok", dispatcher: "ok" } });
  });
});
