/** The API with a dashboard session instead of a key: the same permissions, CSRF for changes. */
import { describe, expect, it } from "vitest";
import { signedIn } from "../support/dashboard";
import { call, createTenant, postJson } from "../support/tenants";

const TEMPLATE = {
  name: "Login code",
  kind: "verification",
  body: "Your code is {{code}}",
  variables: [{ name: "code", type: "code", max_length: 8 }],
};

describe("the API with a dashboard session", () => {
  it("reads with the cookie alone, and changes with the session's CSRF token", async () => {
    const tenant = await createTenant();
    const { cookie, csrf } = await signedIn(tenant, "marketer");
    expect((await call("/v1/templates", null, { headers: { cookie } })).status).toBe(200);
    const without = await call("/v1/templates", null, {
      ...postJson(TEMPLATE),
      headers: { cookie },
    });
    expect(without.status).toBe(403);
    expect(await without.text()).toContain("X-CSRF-Token");
    const wrong = await call("/v1/templates", null, {
      ...postJson(TEMPLATE),
      headers: { cookie, "x-csrf-token": `${csrf}x` },
    });
    expect(wrong.status).toBe(403);
    const right = await call("/v1/templates", null, {
      ...postJson(TEMPLATE),
      headers: { cookie, "x-csrf-token": csrf },
    });
    expect(right.status).toBe(201);
  });

  it("refuses a change from another site, even with the token", async () => {
    const tenant = await createTenant();
    const { cookie, csrf } = await signedIn(tenant, "marketer");
    const res = await call("/v1/templates", null, {
      ...postJson(TEMPLATE),
      headers: { cookie, "x-csrf-token": csrf, origin: "https://evil.example" },
    });
    expect(res.status).toBe(403);
  });

  it("holds the role's permissions and no more", async () => {
    const tenant = await createTenant();
    const { cookie, csrf } = await signedIn(tenant, "analyst");
    const res = await call("/v1/keys", null, {
      ...postJson({ name: "mine", scopes: ["messages:send"] }),
      headers: { cookie, "x-csrf-token": csrf },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(await res.text()).toContain("role lacks the `admin` permission");
  });

  it("answers 401 for a session that has ended, and lets a key's header decide when one is sent", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "owner");
    expect(
      (await call("/v1/templates", null, { headers: { cookie: "rbx_session=nope" } })).status,
    ).toBe(401);
    // A bad key with a good cookie is a bad key: the header, when there is one, is the credential.
    const res = await call("/v1/templates", "rbx_live_notakeynotakeynotakeynotakey12", {
      headers: { cookie },
    });
    expect(res.status).toBe(401);
  });

  it("never reaches another tenant's resources", async () => {
    const mine = await createTenant();
    const theirs = await createTenant();
    const created = await theirs.api("/v1/templates", postJson(TEMPLATE));
    const id = ((await created.json()) as { id: string }).id;
    const { cookie } = await signedIn(mine, "owner");
    expect((await call(`/v1/templates/${id}`, null, { headers: { cookie } })).status).toBe(404);
  });
});
