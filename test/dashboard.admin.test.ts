import { describe, expect, it } from "vitest";
import { signedIn } from "./support/dashboard";
import { call, createTenant } from "./support/tenants";

type Signed = { cookie: string; csrf: string };

const page = (who: Signed, path: string, lang = "en") =>
  call(path, null, { headers: { cookie: `${who.cookie}; rbx_lang=${lang}` } });

const post = (who: Signed, path: string, fields: Record<string, string> | URLSearchParams) => {
  const body = new URLSearchParams(fields);
  body.set("csrf", who.csrf);
  return call(path, null, {
    method: "POST",
    body: body.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: who.cookie },
  });
};

const fieldError = (html: string, field: string) =>
  new RegExp(`id="field-${field.replace(".", "\\.")}-error">([^<]+)<`).exec(html)?.[1];

describe("the dashboard's Roles page", () => {
  it("lists the built-in roles by their translated names and creates, edits and deletes a custom one", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    const zh = await (await page(admin, "/dashboard/roles", "zh")).text();
    expect(zh).toContain("运营管理员");
    expect(zh).toContain("审核员");

    const body = new URLSearchParams([
      ["name", "Night shift"],
      ["description", "Reads messages"],
      ["permissions", "messages:read"],
      ["permissions", "stats:read"],
    ]);
    const created = await post(admin, "/dashboard/roles", body);
    expect(created.status).toBe(303);
    const roles = (await (await tenant.api("/v1/roles")).json()) as {
      data: { id: string; name: string; permissions: string[]; built_in: boolean }[];
    };
    const role = roles.data.find((r) => r.name === "Night shift");
    expect(role?.permissions).toEqual(["messages:read", "stats:read"]);
    const id = role?.id ?? "";

    const edit = await (await page(admin, `/dashboard/roles?edit=${id}`)).text();
    expect(edit).toContain(`action="/dashboard/roles/${id}"`);
    const saved = await post(
      admin,
      `/dashboard/roles/${id}`,
      new URLSearchParams([
        ["name", "Night shift"],
        ["description", ""],
        ["permissions", "messages:read"],
      ]),
    );
    expect(saved.status).toBe(303);
    const after = (await (await tenant.api(`/v1/roles/${id}`)).json()) as { permissions: string[] };
    expect(after.permissions).toEqual(["messages:read"]);

    const deleted = await post(admin, `/dashboard/roles/${id}/delete`, {});
    expect(deleted.status).toBe(303);
    expect((await tenant.api(`/v1/roles/${id}`)).status).toBe(404);
    const log = (await (await tenant.api(`/v1/audit?target=${id}`)).json()) as {
      data: { action: string }[];
    };
    expect(log.data.map((e) => e.action)).toEqual(["role.delete", "role.update", "role.create"]);
  });

  it("shows the API's field errors for a role without a name or permissions", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    const res = await post(admin, "/dashboard/roles", { name: " ", description: "" });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(fieldError(html, "name")).toBeTruthy();
    expect(html).toMatch(/class="field-error">[^<]+</);
  });

  it("refuses a role change to a role without users:write, and hides the page from an analyst", async () => {
    const tenant = await createTenant();
    const operator = await signedIn(tenant, "operator");
    expect((await page(operator, "/dashboard/roles")).status).toBe(200);
    const res = await post(
      operator,
      "/dashboard/roles",
      new URLSearchParams([
        ["name", "x"],
        ["permissions", "messages:read"],
      ]),
    );
    expect(res.status).toBe(403);
    const analyst = await signedIn(tenant, "analyst");
    expect((await page(analyst, "/dashboard/roles")).status).toBe(403);
    expect(analyst.page).not.toContain('href="/dashboard/roles"');
  });
});

