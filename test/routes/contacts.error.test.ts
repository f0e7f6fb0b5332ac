import { describe, it } from "vitest";
import { expectProblem } from "../support/problem";
import { expectMalformedJsonRefused } from "../support/route-checks";
import { createTenant, postJson } from "../support/tenants";
import { newAppId, wechatApp } from "../support/wechat";

describe("contacts: refusals", () => {
  it("refuses a body that breaks the schema with a pointer per field", async () => {
    const tenant = await createTenant();
    await expectProblem(
      await tenant.api(
        "/v1/contacts",
        postJson({ external_id: "", wechat: [{ app_id: "nope", openid: "o1" }], extra: 1 }),
      ),
      {
        status: 400,
        slug: "validation-error",
        instance: "/v1/contacts",
        pointers: ["/external_id", "/wechat/0/app_id", "/extra"],
      },
    );
    await expectProblem(await tenant.api("/v1/contacts/x", { method: "PATCH", body: "{}" }), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/contacts/x",
    });
  });

  it("refuses a body that is not well-formed JSON with 400", async () => {
    const tenant = await createTenant();
    await expectMalformedJsonRefused(tenant, "/v1/contacts", '{"external_id": ');
    await expectMalformedJsonRefused(tenant, "/v1/contacts/someone", "{", "PATCH");
  });

  it("refuses an invalid phone with 422 at /phone", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    await expectProblem(
      await tenant.api("/v1/contacts", postJson({ external_id: "e1", phone: "12345" })),
      { status: 422, slug: "unprocessable-entity", instance: "/v1/contacts", pointers: ["/phone"] },
    );
    await tenant.api("/v1/contacts", postJson({ external_id: "e1" }));
    await expectProblem(
      await tenant.api("/v1/contacts/e1", {
        method: "PATCH",
        body: JSON.stringify({ phone: "+86 123" }),
      }),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/contacts/e1",
        pointers: ["/phone"],
      },
    );
  });

  it("refuses an app that is not the tenant's, or one listed twice, at its entry", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const mine = await wechatApp(tenant, "plaintext");
    const theirs = await wechatApp(other, "plaintext");
    await expectProblem(
      await tenant.api(
        "/v1/contacts",
        postJson({
          external_id: "e2",
          wechat: [
            { app_id: mine, openid: "o1" },
            { app_id: theirs, openid: "o2" },
            { app_id: newAppId(), openid: "o3" },
            { app_id: mine, openid: "o4" },
          ],
        }),
      ),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: "/v1/contacts",
        pointers: ["/wechat/1/app_id", "/wechat/2/app_id", "/wechat/3/app_id"],
      },
    );
  });

  it("answers 409 for an existing external_id and for an openid bound to another contact", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    await tenant.api(
      "/v1/contacts",
      postJson({ external_id: "e3", wechat: [{ app_id: appId, openid: "oTaken" }] }),
    );
    await expectProblem(await tenant.api("/v1/contacts", postJson({ external_id: "e3" })), {
      status: 409,
      slug: "conflict",
      instance: "/v1/contacts",
    });
    await expectProblem(
      await tenant.api(
        "/v1/contacts",
        postJson({ external_id: "e4", wechat: [{ app_id: appId, openid: "oTaken" }] }),
      ),
      { status: 409, slug: "conflict", instance: "/v1/contacts" },
    );
    await tenant.api("/v1/contacts", postJson({ external_id: "e5" }));
    await expectProblem(
      await tenant.api("/v1/contacts/e5", {
        method: "PATCH",
        body: JSON.stringify({ wechat: [{ app_id: appId, openid: "oTaken" }] }),
      }),
      { status: 409, slug: "conflict", instance: "/v1/contacts/e5" },
    );
  });

  it("answers 404 for a missing contact or binding", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    await expectProblem(await tenant.api("/v1/contacts/ghost"), {
      status: 404,
      slug: "not-found",
      instance: "/v1/contacts/ghost",
    });
    await tenant.api("/v1/contacts", postJson({ external_id: "e6" }));
    await expectProblem(await tenant.api(`/v1/contacts/e6/wechat/${appId}`, { method: "DELETE" }), {
      status: 404,
      slug: "not-found",
      instance: `/v1/contacts/e6/wechat/${appId}`,
    });
  });
});
