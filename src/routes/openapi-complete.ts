/**
 * The last pass over the API document before it is served: what every operation must have, done
 * once here rather than in each route file (test/lint/redocly.yaml's rules hold every route to it).
 *
 * - Every operation documents a 500, and every error response is problem+json with an example of
 *   the problem its status carries (lib/problem's table).
 * - Every request and response body without an example gets one built from its schema: the
 *   `example`s its fields declare, else a value its type, format, enum, pattern and bounds allow
 *   (Redocly's `no-invalid-media-type-examples` checks each against its schema).
 */
import { PROBLEM_TYPE_BASE, PROBLEM_TYPES, type ProblemSlug } from "../lib/problem";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: unknown };
type Document = {
  paths?: Record<string, Record<string, unknown>>;
  webhooks?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, Schema> };
};

const METHODS = ["get", "put", "post", "delete", "patch"];
const ID = "01JF3Z8Q6W2N7V5K4T9R1M0ABC";
const SLUG_OF_STATUS: Record<string, ProblemSlug> = {
  "400": "validation-error",
  "401": "unauthenticated",
  "403": "forbidden",
  "404": "not-found",
  "405": "method-not-allowed",
  "409": "conflict",
  "413": "payload-too-large",
  "415": "unsupported-media-type",
  "422": "unprocessable-entity",
  "429": "rate-limited",
  "500": "internal",
  "503": "provider-unavailable",
};

const DETAIL: Partial<Record<ProblemSlug, string>> = {
  "validation-error": "/to: Required",
  unauthenticated: "Send an API key as `Authorization: Bearer rbx_live_…`.",
  forbidden: "This API key lacks the scope this operation needs.",
  "not-found": "No such resource.",
  conflict: "The resource's state does not allow this.",
  "payload-too-large": "The body is over the 1 MB limit.",
  "unsupported-media-type": "Send the body as application/json.",
  "unprocessable-entity": "/to: +8612345678901 is not a valid number for CN",
  "rate-limited": "Over this API key's request limit; retry after 1 s.",
  internal: "Something went wrong on our side; quote the request_id if it persists.",
  "provider-unavailable": "No provider can take the message now; retry after the Retry-After.",
};

function problemExample(status: string, path: string): Json {
  const slug = SLUG_OF_STATUS[status] ?? "internal";
  const example: Json = {
    type: PROBLEM_TYPE_BASE + slug,
    title: PROBLEM_TYPES[slug].title,
    status: Number(status),
    detail: DETAIL[slug] ?? PROBLEM_TYPES[slug].title,
    instance: path.replaceAll(/\{[^}]+\}/g, `x_${ID}`),
    request_id: `req_${ID}`,
  };
  if (slug === "validation-error" || slug === "unprocessable-entity") {
    example.errors = [{ pointer: "/to", detail: String(example.detail).slice(5) }];
  }
  return example;
}

/** A value `schema` accepts, or undefined when none is found (a pattern it cannot satisfy). */
export function exampleOf(
  schema: unknown,
  schemas: Record<string, Schema>,
  depth = 0,
): Json | undefined {
  if (typeof schema !== "object" || schema === null || depth > 16) {
    return undefined;
  }
  const s = schema as Schema;
  if (typeof s.$ref === "string") {
    return exampleOf(schemas[s.$ref.split("/").pop() ?? ""], schemas, depth + 1);
  }
  if (s.example !== undefined) {
    return s.example as Json;
  }
  if (Array.isArray(s.examples) && s.examples.length > 0) {
    return s.examples[0] as Json;
  }
  if (s.const !== undefined) {
    return s.const as Json;
  }
  if (s.default !== undefined) {
    return s.default as Json;
  }
  if (Array.isArray(s.enum)) {
    return s.enum[0] as Json;
  }
  const choices = (s.oneOf ?? s.anyOf) as unknown[] | undefined;
  if (choices) {
    for (const choice of choices) {
      const value = exampleOf(choice, schemas, depth + 1);
      if (value !== undefined) {
        return value;
      }
    }
    return undefined;
  }
  if (Array.isArray(s.allOf)) {
    const merged: { [key: string]: Json } = {};
    for (const part of s.allOf) {
      const value = exampleOf(part, schemas, depth + 1);
      if (
        value === undefined ||
        typeof value !== "object" ||
        value === null ||
        Array.isArray(value)
      ) {
        return undefined;
      }
      Object.assign(merged, value);
    }
    return merged;
  }
  const type = Array.isArray(s.type) ? (s.type.find((t) => t !== "null") ?? "null") : s.type;
  switch (type) {
    case "string":
      return stringExample(s);
    case "integer":
    case "number":
      return numberExample(s, type === "integer");
    case "boolean":
      return true;
    case "null":
      return null;
    case "array": {
      const item = exampleOf(s.items, schemas, depth + 1);
      if (item === undefined) {
        return undefined;
      }
      const count = Math.max(1, Number(s.minItems ?? 1));
      return Array.from({ length: Math.min(count, Number(s.maxItems ?? count)) }, () => item);
    }
    default:
      return objectExample(s, schemas, depth);
  }
}

function objectExample(
  s: Schema,
  schemas: Record<string, Schema>,
  depth: number,
): Json | undefined {
  const out: { [key: string]: Json } = {};
  const required = new Set((s.required as string[] | undefined) ?? []);
  for (const [name, property] of Object.entries((s.properties as Record<string, unknown>) ?? {})) {
    const value = exampleOf(property, schemas, depth + 1);
    if (value === undefined) {
      if (required.has(name)) {
        return undefined;
      }
      continue;
    }
    out[name] = value;
  }
  const extra = s.additionalProperties;
  if (
    Object.keys(out).length < Number(s.minProperties ?? 0) &&
    extra &&
    typeof extra === "object"
  ) {
    const value = exampleOf(extra, schemas, depth + 1);
    if (value === undefined) {
      return undefined;
    }
    out.key = value;
  }
  return out;
}

