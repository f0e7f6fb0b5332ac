/**
 * SMS keyword queries: a rule `{type: "query", endpoint_id}` asks the tenant's endpoint (signed
 * like webhooks) and sends its answer back by SMS through the normal send path, once.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { verifyWebhookSignature } from "../../src/domain/webhook-signature";
import { autoReplyStageWith } from "../../src/services/inbound/auto-reply-stage";
import { handleInbound } from "../../src/services/inbound/handling";
import { inboundRow, noWait, storeInbound } from "../support/inbound";
import { expectProblem } from "../support/problem";
import { call, createTenant, messageReaches, postJson, type TestTenant } from "../support/tenants";
import { createEndpoint } from "../support/webhooks";

async function queryRule(tenant: TestTenant, endpointId: string): Promise<string> {
  const res = await tenant.api(
    "/v1/auto-replies",
    postJson({
      match: "prefix",
      keyword: "快递",
      reply: { type: "query", endpoint_id: endpointId },
    }),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

function endpoint(answer: () => Response) {
  const seen: { url: string; redirect: string; signature: string | null; body: string }[] = [];
  const fetch = async (request: Request) => {
    seen.push({
      url: request.url,
      redirect: request.redirect,
      signature: request.headers.get("Relaybox-Signature"),
      body: await request.text(),
    });
    return answer();
  };
  return { seen, fetch };
}

describe("an SMS keyword answered by the tenant's endpoint", () => {
  it("asks the endpoint with a signed query and replies by SMS with its answer, once", async () => {
    const tenant = await createTenant();
    const hook = await createEndpoint(tenant);
    const ruleId = await queryRule(tenant, hook.id);
    const net = endpoint(() => Response.json({ reply: "SF1234567 已到达北京" }));
    const stage = autoReplyStageWith(net.fetch);
    const inbound = await storeInbound(tenant.id, { body: "快递 SF1234567" });
    const handling = await handleInbound(env, inbound, noWait, [stage]);
    const result = handling.auto_reply as { rule_id: string; message_id: string };
    expect(result.rule_id).toBe(ruleId);
    const sent = await messageReaches(tenant, result.message_id, "delivered");
    expect(sent).toMatchObject({ to: inbound.sender });
    expect(String(sent.body)).toContain("SF1234567 已到达北京");

    expect(net.seen).toHaveLength(1);
    const [request] = net.seen;
    expect(request?.redirect).toBe("manual");
    expect(
      await verifyWebhookSignature(request?.signature ?? null, request?.body ?? "", hook.secret),
    ).toBe(true);
    expect(JSON.parse(request?.body ?? "{}")).toEqual({
      id: expect.stringMatching(/^qry_[0-9A-Z]{26}$/),
      type: "query",
      channel: "sms",
      from: inbound.sender,
      text: "快递 SF1234567",
      conversation_id: inbound.conversationId,
      received_at: new Date(inbound.receivedAt).toISOString(),
    });

    // Handled again (a redelivery): the reply is recorded, the endpoint is not asked again.
    const fresh = await inboundRow(inbound.id);
    expect(fresh?.autoReplyMessageId).toBe(result.message_id);
    if (fresh) {
      expect((await handleInbound(env, fresh, noWait, [stage])).auto_reply).toEqual(result);
    }
    expect(net.seen).toHaveLength(1);
  });

  it("sends nothing for a 204, and records why nothing went for a failing endpoint", async () => {
    const tenant = await createTenant();
    const hook = await createEndpoint(tenant);
    await queryRule(tenant, hook.id);
    const quiet = autoReplyStageWith(endpoint(() => new Response(null, { status: 204 })).fetch);
    const first = await storeInbound(tenant.id, { body: "快递 1" });
    expect((await handleInbound(env, first, noWait, [quiet])).auto_reply).toMatchObject({
      skipped: "no_reply",
    });
    const broken = autoReplyStageWith(endpoint(() => new Response("oops", { status: 500 })).fetch);
    const second = await storeInbound(tenant.id, { body: "快递 2" });
    expect((await handleInbound(env, second, noWait, [broken])).auto_reply).toMatchObject({
      skipped: "refused",
      reason: "the query endpoint: the endpoint answered HTTP 500",
    });
    const { results } = await env.DB.prepare("SELECT id FROM messages WHERE tenant_id = ?")
      .bind(tenant.id)
      .all();
    expect(results).toEqual([]);
  });

  it("records each query on its rule: GET /v1/auto-replies/{id}/queries", async () => {
    const tenant = await createTenant();
    const hook = await createEndpoint(tenant);
    const ruleId = await queryRule(tenant, hook.id);
    const answers = [
      () => Response.json({ reply: "SF1 已签收" }),
      () => new Response(null, { status: 204 }),
      () => new Response("oops", { status: 500 }),
    ];
    for (const [i, answer] of answers.entries()) {
      const inbound = await storeInbound(tenant.id, { body: `快递 ${i}` });
      await handleInbound(env, inbound, noWait, [autoReplyStageWith(endpoint(answer).fetch)]);
    }
    const res = await tenant.api(`/v1/auto-replies/${ruleId}/queries`);
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Record<string, unknown>[] };
    expect(data.map((q) => [q.status, q.reason])).toEqual([
      ["failed", "the endpoint answered HTTP 500"],
      ["no_reply", null],
      ["answered", null],
    ]);
    expect(data[0]).toMatchObject({
      rule_id: ruleId,
      channel: "sms",
      app_id: null,
      endpoint_id: hook.id,
      latency_ms: expect.any(Number),
    });
    const { key } = await tenant.addKey(["messages:send"]);
    const path = `/v1/auto-replies/${ruleId}/queries`;
    expect((await call(path, key)).status).toBe(403);
  });

  it("refuses a query rule naming another tenant's endpoint", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const theirs = await createEndpoint(other);
    await expectProblem(
      await tenant.api(
        "/v1/auto-replies",
        postJson({
          match: "exact",
          keyword: "快递",
          reply: { type: "query", endpoint_id: theirs.id },
        }),
      ),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/auto-replies",
        pointers: ["/reply/endpoint_id"],
      },
    );
  });
});
