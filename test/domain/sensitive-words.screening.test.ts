/** The screening that templates, signatures and sends call: src/services/content/sensitive-words.ts. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { sensitiveWords } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import { ApiError } from "../../src/lib/problem";
import {
  loadScreener,
  refuseBlocked,
  type Screening,
  screenText,
} from "../../src/services/content/sensitive-words";
import { createTenant } from "../support/tenants";

/** A word written straight to D1, as another isolate would. */
async function insertWord(tenantId: string, word: string, policy: "block" | "review" | "mask") {
  await database(env.DB)
    .insert(sensitiveWords)
    .values({ id: newId("sw"), tenantId, word, policy, createdAt: Date.now() });
}

function refusal(screening: Screening, pointer: string): ApiError {
  try {
    refuseBlocked(screening, pointer);
  } catch (error) {
    if (error instanceof ApiError) {
      return error;
    }
    throw error;
  }
  throw new Error("refuseBlocked did not refuse");
}

describe("screenText", () => {
  it("reports every hit with its source, the verdict and the masked text", async () => {
    const tenant = await createTenant();
    await insertWord(tenant.id, "团购", "review");
    const text = "傻逼团购，代开发票";
    const screening = await screenText(env, tenant.id, text);
    expect(screening).toEqual({
      hits: [
        {
          word: "傻逼",
          category: "profanity",
          policy: "mask",
          start: 0,
          end: 2,
          source: "default",
        },
        { word: "团购", category: null, policy: "review", start: 2, end: 4, source: "tenant" },
        {
          word: "代开发票",
          category: "counterfeit",
          policy: "block",
          start: 5,
          end: 9,
          source: "default",
        },
      ],
      verdict: "block",
      masked: "**团购，代开发票",
    });
  });

  it("gives review when the worst hit is a review word, allow when there is none", async () => {
    const tenant = await createTenant();
    expect((await screenText(env, tenant.id, "国家级品质")).verdict).toBe("review");
    expect((await screenText(env, tenant.id, "你好")).verdict).toBe("allow");
  });
});

describe("loadScreener", () => {
  it("screens many texts with one load", async () => {
    const tenant = await createTenant();
    await insertWord(tenant.id, "拼单", "block");
    const screen = await loadScreener(env, tenant.id);
    const verdicts = ["拼单", "你好", "拼 单", "赌博"].map((text) => screen(text).verdict);
    expect(verdicts).toEqual(["block", "allow", "block", "block"]);
  });

  it("keeps a tenant's lexicon for 30 s: a word written elsewhere is seen after that", async () => {
    const tenant = await createTenant();
    const now = Date.now();
    const before = await loadScreener(env, tenant.id, now);
    await insertWord(tenant.id, "砍一刀", "block");
    expect((await loadScreener(env, tenant.id, now + 29_000))("砍一刀").verdict).toBe("allow");
    expect(await loadScreener(env, tenant.id, now + 29_000)).toBe(before);
    expect((await loadScreener(env, tenant.id, now + 31_000))("砍一刀").verdict).toBe("block");
  });
});

describe("refuseBlocked", () => {
  it("refuses a blocked text with 422, an error per blocked hit and every hit", async () => {
    const tenant = await createTenant();
    const screening = await screenText(env, tenant.id, "网络赌博，傻逼，代 开 发 票");
    const error = refusal(screening, "/body");
    expect(error.status).toBe(422);
    expect(error.slug).toBe("unprocessable-entity");
    expect(error.errors).toEqual([
      { pointer: "/body", detail: 'contains the blocked word "网络赌博" at 0–4' },
      { pointer: "/body", detail: 'contains the blocked word "赌博" at 2–4' },
      { pointer: "/body", detail: 'contains the blocked word "代开发票" at 8–15' },
    ]);
    const problem = error.toProblem("/v1/templates/tpl_1/submit", "req_1");
    expect(problem).toMatchObject({
      status: 422,
      detail: expect.stringMatching(/"网络赌博", "赌博", "代开发票"/),
      hits: screening.hits,
    });
    expect(screening.hits.map((hit) => hit.policy)).toEqual(["block", "block", "mask", "block"]);
  });

  it("lets review and allow verdicts through", async () => {
    const tenant = await createTenant();
    for (const text of ["全网最低价", "你好", "傻逼"]) {
      const screening = await screenText(env, tenant.id, text);
      expect(() => refuseBlocked(screening, "/body")).not.toThrow();
    }
  });
});
