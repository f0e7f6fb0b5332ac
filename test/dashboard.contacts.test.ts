import { describe, expect, it } from "vitest";
import { form, signedIn } from "./support/dashboard";
import { call, createTenant, postJson } from "./support/tenants";
import { wechatApp } from "./support/wechat";

type Signed = { cookie: string; csrf: string };

const get = (who: Signed, path: string, extra = "") =>
  call(path, null, { headers: { cookie: `${who.cookie}${extra}` } });
/** The flash cookie a redirect set, to send with the next page. */
const flashOf = (res: Response) =>
  `; ${
    res.headers
      .getSetCookie()
      .find((c) => c.startsWith("rbx_flash="))
      ?.split(";")[0] ?? ""
  }`;
const post = (who: Signed, path: string, fields: Record<string, string> = {}) =>
  call(path, null, form({ csrf: who.csrf, ...fields }, who.cookie));

describe("the dashboard's Contacts page", () => {
  it("adds a contact, shows its field errors, finds it by id, edits it and shows its WeChat bindings", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    const admin = await signedIn(tenant, "admin");
    const bad = await post(admin, "/dashboard/contacts", { external_id: "-x", phone: "nope" });
    expect(bad.status).toBe(422);
    const badHtml = await bad.text();
    expect(badHtml).toContain('id="field-external_id-error"');

    const phoneBad = await post(admin, "/dashboard/contacts", { external_id: "u1", phone: "12" });
    expect(phoneBad.status).toBe(422);
    // The service's own pointer (/phone) lands on the phone field.
    expect(await phoneBad.text()).toContain('id="field-phone-error"');

    const added = await post(admin, "/dashboard/contacts", {
      external_id: "user-1",
      name: "Li Lei",
      phone: "13800138000",
    });
    expect(added.status).toBe(303);
    const list = await (await get(admin, "/dashboard/contacts", flashOf(added))).text();
    expect(list).toContain("user-1");
    expect(list).toContain("+8613800138000");
    expect(list).toContain("Contact user-1 added.");

    const dup = await post(admin, "/dashboard/contacts", { external_id: "user-1" });
    expect(dup.status).toBe(409);
    await dup.body?.cancel();

    // Made through the API with a WeChat binding: the list and the edit page show it.
    const appId = await wechatApp(tenant, "plaintext");
    const api = await tenant.api(
      "/v1/contacts",
      postJson({ external_id: "user-2", wechat: [{ app_id: appId, openid: "oBound2" }] }),
    );
    expect(api.status).toBe(201);
    const bound = await (await get(admin, "/dashboard/contacts?q=user-2")).text();
    expect(bound).toContain(`${appId}</span> · <span class="mono">oBound2</span>`);
    expect(await (await get(admin, "/dashboard/contacts/user-2")).text()).toContain("oBound2");
    // A search by user id finds only the one asked for.
    const found = await (await get(admin, "/dashboard/contacts?q=user-1")).text();
    expect(found).toContain("Li Lei");
    expect(found).not.toContain("user-2");
    const none = await (await get(admin, "/dashboard/contacts?q=nobody")).text();
    expect(none).toContain("None.");

    const edit = await get(admin, "/dashboard/contacts/user-1");
    expect(edit.status).toBe(200);
    expect(await edit.text()).toContain('value="Li Lei"');
    const saved = await post(admin, "/dashboard/contacts/user-1", {
      name: "Han Meimei",
      phone: "",
    });
    expect(saved.status).toBe(303);
    const contact = (await (await tenant.api("/v1/contacts/user-1")).json()) as {
      name: string;
      phone: string | null;
    };
    expect(contact).toMatchObject({ name: "Han Meimei", phone: null });
  });

  it("lets an analyst read but not write, and refuses the posts with 403", async () => {
    const tenant = await createTenant();
    const analyst = await signedIn(tenant, "analyst");
    const page = await get(analyst, "/dashboard/contacts");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain('method="post" action="/dashboard/contacts"');
    const refused = await post(analyst, "/dashboard/contacts", { external_id: "x" });
    expect(refused.status).toBe(403);
    await refused.body?.cancel();
    const editRefused = await get(analyst, "/dashboard/contacts/x");
    expect(editRefused.status).toBe(403);
    await editRefused.body?.cancel();
    const reviewer = await signedIn(tenant, "reviewer");
    expect(reviewer.page).not.toContain('href="/dashboard/opt-outs"');
    const optOuts = await get(reviewer, "/dashboard/opt-outs");
    expect(optOuts.status).toBe(403);
    await optOuts.body?.cancel();
  });
});

describe("the dashboard's Opt-outs page", () => {
  it("adds a number, refuses a bad one at its field, and removes one after confirmation", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    const operator = await signedIn(tenant, "operator");
    const bad = await post(operator, "/dashboard/opt-outs", { phone: "abc" });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain('id="field-phone-error"');
    const added = await post(operator, "/dashboard/opt-outs", {
      phone: "13800138001",
      reason: "asked by phone",
    });
    expect(added.status).toBe(303);
    const html = await (await get(operator, "/dashboard/opt-outs")).text();
    expect(html).toContain("+8613800138001");
    expect(html).toContain("asked by phone");
    // The remove button asks first: a confirmation box posting the number.
    expect(html).toContain('action="/dashboard/opt-outs/remove"');
    expect(html).toContain("Lift the opt-out of +8613800138001?");
    const api = await tenant.api("/v1/opt-outs");
    expect(((await api.json()) as { data: unknown[] }).data).toHaveLength(1);

    const removed = await post(operator, "/dashboard/opt-outs/remove", { phone: "+8613800138001" });
    expect(removed.status).toBe(303);
    const after = await (await tenant.api("/v1/opt-outs")).json();
    expect((after as { data: unknown[] }).data).toHaveLength(0);
    const again = await post(operator, "/dashboard/opt-outs/remove", { phone: "+8613800138001" });
    expect(again.status).toBe(404);
    await again.body?.cancel();
  });

  it("shows an analyst the list without the forms and refuses their posts", async () => {
    const tenant = await createTenant();
    const analyst = await signedIn(tenant, "analyst");
    const html = await (await get(analyst, "/dashboard/opt-outs")).text();
    expect(html).not.toContain('method="post" action="/dashboard/opt-outs"');
    for (const path of ["/dashboard/opt-outs", "/dashboard/opt-outs/remove"]) {
      const res = await post(analyst, path, { phone: "+14155550100" });
      expect(res.status).toBe(403);
      await res.body?.cancel();
    }
  });
});
