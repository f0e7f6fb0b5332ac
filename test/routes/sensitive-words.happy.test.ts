import { describe, expect, it } from "vitest";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

interface Word {
  id: string;
  word: string;
  policy: "block" | "review" | "mask";
  created_at: string;
}

interface Page {
  data: Word[];
  next_cursor: string | null;
}

interface Screening {
  verdict: "allow" | "review" | "block";
  hits: {
    word: string;
    category: string | null;
    policy: string;
    start: number;
    end: number;
    source: "default" | "tenant";
  }[];
  masked: string;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

async function addWord(
  tenant: TestTenant,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return tenant.api("/v1/sensitive-words", postJson(body, headers));
}

async function created(tenant: TestTenant, word: string, policy = "block"): Promise<Word> {
  const res = await addWord(tenant, { word, policy });
  expect(res.status).toBe(201);
  return (await res.json()) as Word;
}

async function listWords(tenant: TestTenant, query = ""): Promise<Page> {
  const res = await tenant.api(`/v1/sensitive-words${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

async function check(tenant: TestTenant, text: string): Promise<Screening> {
  const res = await tenant.api("/v1/sensitive-words/check", postJson({ text }));
  expect(res.status).toBe(200);
  return (await res.json()) as Screening;
}

describe("POST /v1/sensitive-words (happy)", () => {
  it("adds a word and shows it with its id, policy and creation time", async () => {
    const tenant = await createTenant();
    const before = Date.now();
    const res = await addWord(tenant, { word: "内部价", policy: "review" });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toContain("application/json");
    const word = (await res.json()) as Word;
    expect(Object.keys(word).sort()).toEqual(["created_at", "id", "policy", "word"]);
    expect(word).toMatchObject({ word: "内部价", policy: "review" });
    expect(word.id).toMatch(/^sw_[0-9A-Z]{26}$/);
    expect(word.created_at).toMatch(ISO_TIME);
    expect(Date.parse(word.created_at)).toBeGreaterThanOrEqual(before - 1000);
  });

  it("trims the word and stores it folded: lower case and half width", async () => {
    const tenant = await createTenant();
    expect((await created(tenant, "  ＶＩＰ群 ")).word).toBe("vip群");
  });

  it("screens texts with the new word at once", async () => {
    const tenant = await createTenant();
    expect((await check(tenant, "领取优*惠 券")).verdict).toBe("allow");
    await created(tenant, "优惠券", "block");
    const screening = await check(tenant, "领取优*惠 券");
    expect(screening.verdict).toBe("block");
    expect(screening.hits).toEqual([
      { word: "优惠券", category: null, policy: "block", start: 2, end: 7, source: "tenant" },
    ]);
  });

  it("does not add a second word for a repeated Idempotency-Key", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "word-1" };
    const first = await addWord(tenant, { word: "秒杀", policy: "review" }, headers);
    const second = await addWord(tenant, { word: "秒杀", policy: "review" }, headers);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    const a = (await first.json()) as Word;
    expect(await second.json()).toEqual(a);
    expect((await listWords(tenant)).data.map((w) => w.id)).toEqual([a.id]);
  });
});

describe("GET /v1/sensitive-words (happy)", () => {
  it("lists the tenant's words newest first, page by page", async () => {
    const tenant = await createTenant();
    const words: Word[] = [];
    for (const word of ["一号词", "二号词", "三号词"]) {
      words.push(await created(tenant, word));
    }
    const newestFirst = words.map((w) => w.id).reverse();

    const first = await listWords(tenant, "?limit=2");
    expect(first.data.map((w) => w.id)).toEqual(newestFirst.slice(0, 2));
    expect(first.next_cursor).toBe(newestFirst[1]);
    const second = await listWords(tenant, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.data.map((w) => w.id)).toEqual(newestFirst.slice(2));
    expect(second.next_cursor).toBeNull();
    expect(second.data[0]).toEqual(words[0]);
  });

  it("lists nothing for a tenant without words (the built-in lexicon is not listed)", async () => {
    const tenant = await createTenant();
    expect(await listWords(tenant)).toEqual({ data: [], next_cursor: null });
  });
});

describe("POST /v1/sensitive-words/import (happy)", () => {
  it("adds new words, changes policies, and reports rejected ones by index", async () => {
    const tenant = await createTenant();
    await created(tenant, "团购", "block");
    await created(tenant, "拼单", "review");
    const res = await tenant.api(
      "/v1/sensitive-words/import",
      postJson({
        words: [
          { word: "团购", policy: "review" },
          { word: "拼单", policy: "review" },
          { word: "砍价", policy: "mask" },
          { word: "  ", policy: "block" },
          { word: "ＫＡＮ价", policy: "block" },
          { word: "kan价", policy: "review" },
          { word: "x".repeat(51), policy: "block" },
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      imported: 2,
      updated: 1,
      unchanged: 1,
      rejected: [
        { index: 3, reason: "the word must not be empty or only spaces" },
        { index: 5, reason: "the same word as /words/4" },
        { index: 6, reason: "the word must be at most 50 characters" },
      ],
    });
    const listed = (await listWords(tenant)).data.map(({ word, policy }) => `${word}:${policy}`);
    expect(listed.sort()).toEqual(["kan价:block", "团购:review", "拼单:review", "砍价:mask"]);
  });

  it("applies imported words to the next screening", async () => {
    const tenant = await createTenant();
    await tenant.api(
      "/v1/sensitive-words/import",
      postJson({ words: [{ word: "内幕价", policy: "mask" }] }),
    );
    const screening = await check(tenant, "独家内·幕·价，速来");
    expect(screening).toEqual({
      verdict: "allow",
      hits: [
        { word: "内幕价", category: null, policy: "mask", start: 2, end: 7, source: "tenant" },
      ],
      masked: "独家*****，速来",
    });
  });
});

describe("POST /v1/sensitive-words/check (happy)", () => {
  it("finds built-in words through case, width and noise, with their category", async () => {
    const tenant = await createTenant();
    const text = "【店】本店代 开-发*票，加微信";
    const screening = await check(tenant, text);
    expect(screening.verdict).toBe("block");
    expect(screening.hits).toEqual([
      {
        word: "代开发票",
        category: "counterfeit",
        policy: "block",
        start: 5,
        end: 12,
        source: "default",
      },
    ]);
    expect(text.slice(5, 12)).toBe("代 开-发*票");
  });

  it("stars mask words and allows the text", async () => {
    const tenant = await createTenant();
    expect(await check(tenant, "你这个傻 逼")).toEqual({
      verdict: "allow",
      hits: [
        {
          word: "傻逼",
          category: "profanity",
          policy: "mask",
          start: 3,
          end: 6,
          source: "default",
        },
      ],
      masked: "你这个***",
    });
  });

  it("gives review for a review word and allow for a clean text", async () => {
    const tenant = await createTenant();
    expect((await check(tenant, "全网最低价，仅限今日")).verdict).toBe("review");
    expect(await check(tenant, "您的验证码是 123456，5 分钟内有效。")).toEqual({
      verdict: "allow",
      hits: [],
      masked: "您的验证码是 123456，5 分钟内有效。",
    });
  });

  it("lets a tenant word replace the built-in entry for the same word", async () => {
    const tenant = await createTenant();
    await created(tenant, "ＦＵＣＫ", "block");
    const screening = await check(tenant, "what the fuck");
    expect(screening.verdict).toBe("block");
    expect(screening.hits).toEqual([
      { word: "fuck", category: null, policy: "block", start: 9, end: 13, source: "tenant" },
    ]);
  });
});

describe("DELETE /v1/sensitive-words/{id} (happy)", () => {
  it("removes the word from the list and from screening", async () => {
    const tenant = await createTenant();
    const kept = await created(tenant, "留下的词");
    const doomed = await created(tenant, "删掉的词");
    expect((await check(tenant, "删掉的词")).verdict).toBe("block");

    const res = await tenant.api(`/v1/sensitive-words/${doomed.id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await listWords(tenant)).data.map((w) => w.id)).toEqual([kept.id]);
    expect((await check(tenant, "删掉的词")).verdict).toBe("allow");
  });
});
