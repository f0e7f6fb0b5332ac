import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { expectNothingStored } from "../support/send-log";
import { createTenant, postJson } from "../support/tenants";

const ONE_MB = 1024 * 1024;

const VALID = { to: "+8613800138000", body: "Hello" };

describe("POST /v1/messages (errors)", () => {
  it("refuses a body that is not well-formed JSON with 400", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/messages", { method: "POST", body: '{"to": "+86138' });
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/messages",
      detail: /not well-formed JSON/,
    });
    await expectNothingStored(tenant);
  });

  it("refuses a body sent as text/plain with 415", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/messages", {
      method: "POST",
      body: JSON.stringify(VALID),
      headers: { "content-type": "text/plain" },
    });
    await expectProblem(res, {
      status: 415,
      slug: "unsupported-media-type",
      instance: "/v1/messages",
      detail: /Content-Type: application\/json/,
    });
    await expectNothingStored(tenant);
  });

  it("refuses a body sent without any Content-Type with 415", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/messages", {
      method: "POST",
      body: new TextEncoder().encode(JSON.stringify(VALID)),
    });
    await expectProblem(res, {
      status: 415,
      slug: "unsupported-media-type",
      instance: "/v1/messages",
      detail: /Content-Type/,
    });
    await expectNothingStored(tenant);
  });

  it.each([
    { what: "a missing `to`", body: { body: "Hello" }, pointers: ["/to"] },
    { what: "an empty object", body: {}, pointers: ["/to", "/body"] },
    {
      what: "a `to` without a body or template",
      body: { to: "+8613800138000" },
      pointers: ["/body"],
    },
    {
      what: "both a body and a template",
      body: { to: "+8613800138000", body: "Hi", template_id: "tpl_01JD3M6Y8Z5Q7K2N4P6R8T0V2X" },
      pointers: ["/body"],
    },
    {
      what: "variables without a template",
      body: { to: "+8613800138000", body: "Hi", variables: { code: "1" } },
      pointers: ["/variables"],
    },
    {
      what: "a send_at that is not a date",
      body: { to: "+8613800138000", body: "Hi", send_at: "tomorrow" },
      pointers: ["/send_at"],
    },
    { what: "an empty `body`", body: { to: "+8613800138000", body: "" }, pointers: ["/body"] },
    {
      what: "a `body` over 1600 characters",
      body: { to: "+8613800138000", body: "a".repeat(1601) },
      pointers: ["/body"],
    },
    { what: "a `to` that is a number", body: { to: 8613800138000, body: "Hi" }, pointers: ["/to"] },
    {
      what: "metadata with a non-string value",
      body: { ...VALID, metadata: { order: 42 } },
      pointers: ["/metadata/order"],
    },
    { what: "an unknown channel", body: { ...VALID, channel: "fax" }, pointers: ["/channel"] },
    {
      what: "a WeChat field without its channel",
      body: { ...VALID, app_id: "wx0123456789abcdef" },
      pointers: ["/app_id"],
    },
    {
      what: "a WeChat message without its fields",
      body: { channel: "wechat" },
      pointers: ["/app_id", "/openid", "/wechat"],
    },
    {
      what: "an SMS field on channel auto, with auto's fields missing",
      body: { channel: "auto", to: "+8613800138000" },
      pointers: ["/to", "/app_id", "/contact", "/wechat", "/sms"],
    },
    {
      what: "a malformed field, alone, whatever the channel asks besides",
      body: { channel: "auto", to: 8613800138000 },
      pointers: ["/to"],
    },
  ])("refuses $what with 400 and a pointer to the field", async ({ body, pointers }) => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/messages", postJson(body));
    const problem = await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/messages",
      pointers,
    });
    for (const pointer of pointers) {
      expect(problem.detail).toContain(pointer);
    }
    await expectNothingStored(tenant);
  });

  it("refuses an unknown extra field with 400 pointing at that field", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/messages", postJson({ ...VALID, priority: "high" }));
    const problem = await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/messages",
      detail: /priority/,
      pointers: ["/priority"],
    });
    expect(problem.errors?.[0]?.detail).toContain("priority");
    await expectNothingStored(tenant);
  });

  it("refuses a number that cannot exist with 422 pointing at /to", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/messages", postJson({ to: "+8612345678901", body: "Hi" }));
    await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/messages",
      detail: /\+8612345678901 is not a valid number/,
      pointers: ["/to"],
    });
    await expectNothingStored(tenant);
  });

  it("refuses a valid number in a country the tenant has not enabled with 422 naming it", async () => {
    const tenant = await createTenant({ allowedCountries: ["CN"] });
    const res = await tenant.api("/v1/messages", postJson({ to: "+12025550123", body: "Hi" }));
    await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/messages",
      detail: /\bUS\b/,
      pointers: ["/to"],
    });
    await expectNothingStored(tenant);
  });

  it("refuses an Idempotency-Key reused with another body with 422 and keeps the first message only", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "order-7" };
    const first = await tenant.api("/v1/messages", postJson(VALID, headers));
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };

    const res = await tenant.api(
      "/v1/messages",
      postJson({ ...VALID, body: "Something else" }, headers),
    );
    await expectProblem(res, {
      status: 422,
      slug: "idempotency-key-reused",
      instance: "/v1/messages",
      detail: /Idempotency-Key/,
      pointers: ["/headers/idempotency-key"],
    });
    await expectNothingStored(tenant, [id]);
  });

  it("refuses a body over 1 MB with 413", async () => {
    const tenant = await createTenant();
    const res = await tenant.api(
      "/v1/messages",
      postJson({ to: "+8613800138000", body: "a".repeat(ONE_MB) }),
    );
    await expectProblem(res, {
      status: 413,
      slug: "payload-too-large",
      instance: "/v1/messages",
      detail: /1 MB/,
    });
    await expectNothingStored(tenant);
  });

  it("refuses a streamed body over 1 MB that declares no Content-Length with 413", async () => {
    const tenant = await createTenant();
    const chunk = new TextEncoder().encode("a".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) {
          controller.enqueue(new TextEncoder().encode('{"to":"+8613800138000","body":"'));
        }
        if (sent > ONE_MB) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        controller.enqueue(chunk);
        sent += chunk.byteLength;
      },
    });
    const res = await tenant.api("/v1/messages", {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/json" },
    });
    await expectProblem(res, {
      status: 413,
      slug: "payload-too-large",
      instance: "/v1/messages",
    });
    await expectNothingStored(tenant);
  });
});

