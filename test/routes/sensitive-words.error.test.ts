import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { expectMalformedJsonRefused } from "../support/route-checks";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

async function listedWords(tenant: TestTenant): Promise<string[]> {
  const res = await tenant.api("/v1/sensitive-words?limit=100");
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { word: string }[] }).data.map((w) => w.word);
}

describe("POST /v1/sensitive-words (errors)", () => {
  it.each([
    { what: "an empty word", body: { word: "", policy: "block" }, pointers: ["/word"] },
    { what: "a blank word", body: { word: "   ", policy: "block" }, pointers: ["/word"] },
    {
      what: "a word over 50 characters",
      body: { word: "字".repeat(51), policy: "block" },
      pointers: ["/word"],
    },
    {
      what: "a word with a line break",
      body: { word: "代开\n发票", policy: "block" },
      pointers: ["/word"],
    },
    {
      what: "a word that is not a string",
      body: { word: 42, policy: "block" },
      pointers: ["/word"],
    },
    { what: "a missing word", body: { policy: "block" }, pointers: ["/word"] },
    { what: "a missing policy", body: { word: "团购" }, pointers: ["/policy"] },
    { what: "an unknown policy", body: { word: "团购", policy: "ban" }, pointers: ["/policy"] },
    {
      what: "an unknown field",
      body: { word: "团购", policy: "block", category: "ads" },
      pointers: ["/category"],
    },
  ])(
    "refuses $what with 400 and a pointer to the field, adding nothing",
    async ({ body, pointers }) => {
      const tenant = await createTenant();
      const res = await tenant.api("/v1/sensitive-words", postJson(body));
      await expectProblem(res, {
        status: 400,
        slug: "validation-error",
        instance: "/v1/sensitive-words",
        pointers,
      });
      expect(await listedWords(tenant)).toEqual([]);
    },
  );

  it("refuses a word already in the lexicon, in any case or width, with 409", async () => {
    const tenant = await createTenant();
    const first = await tenant.api(
      "/v1/sensitive-words",
      postJson({ word: "qq群", policy: "block" }),
    );
    expect(first.status).toBe(201);
    const { id } = (await first.json()) as { id: string };

    const res = await tenant.api(
      "/v1/sensitive-words",
      postJson({ word: "ＱＱ群", policy: "mask" }),
    );
    await expectProblem(res, {
      status: 409,
      slug: "conflict",
      instance: "/v1/sensitive-words",
      detail: new RegExp(`already in your lexicon as ${id}`),
      pointers: ["/word"],
    });
    const page = (await (await tenant.api("/v1/sensitive-words")).json()) as {
      data: { word: string; policy: string }[];
    };
    expect(page.data).toMatchObject([{ word: "qq群", policy: "block" }]);
  });

  it("refuses a body that is not well-formed JSON with 400", async () => {
    const tenant = await createTenant();
    await expectMalformedJsonRefused(tenant, "/v1/sensitive-words", '{"word": ');
  });

  it("refuses a body that is not JSON with 415", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/sensitive-words", {
      method: "POST",
      body: "word=团购&policy=block",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    await expectProblem(res, {
      status: 415,
      slug: "unsupported-media-type",
      instance: "/v1/sensitive-words",
    });
    expect(await listedWords(tenant)).toEqual([]);
  });

  it("refuses an Idempotency-Key reused with another body with 422", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "words-1" };
    const first = await tenant.api(
      "/v1/sensitive-words",
      postJson({ word: "团购", policy: "block" }, headers),
    );
    expect(first.status).toBe(201);
    const res = await tenant.api(
      "/v1/sensitive-words",
      postJson({ word: "拼单", policy: "block" }, headers),
    );
    await expectProblem(res, {
      status: 422,
      slug: "idempotency-key-reused",
      instance: "/v1/sensitive-words",
      pointers: ["/headers/idempotency-key"],
    });
    expect(await listedWords(tenant)).toEqual(["团购"]);
  });
});

