import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { approvedTemplate, CODE_TEMPLATE } from "../support/templates";
import { createTenant, postJson, type TestTenant } from "../support/tenants";

async function addWord(tenant: TestTenant, word: string, policy: string) {
  await env.DB.prepare(
    "INSERT INTO sensitive_words (id, tenant_id, word, policy, created_at) VALUES (?, ?, ?, ?, ?)",
  )
    .bind(`sw_${crypto.randomUUID()}`, tenant.id, word, policy, Date.now())
    .run();
}

async function messageCount(tenant: TestTenant): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE tenant_id = ?")
    .bind(tenant.id)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("sending: rule breaks are 422s that name each problem and send nothing", () => {
  it("names each missing, extra, too long and mistyped variable", async () => {
    const tenant = await createTenant();
    const templateId = await approvedTemplate(tenant);
    const res = await tenant.api(
      "/v1/messages",
      postJson({
        to: "+8613800138000",
        template_id: templateId,
        variables: { code: "123456789", colour: "red" },
      }),
    );
    const problem = await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/messages",
      pointers: ["/variables/code", "/variables/colour", "/variables/minutes"],
    });
    const detailOf = (pointer: string) =>
      problem.errors?.find((e) => e.pointer === pointer)?.detail;
    expect(detailOf("/variables/minutes")).toMatch(/missing/);
    expect(detailOf("/variables/colour")).toMatch(/not declared|unknown|extra/);
    expect(detailOf("/variables/code")).toMatch(/at most 8/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await messageCount(tenant)).toBe(0);
  });

  it("names even values no template could take (very long, null, an object) in the 422", async () => {
    const tenant = await createTenant();
    const templateId = await approvedTemplate(tenant);
    const problem = await expectProblem(
      await tenant.api(
        "/v1/messages",
        postJson({
          to: "+8613800138000",
          template_id: templateId,
          variables: { code: "9".repeat(5000), minutes: null, [`x${"y".repeat(80)}`]: { a: 1 } },
        }),
      ),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/messages",
        pointers: ["/variables/code", "/variables/minutes", `/variables/x${"y".repeat(80)}`],
      },
    );
    expect(problem.errors?.find((e) => e.pointer === "/variables/minutes")?.detail).toMatch(
      /missing/,
    );
    expect(await messageCount(tenant)).toBe(0);
  });

  it("refuses text that cannot be sent as written: a lone surrogate, a control character", async () => {
    const tenant = await createTenant();
    for (const body of ["Hi \ud800 there", "Hi\u0000", "Hi\u001b[31m"]) {
      await expectProblem(
        await tenant.api("/v1/messages", postJson({ to: "+8613800138000", body })),
        { status: 400, slug: "validation-error", instance: "/v1/messages", pointers: ["/body"] },
      );
    }
    const fine = await tenant.api(
      "/v1/messages/preview",
      postJson({ to: "+14155550123", body: "Line one\r\nLine two 👍🏽" }),
    );
    expect(fine.status).toBe(200);
  });

  it("refuses a template that is not approved, or unknown, pointing at template_id", async () => {
    const tenant = await createTenant();
    const created = await tenant.api("/v1/templates", postJson(CODE_TEMPLATE));
    const { id } = (await created.json()) as { id: string };
    for (const templateId of [id, "tpl_01JD3M6Y8Z5Q7K2N4P6R8T0V2X"]) {
      const res = await tenant.api(
        "/v1/messages",
        postJson({
          to: "+8613800138000",
          template_id: templateId,
          variables: { code: "1", minutes: 1 },
        }),
      );
      await expectProblem(res, {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/messages",
        pointers: ["/template_id"],
      });
    }
  });

  it("refuses a free body with a blocked word, even with noise inserted, listing each hit and its span", async () => {
    const tenant = await createTenant();
    await addWord(tenant, "敏感词", "block");
    await addWord(tenant, "casino", "block");
    const body = "Hi 敏*感 词 and CASINO";
    const res = await tenant.api("/v1/messages", postJson({ to: "+8613800138000", body }));
    const problem = await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/messages",
      pointers: ["/body", "/body"],
    });
    const hits = (problem as unknown as { hits: { word: string; start: number; end: number }[] })
      .hits;
    expect(hits.map((h) => [h.word, body.slice(h.start, h.end)])).toEqual([
      ["敏感词", "敏*感 词"],
      ["casino", "CASINO"],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await messageCount(tenant)).toBe(0);
  });

  it("screens the text as smart encoding makes it, so look-alike letters hide nothing", async () => {
    const tenant = await createTenant();
    // Greek capitals: smart encoding sends them as the Latin letters they look like.
    const body = "Cheap ΚΕΤΑΜΙΝΕ tonight";
    await expectProblem(
      await tenant.api(
        "/v1/messages",
        postJson({ to: "+14155550123", body, smart_encoding: true }),
      ),
      { status: 422, slug: "unprocessable-entity", instance: "/v1/messages", pointers: ["/body"] },
    );
    expect(await messageCount(tenant)).toBe(0);
  });

  it("sends to China only under the account's own approved signature", async () => {
    const tenant = await createTenant();
    for (const body of ["【中国银行】您的账户异常，请点击链接", "【Relaybox 】Hi"]) {
      const problem = await expectProblem(
        await tenant.api("/v1/messages", postJson({ to: "+8613800138000", body })),
        {
          status: 422,
          slug: "unprocessable-entity",
          instance: "/v1/messages",
          pointers: ["/body"],
        },
      );
      expect(problem.detail).toMatch(/not this account's approved one \(【Relaybox】\)/);
    }
    // A variable cannot put another signature in front either.
    const templateId = await approvedTemplate(tenant, {
      name: "Greeting",
      kind: "notification",
      body: "{{name}}, your order has shipped.",
      variables: [{ name: "name", type: "string", max_length: 20 }],
    });
    await expectProblem(
      await tenant.api(
        "/v1/messages",
        postJson({
          to: "+8613800138000",
          template_id: templateId,
          variables: { name: "【工商银行】" },
        }),
      ),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/messages",
        pointers: ["/variables"],
      },
    );
    // The account's own signature already in place is not doubled.
    const own = await tenant.api(
      "/v1/messages/preview",
      postJson({ to: "+8613800138000", body: "【Relaybox】Your parcel is here" }),
    );
    expect(((await own.json()) as { text: string }).text).toBe("【Relaybox】Your parcel is here");
    expect(await messageCount(tenant)).toBe(0);
  });

  it("refuses Chinese numbers for an account without an approved signature, not others", async () => {
    const tenant = await createTenant();
    await env.DB.prepare("UPDATE tenants SET signature = NULL WHERE id = ?").bind(tenant.id).run();
    const problem = await expectProblem(
      await tenant.api("/v1/messages", postJson({ to: "+8613800138000", body: "Hi" })),
      { status: 422, slug: "unprocessable-entity", instance: "/v1/messages", pointers: ["/body"] },
    );
    expect(problem.detail).toMatch(/signature/);
    const us = await tenant.api("/v1/messages", postJson({ to: "+14155550123", body: "Hi" }));
    expect(us.status).toBe(202);
  });

  it("holds back a free body with a word that needs review", async () => {
    const tenant = await createTenant();
    await addWord(tenant, "guaranteed", "review");
    const res = await tenant.api(
      "/v1/messages",
      postJson({ to: "+8613800138000", body: "Guaranteed returns!" }),
    );
    const problem = await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/messages",
      pointers: ["/body"],
    });
    expect(problem.detail).toMatch(/review/);
  });

  it("refuses a send_at in the past or more than 35 days ahead", async () => {
    const tenant = await createTenant();
    for (const sendAt of [
      new Date(Date.now() - 5 * 60_000).toISOString(),
      new Date(Date.now() + 36 * 24 * 3_600_000).toISOString(),
    ]) {
      const res = await tenant.api(
        "/v1/messages",
        postJson({ to: "+8613800138000", body: "Hi", send_at: sendAt }),
      );
      await expectProblem(res, {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/messages",
        pointers: ["/send_at"],
      });
    }
  });

  it("answers 404 for canceling another tenant's message, and 400 for a malformed id", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const res = await owner.api(
      "/v1/messages",
      postJson({
        to: "+8613800138000",
        body: "Hi",
        send_at: new Date(Date.now() + 60_000).toISOString(),
      }),
    );
    const { id } = (await res.json()) as { id: string };
    await expectProblem(await other.api(`/v1/messages/${id}/cancel`, { method: "POST" }), {
      status: 404,
      slug: "not-found",
      instance: `/v1/messages/${id}/cancel`,
    });
    const mine = await owner.api(`/v1/messages/${id}`);
    expect(await mine.json()).toMatchObject({ status: "scheduled" });
    await expectProblem(await owner.api("/v1/messages/nope/cancel", { method: "POST" }), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/messages/nope/cancel",
    });
  });

  it("does not let one tenant send or preview another tenant's template", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const templateId = await approvedTemplate(owner);
    for (const path of ["/v1/messages", "/v1/messages/preview"]) {
      const res = await other.api(
        path,
        postJson({
          to: "+8613800138000",
          template_id: templateId,
          variables: { code: "1", minutes: 1 },
        }),
      );
      await expectProblem(res, {
        status: 422,
        slug: "unprocessable-entity",
        instance: path,
        pointers: ["/template_id"],
      });
    }
  });
});