describe("GET /v1/messages/{id} (errors)", () => {
  it("refuses a malformed id with 400 pointing at the path", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/messages/not-a-message-id");
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/messages/not-a-message-id",
      detail: /message id/,
      pointers: ["/path/id"],
    });
  });

  it("answers 404 for a well-formed id that does not exist", async () => {
    const tenant = await createTenant();
    const id = `msg_${"0".repeat(26)}`;
    const res = await tenant.api(`/v1/messages/${id}`);
    await expectProblem(res, {
      status: 404,
      slug: "not-found",
      instance: `/v1/messages/${id}`,
      detail: new RegExp(id),
    });
  });
});

describe("GET /v1/messages (errors)", () => {
  it.each([
    { query: "limit=0", pointer: "/query/limit" },
    { query: "limit=101", pointer: "/query/limit" },
    { query: "limit=ten", pointer: "/query/limit" },
    { query: "status=bogus", pointer: "/query/status" },
    { query: "since=notadate", pointer: "/query/since" },
    { query: "until=yesterday", pointer: "/query/until" },
    { query: "cursor=nope", pointer: "/query/cursor" },
  ])("refuses ?$query with 400 pointing at the parameter", async ({ query, pointer }) => {
    const tenant = await createTenant();
    const res = await tenant.api(`/v1/messages?${query}`);
    const problem = await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/messages",
      pointers: [pointer],
    });
    expect(problem.detail).toContain(pointer);
  });
});
