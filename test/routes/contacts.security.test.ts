import { describe, expect, it } from "vitest";
import {
  expectForeignLikeMissing,
  expectNoKeyRefused,
  expectScopeRefused,
} from "../support/route-checks";
import { call, createTenant, postJson } from "../support/tenants";
import { wechatApp } from "../support/wechat";

describe("contacts: who may see and change them", () => {
  it("needs a key: messages:read to read, messages:send to write", async () => {
    const tenant = await createTenant();
    await expectNoKeyRefused({ path: "/v1/contacts" });
    const reader = await tenant.addKey(["messages:read"]);
    expect((await call("/v1/contacts", reader.key)).status).toBe(200);
    await expectScopeRefused(
      reader.key,
      { path: "/v1/contacts", init: postJson({ external_id: "s1" }) },
      "messages:send",
    );
    const sender = await tenant.addKey(["messages:send"]);
    expect((await call("/v1/contacts", sender.key, postJson({ external_id: "s1" }))).status).toBe(
      201,
    );
    await expectScopeRefused(sender.key, { path: "/v1/contacts/s1" }, "messages:read");
  });

  it("treats another tenant's contact as missing, and never lists it", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const appId = await wechatApp(owner, "plaintext");
    await owner.api(
      "/v1/contacts",
      postJson({ external_id: "shared-id", wechat: [{ app_id: appId, openid: "oOwner" }] }),
    );
    for (const [path, init] of [
      [(id: string) => `/v1/contacts/${id}`, {}],
      [
        (id: string) => `/v1/contacts/${id}`,
        { method: "PATCH", body: JSON.stringify({ name: "x" }) },
      ],
      [(id: string) => `/v1/contacts/${id}`, { method: "DELETE" }],
      [(id: string) => `/v1/contacts/${id}/wechat/${appId}`, { method: "DELETE" }],
      [
        (id: string) => `/v1/contacts/${id}/wechat/${appId}/oauth-link`,
        postJson({ redirect: "https://example.com/done" }),
      ],
    ] as const) {
      await expectForeignLikeMissing(
        other,
        { path, init },
        { foreign: "shared-id", missing: "never-added" },
      );
    }
    const list = (await (await other.api("/v1/contacts")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
    // The same external_id is free in another tenant.
    expect((await other.api("/v1/contacts", postJson({ external_id: "shared-id" }))).status).toBe(
      201,
    );
    const still = await owner.api("/v1/contacts/shared-id");
    expect(await still.json()).toMatchObject({ wechat: [{ app_id: appId, openid: "oOwner" }] });
  });
});
