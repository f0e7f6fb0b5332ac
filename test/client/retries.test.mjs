// The client's retries, idempotency keys and error mapping against a scripted fetch: no server.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  constructWebhookEvent,
  RateLimitError,
  Relaybox,
  ServiceUnavailableError,
  signWebhook,
  verifyWebhookSignature,
  WebhookSignatureError,
} from "relaybox/client";
import { signWebhook as serverSign } from "../../src/domain/webhook-signature.ts";

const problem = (status, slug) =>
  new Response(
    JSON.stringify({
      type: `https://relaybox.dev/problems/${slug}`,
      title: slug,
      status,
      detail: "scripted",
      instance: "/v1/messages",
      request_id: "req_test",
    }),
    { status, headers: { "content-type": "application/problem+json", "retry-after": "7" } },
  );

function scripted(answers, options = {}) {
  const requests = [];
  const sleeps = [];
  const rb = new Relaybox({
    apiKey: "rbx_test_x",
    baseUrl: "https://api.example/",
    fetch: async (request) => {
      requests.push({
        method: request.method,
        url: request.url,
        headers: Object.fromEntries(request.headers),
        body: await request.text(),
      });
      return answers.shift()();
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { rb, requests, sleeps };
}

const accepted = () =>
  new Response(JSON.stringify({ id: "msg_01", status: "queued" }), {
    status: 202,
    headers: { "content-type": "application/json" },
  });

describe("retries", () => {
  test("retries a 429 and a 503 after Retry-After, with one idempotency key for every attempt", async () => {
    const { rb, requests, sleeps } = scripted([
      () => problem(429, "rate-limited"),
      () => problem(503, "provider-unavailable"),
      accepted,
    ]);
    const result = await rb.post("/v1/messages", { body: { to: "+8613800138000", body: "hi" } });
    assert.equal(result.id, "msg_01");
    assert.deepEqual(sleeps, [7000, 7000]);
    assert.equal(requests.length, 3);
    const keys = new Set(requests.map((r) => r.headers["idempotency-key"]));
    assert.equal(keys.size, 1);
    assert.match([...keys][0], /^[0-9a-f-]{36}$/);
    assert.ok(requests.every((r) => r.headers.authorization === "Bearer rbx_test_x"));
    assert.ok(requests.every((r) => r.body === '{"to":"+8613800138000","body":"hi"}'));
    assert.equal(requests[0].url, "https://api.example/v1/messages");
  });

  test("uses the caller's idempotency key and sends none on a GET", async () => {
    const { rb, requests } = scripted([
      accepted,
      () => new Response(JSON.stringify({ data: [], next_cursor: null }), { status: 200 }),
    ]);
    await rb.post("/v1/messages", { body: { to: "+1", body: "x" }, idempotencyKey: "mine" });
    await rb.get("/v1/messages");
    assert.equal(requests[0].headers["idempotency-key"], "mine");
    assert.equal(requests[1].headers["idempotency-key"], undefined);
  });

  test("gives up after maxRetries with a typed error carrying Retry-After", async () => {
    const { rb, requests } = scripted([
      () => problem(429, "rate-limited"),
      () => problem(429, "rate-limited"),
      () => problem(429, "rate-limited"),
      () => problem(429, "rate-limited"),
    ]);
    await assert.rejects(rb.get("/v1/messages"), (error) => {
      assert.ok(error instanceof RateLimitError);
      assert.equal(error.retryAfterSeconds, 7);
      assert.equal(error.requestId, "req_test");
      return true;
    });
    assert.equal(requests.length, 4);
  });

  test("caps a long Retry-After at maxRetryDelayMs", async () => {
    const { rb, sleeps } = scripted([() => problem(503, "provider-unavailable"), accepted], {
      maxRetryDelayMs: 1000,
    });
    await rb.post("/v1/messages", { body: { to: "+1", body: "x" } });
    assert.deepEqual(sleeps, [1000]);
  });

  test("does not retry a 503 when maxRetries is 0", async () => {
    const { rb, requests } = scripted([() => problem(503, "provider-unavailable")], {
      maxRetries: 0,
    });
    await assert.rejects(rb.get("/v1/messages"), ServiceUnavailableError);
    assert.equal(requests.length, 1);
  });
});

describe("webhook signatures", () => {
  test("verifies what the server signs, and refuses stale or altered requests", async () => {
    const body = '{"id":"evt_1","type":"message.sent","created_at":"x","data":{}}';
    const now = Date.now();
    const t = Math.floor(now / 1000);
    const header = await serverSign("whsec_abc", body, t);
    assert.equal(header, await signWebhook("whsec_abc", body, t));
    assert.equal(await verifyWebhookSignature(header, body, "whsec_abc"), true);
    assert.equal(
      await verifyWebhookSignature(header, body.replace("sent", "failed"), "whsec_abc"),
      false,
    );
    const old = await serverSign("whsec_abc", body, t - 301);
    assert.equal(await verifyWebhookSignature(old, body, "whsec_abc"), false);
    assert.equal((await constructWebhookEvent(body, header, "whsec_abc")).id, "evt_1");
    await assert.rejects(constructWebhookEvent(body, old, "whsec_abc"), WebhookSignatureError);
  });
});
