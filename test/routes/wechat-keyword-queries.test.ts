/**
 * Keyword queries answered by the tenant's own endpoint, for a WeChat account of the local
 * sandbox: the signed request, the answer as the passive reply, and WeChat's deadline (a late
 * answer is sent as a customer-service message). The webhook's service is called with a fake
 * network for the endpoint and, but for one test, a short deadline.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { wechatSandboxOf } from "../../src/delivery/wechat-sandbox";
import { verifyWebhookSignature } from "../../src/domain/webhook-signature";
import { receiveDelivery } from "../../src/services/wechat/webhook";
import { type DeliveryIO, defaultDeliveryIO } from "../../src/services/wechat/webhook-actions";
import { expectProblem } from "../support/problem";
import { createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { type CreatedEndpoint, createEndpoint } from "../support/webhooks";
import { signDelivery, textMessage } from "../support/wechat";
import { FOLLOWERS, followerSays, type SandboxApp, sandboxApp } from "../support/wechat-sandbox";

const [alice] = FOLLOWERS;
const ENDPOINT_URL = "https://hooks.example.com/relaybox";

interface Seen {
  url: string;
  redirect: string;
  signature: string | null;
  body: string;
}

/** The tenant's endpoint: answers each request with `answer`, after `delayMs`. */
function endpoint(answer: () => Response | Promise<Response>, delayMs = 0) {
  const seen: Seen[] = [];
  const fetch = async (request: Request) => {
    seen.push({
      url: request.url,
      redirect: request.redirect,
      signature: request.headers.get("Relaybox-Signature"),
      body: await request.text(),
    });
    if (delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    return answer();
  };
  return { seen, fetch };
}

async function queryApp(): Promise<{
  tenant: TestTenant;
  app: SandboxApp;
  hook: CreatedEndpoint;
  ruleId: string;
}> {
  const tenant = await createTenant();
  const app = await sandboxApp(tenant, "plaintext");
  const hook = await createEndpoint(tenant, { events: ["inbound.received"] });
  const rule = await app.live(
    `/v1/wechat/apps/${app.appId}/auto-replies`,
    postJson({
      match: "prefix",
      keyword: "balance",
      reply: { type: "query", endpoint_id: hook.id },
    }),
  );
  expect(rule.status, await rule.clone().text()).toBe(201);
  const { id: ruleId } = (await rule.json()) as { id: string };
  // The follower wrote: WeChat's 48-hour window is open at the sandbox's end.
  await wechatSandboxOf(env, app.appId).followerSpoke(alice);
  return { tenant, app, hook, ruleId };
}

/** An endpoint's answer that comes only once the test releases it. */
function held(reply: string) {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const answer = async () => {
    await released;
    return Response.json({ reply });
  };
  return { answer, release };
}

/**
 * A follower's text through the webhook's service, the delivery having arrived `arrivedAgoMs`
 * before the call; the background work it leaves, to await.
 */
async function follower(appId: string, text: string, io: Partial<DeliveryIO>, arrivedAgoMs = 0) {
  const background: Promise<unknown>[] = [];
  const msgId = String(Date.now() * 1000 + Math.floor(Math.random() * 1000));
  // A text as WeChat sends it now: its CreateTime opens the follower's window on our side.
  const xml = textMessage(text, msgId, alice).replace(
    "<CreateTime>1700000000</CreateTime>",
    `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime>`,
  );
  const delivery = await signDelivery(appId, xml, { mode: "plaintext" });
  const answer = await receiveDelivery(
    env,
    appId,
    Object.fromEntries(delivery.query),
    delivery.body,
    Date.now() - arrivedAgoMs,
    { ...defaultDeliveryIO(), waitUntil: (p) => background.push(p), ...io },
  );
  return { answer, background };
}

async function customerServiceTexts(app: SandboxApp): Promise<string[]> {
  const res = await app.live(`/v1/sandbox/wechat/${app.appId}/received?limit=10`);
  const { data } = (await res.json()) as {
    data: { kind: string; openid: string; content: { text?: { content: string } } }[];
  };
  return data
    .filter((m) => m.kind === "customer_service" && m.openid === alice)
    .map((m) => m.content.text?.content ?? "");
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a WeChat keyword answered by the tenant's endpoint", () => {
  it("POSTs the query signed like webhooks and passes the answer on as the passive reply", async () => {
    const { app, hook } = await queryApp();
    const net = endpoint(() => Response.json({ reply: "Your balance is ¥42.00" }));
    const { answer, background } = await follower(app.appId, "balance 42", {
      fetch: net.fetch,
      queryDeadlineMs: 2_000,
    });
    expect(answer.contentType).toBe("application/xml; charset=utf-8");
    expect(answer.body).toContain("<Content><![CDATA[Your balance is ¥42.00]]></Content>");
    expect(answer.body).toContain(`<ToUserName><![CDATA[${alice}]]></ToUserName>`);
    // Only the query's record is left to the background: no late answer to send.
    expect(background).toHaveLength(1);
    await Promise.all(background);
    expect(await customerServiceTexts(app)).toEqual([]);
    expect(net.seen).toHaveLength(1);
    const [request] = net.seen;
    expect(request?.url).toBe(ENDPOINT_URL);
    expect(request?.redirect).toBe("manual");
    expect(
      await verifyWebhookSignature(request?.signature ?? null, request?.body ?? "", hook.secret),
    ).toBe(true);
    expect(JSON.parse(request?.body ?? "{}")).toEqual({
      id: expect.stringMatching(/^qry_[0-9A-Z]{26}$/),
      type: "query",
      channel: "wechat",
      app_id: app.appId,
      from: alice,
      text: "balance 42",
      conversation_id: expect.stringMatching(/^cnv_/),
      received_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it("answers WeChat success at the deadline and sends the late answer as a customer-service message", async () => {
    const { app } = await queryApp();
    const late = held("Balance: ¥7.50 (late)");
    const net = endpoint(late.answer);
    const { answer, background } = await follower(app.appId, "balance", {
      fetch: net.fetch,
      queryDeadlineMs: 200,
    });
    // WeChat has its answer while the endpoint's is still to come.
    expect(answer.body).toBe("success");
    late.release();
    expect(background).toHaveLength(1);
    await Promise.all(background);
    const texts = await eventually(async () => {
      const found = await customerServiceTexts(app);
      return found.length > 0 ? found : undefined;
    }, 10_000);
    expect(texts).toEqual(["Balance: ¥7.50 (late)"]);
  }, 15_000);

  it("sends no reply for a 204, and follows no redirect", async () => {
    const { app } = await queryApp();
    const silent = endpoint(() => new Response(null, { status: 204 }));
    const quiet = await follower(app.appId, "balance", {
      fetch: silent.fetch,
      queryDeadlineMs: 2_000,
    });
    expect(quiet.answer.body).toBe("success");
    const moved = endpoint(
      () => new Response(null, { status: 302, headers: { location: "https://elsewhere.example" } }),
    );
    const redirected = await follower(app.appId, "balance", {
      fetch: moved.fetch,
      queryDeadlineMs: 2_000,
    });
    expect(redirected.answer.body).toBe("success");
    expect(moved.seen.map((s) => s.url)).toEqual([ENDPOINT_URL]);
    // The two queries' records, and nothing sent late.
    expect([...quiet.background, ...redirected.background]).toHaveLength(2);
    await Promise.all([...quiet.background, ...redirected.background]);
    expect(await customerServiceTexts(app)).toEqual([]);
  });

  it("gives WeChat success 4.5 s after the delivery arrived (the real deadline), and not before", async () => {
    const { app } = await queryApp();
    // Arrived 4.5 s ago: the endpoint's answer is not waited for.
    const late = held("after the deadline");
    const slow = await follower(
      app.appId,
      "balance",
      { fetch: endpoint(late.answer).fetch },
      4_500,
    );
    expect(slow.answer.body).toBe("success");
    late.release();
    await Promise.all(slow.background);
    expect(
      await eventually(async () => {
        const found = await customerServiceTexts(app);
        return found.length > 0 ? found : undefined;
      }, 10_000),
    ).toEqual(["after the deadline"]);
    // Arrived 3.5 s ago: a prompt answer still goes back as the passive reply.
    const prompt = endpoint(() => Response.json({ reply: "in time" }));
    const quick = await follower(app.appId, "balance", { fetch: prompt.fetch }, 3_500);
    expect(quick.answer.body).toContain("<Content><![CDATA[in time]]></Content>");
    await Promise.all(quick.background);
  }, 15_000);

  it("works through the webhook route for a follower of the sandbox", async () => {
    const { tenant, app } = await queryApp();
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      if (request.url === ENDPOINT_URL) {
        const query = (await request.json()) as { text: string };
        return Response.json({ reply: `you asked: ${query.text}` });
      }
      return realFetch(request);
    });
    const res = await followerSays(tenant, app.appId, alice, "Balance please");
    expect(await res.json()).toMatchObject({
      reply: { type: "text", content: "you asked: Balance please" },
    });
  });

  it("records each query with its status and latency for the tenant to see", async () => {
    const { tenant, app, hook, ruleId } = await queryApp();
    const cases: [() => Response, number, number][] = [
      [() => Response.json({ reply: "¥42.00" }), 0, 2_000],
      [() => new Response(null, { status: 204 }), 0, 2_000],
      [() => new Response("down", { status: 500 }), 0, 2_000],
      [() => Response.json({ reply: "late" }), 600, 100],
    ];
    for (const [answer, delayMs, queryDeadlineMs] of cases) {
      const net = endpoint(answer, delayMs);
      const { background } = await follower(app.appId, "balance", {
        fetch: net.fetch,
        queryDeadlineMs,
      });
      await Promise.all(background);
    }
    const path = `/v1/auto-replies/${ruleId}/queries`;
    const res = await tenant.api(`${path}?limit=3`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as {
      data: { id: string; status: string; latency_ms: number; reason: string | null }[];
      next_cursor: string | null;
    };
    // Newest first.
    expect(page.data.map((q) => q.status)).toEqual(["late", "failed", "no_reply"]);
    expect(page.data[0]).toMatchObject({
      rule_id: ruleId,
      channel: "wechat",
      app_id: app.appId,
      endpoint_id: hook.id,
      id: expect.stringMatching(/^qry_/),
      asked_at: expect.stringMatching(/^\d{4}-/),
    });
    expect(page.data[0]?.latency_ms).toBeGreaterThanOrEqual(500);
    expect(page.data[1]?.reason).toBe("the endpoint answered HTTP 500");
    const rest = (await (
      await tenant.api(`${path}?limit=3&cursor=${page.next_cursor}`)
    ).json()) as typeof page;
    expect(rest.data.map((q) => q.status)).toEqual(["answered"]);
    expect(rest.next_cursor).toBeNull();

    const other = await createTenant();
    await expectProblem(await other.api(path), { status: 404, slug: "not-found", instance: path });
  }, 15_000);

  it("takes only an endpoint of the tenant's own in a query rule", async () => {
    const { app } = await queryApp();
    const other = await createTenant();
    const theirs = await createEndpoint(other);
    const path = `/v1/wechat/apps/${app.appId}/auto-replies`;
    await expectProblem(
      await app.live(
        path,
        postJson({
          match: "exact",
          keyword: "points",
          reply: { type: "query", endpoint_id: theirs.id },
        }),
      ),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: path,
        pointers: ["/reply/endpoint_id"],
      },
    );
  });
});
