import { describe, expect, it } from "vitest";
import { call } from "../support/tenants";

interface Operation {
  operationId?: string;
  tags?: string[];
}

interface OpenApiDocument {
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
}

/** camelCase: lower-case first word, then words that each start with a capital. */
const CAMEL_CASE = /^[a-z]+(?:[A-Z][a-z0-9]*)+$/;
/** The verbs an operationId may start with: a new kind of operation adds its verb here. */
const VERBS = [
  "accept",
  "add",
  "approve",
  "assign",
  "cancel",
  "check",
  "create",
  "delete",
  "disable",
  "enable",
  "export",
  "get",
  "import",
  "invite",
  "list",
  "mark",
  "preview",
  "redact",
  "reject",
  "remove",
  "replay",
  "reply",
  "revoke",
  "resume",
  "resolve",
  "rotate",
  "send",
  "set",
  "submit",
  "suspend",
  "sync",
  "transfer",
  "update",
  "upsert",
  "verify",
];
const METHODS = new Set(["get", "put", "post", "delete", "patch", "options", "head", "trace"]);

async function operations() {
  const res = await call("/openapi.json", null);
  expect(res.status).toBe(200);
  const doc = (await res.json()) as OpenApiDocument;
  const list = Object.entries(doc.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod)
      .filter(([method]) => METHODS.has(method))
      .map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, ...operation })),
  );
  return { doc, list };
}

describe("the OpenAPI document's operations", () => {
  it("each have an operationId in camelCase that starts with a verb", async () => {
    const { list } = await operations();
    expect(list.length).toBeGreaterThanOrEqual(70);
    const wrong = list
      .filter(({ operationId }) => {
        const verb = /^[a-z]+/.exec(operationId ?? "")?.[0] ?? "";
        return !(operationId && CAMEL_CASE.test(operationId) && VERBS.includes(verb));
      })
      .map(({ name, operationId }) => `${name}: ${operationId ?? "no operationId"}`);
    expect(wrong).toEqual([]);
  });

  it("never share an operationId", async () => {
    const { list } = await operations();
    const byId = new Map<string, string[]>();
    for (const { name, operationId = "" } of list) {
      byId.set(operationId, [...(byId.get(operationId) ?? []), name]);
    }
    expect([...byId.entries()].filter(([, names]) => names.length > 1)).toEqual([]);
  });

  it("name what they do after the resource", async () => {
    const { doc } = await operations();
    const id = (method: string, path: string) => doc.paths[path]?.[method]?.operationId;
    expect(id("post", "/v1/messages")).toBe("createMessage");
    expect(id("get", "/v1/messages")).toBe("listMessages");
    expect(id("get", "/v1/messages/{id}")).toBe("getMessage");
    expect(id("post", "/v1/messages/{id}/cancel")).toBe("cancelMessage");
    expect(id("post", "/v1/batches")).toBe("createBatch");
    expect(id("delete", "/v1/keys/{id}")).toBe("revokeApiKey");
  });

  it("each have a tag, and every tag is declared once with a description and used", async () => {
    const { doc, list } = await operations();
    expect(list.filter(({ tags }) => (tags ?? []).length === 0).map(({ name }) => name)).toEqual(
      [],
    );
    const declared = (doc.tags ?? []).map((tag) => tag.name);
    expect(new Set(declared).size).toBe(declared.length);
    expect(
      (doc.tags ?? []).filter((tag) => !tag.description?.trim()).map((tag) => tag.name),
    ).toEqual([]);
    const used = new Set(list.flatMap(({ tags }) => tags ?? []));
    expect([...used].filter((tag) => !declared.includes(tag))).toEqual([]);
    expect(declared.filter((tag) => !used.has(tag))).toEqual([]);
  });
});
