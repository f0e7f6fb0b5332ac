import { describe, expect, it } from "vitest";
import { createTenant, postJson } from "../support/tenants";
import { wechatApp } from "../support/wechat";

function patchJson(body: unknown): RequestInit {
  return { method: "PATCH", body: JSON.stringify(body) };
}

describe("contacts", () => {
  it("creates a contact with its phone in E.164 and its openids, and gets it back", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    const appId = await wechatApp(tenant, "plaintext");
    const res = await tenant.api(
      "/v1/contacts",
      postJson({
        external_id: "user-1",
        name: "Li Lei",
        phone: "138 0013 8000",
        wechat: [{ app_id: appId, openid: "oLiLei123" }],
      }),
    );
    expect(res.status).toBe(201);
    const created = (await res.json()) as Record<string, unknown>;
    expect(created).toMatchObject({
      id: expect.stringMatching(/^ctc_[0-9A-Z]{26}$/),
      external_id: "user-1",
      name: "Li Lei",
      phone: "+8613800138000",
      wechat: [{ app_id: appId, openid: "oLiLei123", source: "api" }],
    });
    const got = await tenant.api("/v1/contacts/user-1");
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(created);
  });

  it("replays a create for the same Idempotency-Key", async () => {
    const tenant = await createTenant();
    const init = postJson({ external_id: "user-2" }, { "idempotency-key": "k1" });
    const first = await tenant.api("/v1/contacts", init);
    const again = await tenant.api("/v1/contacts", init);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
  });

  it("changes fields, clears them with null, and replaces the bindings", async () => {
    const tenant = await createTenant({ homeCountry: "US" });
    const a = await wechatApp(tenant, "plaintext");
    const b = await wechatApp(tenant, "plaintext");
    await tenant.api(
      "/v1/contacts",
      postJson({ external_id: "u3", name: "Ann", wechat: [{ app_id: a, openid: "oAnnA" }] }),
    );
    const res = await tenant.api(
      "/v1/contacts/u3",
      patchJson({
        name: null,
        phone: "(415) 555-2671",
        wechat: [
          { app_id: a, openid: "oAnnA" },
          { app_id: b, openid: "oAnnB" },
        ],
      }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { name: unknown; phone: unknown; wechat: unknown[] };
    expect(body.name).toBeNull();
    expect(body.phone).toBe("+14155552671");
    expect(body.wechat).toHaveLength(2);
    const cleared = await tenant.api("/v1/contacts/u3", patchJson({ wechat: null, phone: null }));
    expect(await cleared.json()).toMatchObject({ phone: null, wechat: [] });
  });

  it("lists contacts newest first, a page at a time", async () => {
    const tenant = await createTenant();
    for (const id of ["p1", "p2", "p3"]) {
      await tenant.api("/v1/contacts", postJson({ external_id: id }));
    }
    const first = await tenant.api("/v1/contacts?limit=2");
    const page = (await first.json()) as {
      data: { external_id: string }[];
      next_cursor: string | null;
    };
    expect(page.data.map((c) => c.external_id)).toEqual(["p3", "p2"]);
    expect(page.next_cursor).toMatch(/^ctc_/);
    const second = await tenant.api(`/v1/contacts?limit=2&cursor=${page.next_cursor}`);
    const rest = (await second.json()) as typeof page;
    expect(rest.data.map((c) => c.external_id)).toEqual(["p1"]);
    expect(rest.next_cursor).toBeNull();
  });

  it("unbinds one app, and deletes a contact with its bindings", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    await tenant.api(
      "/v1/contacts",
      postJson({ external_id: "u4", wechat: [{ app_id: appId, openid: "oU4" }] }),
    );
    const unbound = await tenant.api(`/v1/contacts/u4/wechat/${appId}`, { method: "DELETE" });
    expect(unbound.status).toBe(204);
    expect(await (await tenant.api("/v1/contacts/u4")).json()).toMatchObject({ wechat: [] });
    // The openid is free again for another contact.
    const other = await tenant.api(
      "/v1/contacts",
      postJson({ external_id: "u5", wechat: [{ app_id: appId, openid: "oU4" }] }),
    );
    expect(other.status).toBe(201);
    expect((await tenant.api("/v1/contacts/u5", { method: "DELETE" })).status).toBe(204);
    expect((await tenant.api("/v1/contacts/u5")).status).toBe(404);
  });
});