describe("the dashboard's Audit log page", () => {
  it("filters the entries and verifies the chain as GET /v1/audit/verify does", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    expect((await post(admin, "/dashboard/settings/rate", { send_rate: "7" })).status).toBe(303);
    expect((await post(admin, "/dashboard/settings/rate", { send_rate: "8" })).status).toBe(303);

    const all = await (await page(admin, "/dashboard/audit?action=tenant.update")).text();
    expect(all.match(/<td class="mono">tenant\.update<\/td>/g)?.length).toBe(2);
    expect(all).toContain("send_rate: 7 → 8");
    const none = await (await page(admin, "/dashboard/audit?action=role.create")).text();
    expect(none).not.toContain("tenant.update</td>");
    const future = await (await page(admin, "/dashboard/audit?since=2099-01-01")).text();
    expect(future).not.toContain("tenant.update</td>");
    const reversed = await page(admin, "/dashboard/audit?since=2026-02-02&until=2026-01-01");
    expect(reversed.status).toBe(422);

    const api = (await (await tenant.api("/v1/audit/verify")).json()) as { entries: number };
    const verified = await post(admin, "/dashboard/audit/verify", {});
    expect(verified.status).toBe(200);
    expect(await verified.text()).toContain(`The chain is intact: ${api.entries} entries checked.`);
  });

  it("is refused to a role without audit:read", async () => {
    const tenant = await createTenant();
    const operator = await signedIn(tenant, "operator");
    expect((await page(operator, "/dashboard/audit")).status).toBe(403);
    expect((await post(operator, "/dashboard/audit/verify", {})).status).toBe(403);
  });
});

describe("the dashboard's Settings page", () => {
  it("saves a change through the tenant service, audited", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    const res = await post(admin, "/dashboard/settings/quiet", {
      "quiet_hours.start": "21:00",
      "quiet_hours.end": "08:00",
    });
    expect(res.status).toBe(303);
    const after = (await (await tenant.api("/v1/tenant")).json()) as { quiet_hours: unknown };
    expect(after.quiet_hours).toEqual({ start: "21:00", end: "08:00" });
    const log = (await (await tenant.api("/v1/audit?action=tenant.update")).json()) as {
      data: { diff: Record<string, unknown> }[];
    };
    expect(log.data[0]?.diff).toHaveProperty("quiet_hours");
    const html = await (await page(admin, "/dashboard/settings", "zh")).text();
    expect(html).toContain("免打扰时段");
    expect(html).toContain('value="21:00"');
  });

  it("shows the API's errors under the fields their pointers name", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    const bad = await post(admin, "/dashboard/settings/quiet", {
      "quiet_hours.start": "25:00",
      "quiet_hours.end": "08:00",
    });
    expect(bad.status).toBe(422);
    const html = await bad.text();
    expect(fieldError(html, "quiet_hours.start")).toBe("must be a 24-hour time HH:MM, e.g. 21:00");
    expect(html).toContain('value="25:00"');

    // The service's own rule: bodies kept no longer than messages.
    const retention = await post(admin, "/dashboard/settings/retention", {
      "retention.bodies_days": "90",
      "retention.messages_days": "30",
      "retention.inbound_days": "30",
    });
    expect(retention.status).toBe(422);
    expect(fieldError(await retention.text(), "retention.bodies_days")).toBeTruthy();
    const unchanged = (await (await tenant.api("/v1/tenant")).json()) as {
      quiet_hours: unknown;
      retention: { bodies_days: number };
    };
    expect(unchanged.quiet_hours).toBeNull();
    expect(unchanged.retention.bodies_days).toBe(180);
  });

  it("is refused to a role without admin, on the page and on the form", async () => {
    const tenant = await createTenant();
    const operator = await signedIn(tenant, "operator");
    expect(operator.page).not.toContain('href="/dashboard/settings"');
    expect((await page(operator, "/dashboard/settings")).status).toBe(403);
    const res = await post(operator, "/dashboard/settings/rate", { send_rate: "1" });
    expect(res.status).toBe(403);
  });
});