function numberExample(s: Schema, integer: boolean): number {
  let value = 1;
  if (typeof s.minimum === "number") {
    value = Math.max(value, s.minimum);
  }
  if (typeof s.exclusiveMinimum === "number") {
    value = Math.max(value, s.exclusiveMinimum + (integer ? 1 : 0.5));
  }
  if (typeof s.maximum === "number") {
    value = Math.min(value, s.maximum);
  }
  return value;
}

const FORMATS: Record<string, string> = {
  "date-time": "2026-12-07T12:00:00.000Z",
  date: "2026-12-07",
  uri: "https://example.com/hooks/relaybox",
  url: "https://example.com/hooks/relaybox",
  email: "ops@example.com",
  uuid: "7d0b6a4c-3f8e-4a51-9b2d-1c6e8f0a9b3d",
};

function stringExample(s: Schema): string | undefined {
  const format = typeof s.format === "string" ? FORMATS[s.format] : undefined;
  const min = Number(s.minLength ?? 0);
  const max = Number(s.maxLength ?? Number.POSITIVE_INFINITY);
  const candidates: string[] = [];
  if (format) {
    candidates.push(format);
  }
  if (typeof s.pattern === "string") {
    const prefix = /^\^([a-z]+_)\[/.exec(s.pattern)?.[1];
    if (prefix) {
      candidates.push(prefix + ID, prefix + ID.toLowerCase(), `${prefix}${"a".repeat(32)}`);
    }
    candidates.push(
      "+8613800138000",
      "CN",
      "USD",
      "sms",
      "ab",
      "a",
      "1",
      "123456",
      "09:00",
      "wx5a4db0c000000001",
      "0123456789abcdef0123456789abcdef",
      "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    );
  } else {
    candidates.push(
      "string".padEnd(Math.max(min, 6), "x").slice(0, Math.max(min, Math.min(6, max))),
    );
  }
  const pattern = typeof s.pattern === "string" ? safeRegExp(s.pattern) : undefined;
  return candidates.find(
    (candidate) =>
      candidate.length >= min && candidate.length <= max && (!pattern || pattern.test(candidate)),
  );
}

function safeRegExp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, "u");
  } catch {
    return undefined;
  }
}

type MediaType = { schema?: unknown; example?: unknown; examples?: unknown };

function addExample(media: MediaType, schemas: Record<string, Schema>) {
  if (media.example !== undefined || media.examples !== undefined) {
    return;
  }
  const value = exampleOf(media.schema, schemas);
  if (value !== undefined) {
    media.example = value;
  }
}

type Operation = {
  requestBody?: { content?: Record<string, MediaType> };
  responses?: Record<string, { description: string; content?: Record<string, MediaType> }>;
};

function completeOperation(operation: Operation, path: string, schemas: Record<string, Schema>) {
  for (const media of Object.values(operation.requestBody?.content ?? {})) {
    addExample(media, schemas);
  }
  const responses = operation.responses ?? {};
  if (path.startsWith("/") && !responses["500"]) {
    responses["500"] = {
      description: "Internal error: retry later, and quote `request_id` if it persists",
      content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
    };
  }
  for (const [status, response] of Object.entries(responses)) {
    const problem = response.content?.["application/problem+json"];
    if (problem && problem.example === undefined) {
      problem.example = problemExample(status, path);
    }
    for (const media of Object.values(response.content ?? {})) {
      addExample(media, schemas);
    }
  }
  operation.responses = Object.fromEntries(
    Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)),
  );
}

/**
 * Drops a `discriminator` whose property some shape of its `oneOf` does not require: OpenAPI 3.1
 * allows one only when every shape has the property, and generators that trust it cannot read a
 * value without it (zod-to-openapi adds one for every `z.discriminatedUnion`, even when a shape's
 * tag is optional, as SendSms's `channel`). Without it, the shapes are still told apart by the
 * tag's values and the fields each requires.
 */
export function dropPartialDiscriminators(schemas: Record<string, Schema>): void {
  const resolve = (shape: unknown): Schema | undefined => {
    const ref = (shape as Schema | undefined)?.$ref;
    return typeof ref === "string"
      ? schemas[ref.replace("#/components/schemas/", "")]
      : (shape as Schema | undefined);
  };
  for (const schema of Object.values(schemas)) {
    const discriminator = schema.discriminator as { propertyName?: string } | undefined;
    const shapes = schema.oneOf ?? schema.anyOf;
    if (!discriminator?.propertyName || !Array.isArray(shapes)) {
      continue;
    }
    const property = discriminator.propertyName;
    const everyShapeRequiresIt = shapes.every((shape) => {
      const required = resolve(shape)?.required;
      return Array.isArray(required) && required.includes(property);
    });
    if (!everyShapeRequiresIt) {
      delete schema.discriminator;
    }
  }
}

/** Completes `document` in place and returns it. */
export function completeDocument<T extends object>(document: T): T {
  const doc = document as Document;
  const schemas = doc.components?.schemas ?? {};
  dropPartialDiscriminators(schemas);
  for (const items of [doc.paths, doc.webhooks]) {
    for (const [path, item] of Object.entries(items ?? {})) {
      for (const method of METHODS) {
        const operation = item[method] as Operation | undefined;
        if (operation) {
          completeOperation(operation, path, schemas);
        }
      }
    }
  }
  return document;
}
