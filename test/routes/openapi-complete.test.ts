import { describe, expect, it } from "vitest";
import {
  completeDocument,
  dropPartialDiscriminators,
  exampleOf,
} from "../../src/routes/openapi-complete";

const schemas = {
  Id: { type: "string", pattern: "^msg_[0-9A-Z]{26}$" },
};

describe("examples built from schemas", () => {
  it("prefers declared examples, then enums, formats, patterns and bounds", () => {
    expect(
      exampleOf(
        {
          type: "object",
          properties: {
            id: { $ref: "#/components/schemas/Id" },
            to: { type: "string", example: "+8613800138000" },
            status: { type: "string", enum: ["queued", "sent"] },
            at: { type: "string", format: "date-time" },
            count: { type: "integer", minimum: 5, maximum: 9 },
            tags: { type: "array", items: { type: "string", minLength: 1 }, minItems: 2 },
            note: { type: ["string", "null"], maxLength: 3 },
          },
          required: ["id"],
        },
        schemas,
      ),
    ).toEqual({
      id: "msg_01JF3Z8Q6W2N7V5K4T9R1M0ABC",
      to: "+8613800138000",
      status: "queued",
      at: "2026-12-07T12:00:00.000Z",
      count: 5,
      tags: ["string", "string"],
      note: "str",
    });
  });

  it("gives none when a required field's pattern cannot be met, and leaves out an optional one", () => {
    const impossible = { type: "string", pattern: "^zz[0-9]{40}$" };
    expect(exampleOf({ type: "object", properties: { a: impossible }, required: ["a"] }, {})).toBe(
      undefined,
    );
    expect(exampleOf({ type: "object", properties: { a: impossible } }, {})).toEqual({});
  });
});

describe("the completed document", () => {
  it("adds a 500 and problem examples to every operation, keeping what routes declared", () => {
    const problem = { schema: { $ref: "#/components/schemas/Problem" } };
    const doc = completeDocument({
      paths: {
        "/v1/things/{id}": {
          get: {
            responses: {
              "200": {
                description: "ok",
                content: { "application/json": { schema: { type: "object" }, example: { a: 1 } } },
              },
              "404": { description: "missing", content: { "application/problem+json": problem } },
            },
          },
        },
      },
      components: { schemas: {} },
    });
    type Media = { example?: unknown };
    const responses = doc.paths["/v1/things/{id}"].get.responses as Record<
      string,
      { content: Record<string, Media> }
    >;
    expect(Object.keys(responses)).toEqual(["200", "404", "500"]);
    expect(responses["200"]?.content["application/json"]?.example).toEqual({ a: 1 });
    expect(responses["404"]?.content["application/problem+json"]?.example).toMatchObject({
      type: "https://relaybox.dev/problems/not-found",
      status: 404,
    });
    expect(responses["500"]?.content["application/problem+json"]?.example).toMatchObject({
      type: "https://relaybox.dev/problems/internal",
      status: 500,
    });
  });
});

describe("discriminators", () => {
  const shapes = () => ({
    A: { type: "object", properties: { kind: { enum: ["a"] } }, required: ["kind"] },
    B: { type: "object", properties: { kind: { enum: ["b"] } }, required: ["kind", "x"] },
    C: { type: "object", properties: { kind: { enum: ["c"] } }, required: ["y"] },
  });
  const union = (refs: string[]) => ({
    oneOf: refs.map((name) => ({ $ref: `#/components/schemas/${name}` })),
    discriminator: { propertyName: "kind" },
  });

  it("keeps one whose property every shape requires", () => {
    const schemas: Record<string, Record<string, unknown>> = { ...shapes(), U: union(["A", "B"]) };
    dropPartialDiscriminators(schemas);
    expect(schemas.U?.discriminator).toEqual({ propertyName: "kind" });
  });

  it("drops one whose property a shape may leave out, keeping the oneOf", () => {
    const schemas: Record<string, Record<string, unknown>> = {
      ...shapes(),
      U: union(["A", "B", "C"]),
    };
    dropPartialDiscriminators(schemas);
    expect(schemas.U).toEqual({ oneOf: union(["A", "B", "C"]).oneOf });
  });
});