describe("POST /v1/sensitive-words/import (errors)", () => {
  const path = "/v1/sensitive-words/import";

  it.each([
    { what: "an empty list", body: { words: [] }, pointers: ["/words"] },
    { what: "a missing list", body: {}, pointers: ["/words"] },
    {
      what: "over 10,000 words",
      body: {
        words: Array.from({ length: 10_001 }, (_, i) => ({ word: `w${i}`, policy: "block" })),
      },
      pointers: ["/words"],
    },
    {
      what: "an unknown policy in one entry",
      body: {
        words: [
          { word: "甲", policy: "block" },
          { word: "乙", policy: "drop" },
        ],
      },
      pointers: ["/words/1/policy"],
    },
    {
      what: "an entry that is not an object",
      body: { words: [{ word: "甲", policy: "block" }, "乙"] },
      pointers: ["/words/1"],
    },
    {
      what: "an unknown field in an entry",
      body: { words: [{ word: "甲", policy: "block", note: "x" }] },
      pointers: ["/words/0/note"],
    },
  ])("refuses $what with 400, importing nothing", async ({ body, pointers }) => {
    const tenant = await createTenant();
    const res = await tenant.api(path, postJson(body));
    await expectProblem(res, { status: 400, slug: "validation-error", instance: path, pointers });
    expect(await listedWords(tenant)).toEqual([]);
  });

  it("imports nothing when every word is rejected, and says why for each", async () => {
    const tenant = await createTenant();
    const res = await tenant.api(
      path,
      postJson({
        words: [
          { word: "", policy: "block" },
          { word: "a\u0007b", policy: "block" },
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      imported: 0,
      updated: 0,
      unchanged: 0,
      rejected: [
        { index: 0, reason: "the word must not be empty or only spaces" },
        {
          index: 1,
          reason: "the word must not contain control characters (tabs, line breaks…)",
        },
      ],
    });
    expect(await listedWords(tenant)).toEqual([]);
  });
});

describe("POST /v1/sensitive-words/check (errors)", () => {
  const path = "/v1/sensitive-words/check";

  it.each([
    { what: "an empty text", body: { text: "" }, pointers: ["/text"] },
    {
      what: "a text over 10,000 characters",
      body: { text: "字".repeat(10_001) },
      pointers: ["/text"],
    },
    { what: "a missing text", body: {}, pointers: ["/text"] },
    { what: "a text that is not a string", body: { text: ["赌博"] }, pointers: ["/text"] },
    {
      what: "an unknown field",
      body: { text: "hi", skip_noise: false },
      pointers: ["/skip_noise"],
    },
  ])("refuses $what with 400", async ({ body, pointers }) => {
    const tenant = await createTenant();
    const res = await tenant.api(path, postJson(body));
    await expectProblem(res, { status: 400, slug: "validation-error", instance: path, pointers });
  });
});

describe("GET /v1/sensitive-words (errors)", () => {
  it.each([
    { query: "limit=0", pointer: "/query/limit" },
    { query: "limit=101", pointer: "/query/limit" },
    { query: "cursor=key_00000000000000000000000000", pointer: "/query/cursor" },
  ])("refuses ?$query with 400 pointing at the parameter", async ({ query, pointer }) => {
    const tenant = await createTenant();
    const res = await tenant.api(`/v1/sensitive-words?${query}`);
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/sensitive-words",
      pointers: [pointer],
    });
  });
});

describe("DELETE /v1/sensitive-words/{id} (errors)", () => {
  it("refuses a malformed id with 400 pointing at the path", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/sensitive-words/not-a-word", { method: "DELETE" });
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/sensitive-words/not-a-word",
      detail: /sensitive word id/,
      pointers: ["/path/id"],
    });
  });

  it("answers 404 for a well-formed id that does not exist", async () => {
    const tenant = await createTenant();
    const id = `sw_${"0".repeat(26)}`;
    const res = await tenant.api(`/v1/sensitive-words/${id}`, { method: "DELETE" });
    await expectProblem(res, {
      status: 404,
      slug: "not-found",
      instance: `/v1/sensitive-words/${id}`,
      detail: new RegExp(id),
    });
  });

  it("answers 404 for a word already deleted", async () => {
    const tenant = await createTenant();
    const res = await tenant.api(
      "/v1/sensitive-words",
      postJson({ word: "团购", policy: "block" }),
    );
    const { id } = (await res.json()) as { id: string };
    const path = `/v1/sensitive-words/${id}`;
    expect((await tenant.api(path, { method: "DELETE" })).status).toBe(204);
    await expectProblem(await tenant.api(path, { method: "DELETE" }), {
      status: 404,
      slug: "not-found",
      instance: path,
    });
  });
});
