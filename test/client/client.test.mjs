// The TypeScript client (src/client, imported by its package name as a user would) against a real
// `wrangler dev` seeded with the demo tenant.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  AuthenticationError,
  NotFoundError,
  Relaybox,
  UnprocessableError,
  ValidationError,
  verifyWebhookSignature,
} from "relaybox/client";
import { eventually } from "../../scripts/local-server.mjs";
import { startApi, startReceiver } from "./server.mjs";

let api;
let rb;
let receiver;

before(async () => {
  [api, receiver] = await Promise.all([startApi(), startReceiver()]);
  rb = new Relaybox({ apiKey: api.apiKey, baseUrl: api.url });
});

after(async () => {
  await Promise.all([api?.stop(), receiver?.close()]);
});

describe("the client against wrangler dev", () => {
  test("sends a message and reads it back by id", async () => {
    const accepted = await rb.post("/v1/messages", {
      body: { to: "+8613800138000", body: "Your code is 123456" },
    });
    assert.match(accepted.id, /^msg_[0-9A-Z]{26}$/);
    const message = await rb.get("/v1/messages/{id}", { params: { path: { id: accepted.id } } });
    assert.equal(message.id, accepted.id);
    assert.equal(message.to, "+8613800138000");
  });

  test("replays a create for the same idempotency key and refuses it for another body", async () => {
    const idempotencyKey = `client-test-${Date.now()}`;
    const body = { to: "+8613800138001", body: "Once only" };
    const first = await rb.post("/v1/messages", { body, idempotencyKey });
    const again = await rb.post("/v1/messages", { body, idempotencyKey });
    assert.equal(again.id, first.id);
    await assert.rejects(
      rb.post("/v1/messages", { body: { ...body, body: "Another" }, idempotencyKey }),
      (error) => error instanceof UnprocessableError && error.status === 422,
    );
  });

  test("turns problem+json answers into typed exceptions with pointers", async () => {
    await assert.rejects(
      rb.get("/v1/messages/{id}", { params: { path: { id: "msg_00000000000000000000000000" } } }),
      (error) => {
        assert.ok(error instanceof NotFoundError);
        assert.equal(error.code, "not-found");
        assert.match(error.requestId, /\S/);
        return true;
      },
    );
    await assert.rejects(rb.post("/v1/messages", { body: { to: "" } }), (error) => {
      assert.ok(error instanceof ValidationError);
      assert.ok(
        error.errors.some((e) => e.pointer === "/to"),
        JSON.stringify(error.errors),
      );
      return true;
    });
    const stranger = new Relaybox({ apiKey: "rbx_test_notakey", baseUrl: api.url });
    await assert.rejects(stranger.get("/v1/messages"), AuthenticationError);
  });

  test("walks every page of a list with the async iterator", async () => {
    const sent = [];
    for (let i = 0; i < 3; i++) {
      sent.push(
        (await rb.post("/v1/messages", { body: { to: "+8613900139000", body: `p${i}` } })).id,
      );
    }
    // The dispatcher writes the send log on its next alarm, a moment after the 202.
    await eventually(async () => {
      const page = await rb.get("/v1/messages", { params: { query: { limit: 10 } } });
      return sent.every((id) => page.data.some((m) => m.id === id));
    }, "the three messages in the list");
    const seen = [];
    for await (const message of rb.paginate("/v1/messages", {
      params: { query: { limit: 2 } },
    })) {
      seen.push(message.id);
    }
    // Newest first, each once, across pages of two.
    assert.equal(new Set(seen).size, seen.length);
    assert.ok(seen.length > 2);
    assert.deepEqual(
      seen.filter((id) => sent.includes(id)),
      [...sent].reverse(),
    );
  });

  test("receives a signed webhook that verifies with the endpoint's secret", async () => {
    const admin = new Relaybox({ apiKey: api.liveApiKey, baseUrl: api.url });
    const endpoint = await admin.post("/v1/webhooks", {
      body: { url: receiver.url, events: ["message.sent", "message.delivered"] },
    });
    assert.match(endpoint.secret, /^whsec_/);
    const accepted = await rb.post("/v1/messages", {
      body: { to: "+8613800138002", body: "Webhook me" },
    });
    const request = await receiver.next((r) => r.body.includes(accepted.id));
    const header = request.headers["relaybox-signature"];
    assert.equal(await verifyWebhookSignature(header, request.body, endpoint.secret), true);
    assert.equal(await verifyWebhookSignature(header, `${request.body} `, endpoint.secret), false);
    assert.equal(await verifyWebhookSignature(header, request.body, "whsec_wrong"), false);
    const event = JSON.parse(request.body);
    assert.match(event.type, /^message\.(sent|delivered)$/);
    assert.equal(event.data.id, accepted.id);
  });
});
