import { describe, expect, it } from "vitest";
import { addUser, form, signedIn } from "./support/dashboard";
import { call, createTenant, messageReaches, postJson } from "./support/tenants";

describe("dashboard", () => {
  it("sends the signed-out visitor to the sign-in page", async () => {
    const res = await call("/dashboard", null);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/dashboard/login");
    expect((await call("/dashboard/login", null)).status).toBe(200);
  });

  it("refuses a wrong password without saying which part was wrong", async () => {
    const tenant = await createTenant();
    const { email } = await addUser(tenant, "admin");
    const res = await call("/dashboard/login", null, form({ email, password: "nope" }));
    expect(res.status).toBe(401);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toContain("Wrong email or password.");
  });

  it("signs in, sends a message through the same service as the API, and shows it delivered", async () => {
    const tenant = await createTenant();
    const { cookie, csrf } = await signedIn(tenant, "operator");
    const sendPage = await (await call("/dashboard/send", null, { headers: { cookie } })).text();
    expect(sendPage).toContain("Send an SMS");
    const res = await call(
      "/dashboard/send",
      null,
      form({ csrf, to: "13800138300", body: "from the dashboard" }, cookie),
    );
    expect(res.status).toBe(303);
    const id =
      /\/dashboard\/messages\/(msg_[0-9A-Z]{26})$/.exec(res.headers.get("location") ?? "")?.[1] ??
      "";
    expect(id).not.toBe("");
    await messageReaches(tenant, id, "delivered");
    const detail = await (
      await call(`/dashboard/messages/${id}`, null, { headers: { cookie } })
    ).text();
    expect(detail).toContain("from the dashboard");
    expect(detail).toContain("delivered");
  });

  it("refuses a form without the session's CSRF token", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "admin");
    const res = await call(
      "/dashboard/send",
      null,
      form({ csrf: "forged", to: "13800138301", body: "x" }, cookie),
    );
    expect(res.status).toBe(403);
    const list = (await (await tenant.api("/v1/messages")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });

  it("answers a malformed form body with a 400, signed in or not", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "admin");
    const broken = (withCookie?: string): RequestInit => ({
      method: "POST",
      body: "--zz\r\nbad",
      headers: {
        "content-type": "multipart/form-data; boundary=zz",
        ...(withCookie ? { cookie: withCookie } : {}),
      },
    });
    for (const [path, init] of [
      ["/dashboard/login", broken()],
      ["/dashboard/send", broken(cookie)],
      ["/dashboard/logout", broken(cookie)],
    ] as const) {
      const res = await call(path, null, init);
      expect(res.status, path).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  it("shows the reason when a number is not valid", async () => {
    const tenant = await createTenant();
    const { cookie, csrf } = await signedIn(tenant, "admin");
    const res = await call(
      "/dashboard/send",
      null,
      form({ csrf, to: "+8612345678901", body: "x" }, cookie),
    );
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("not a valid");
  });

  it("does not let an analyst send", async () => {
    const tenant = await createTenant();
    const { cookie, csrf, page } = await signedIn(tenant, "analyst");
    expect(page).not.toContain('href="/dashboard/send"');
    expect((await call("/dashboard/send", null, { headers: { cookie } })).status).toBe(403);
    const res = await call(
      "/dashboard/send",
      null,
      form({ csrf, to: "13800138302", body: "x" }, cookie),
    );
    expect(res.status).toBe(403);
  });

  it("shows another tenant's message as not found", async () => {
    const owner = await createTenant();
    const sent = await owner.api("/v1/messages", {
      method: "POST",
      body: JSON.stringify({ to: "13800138303", body: "private" }),
    });
    const { id } = (await sent.json()) as { id: string };
    const stranger = await createTenant();
    const { cookie } = await signedIn(stranger, "admin");
    const res = await call(`/dashboard/messages/${id}`, null, { headers: { cookie } });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain("private");
  });

  it("refuses a tampered session cookie", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "admin");
    const res = await call("/dashboard", null, { headers: { cookie: `${cookie}x` } });
    expect(res.status).toBe(303);
  });
});

describe("dashboard reviews", () => {
  it("lets a reviewer approve a pending template, which then sends", async () => {
    const tenant = await createTenant();
    const created = await tenant.api(
      "/v1/templates",
      postJson({
        name: "Order shipped",
        kind: "notification",
        body: "Order {{order}} has shipped.",
        variables: [{ name: "order", type: "code", max_length: 12 }],
      }),
    );
    const { id } = (await created.json()) as { id: string };
    await tenant.api(`/v1/templates/${id}/submit`, postJson({}));

    const { cookie, csrf } = await signedIn(tenant, "reviewer");
    const queue = await (await call("/dashboard/reviews", null, { headers: { cookie } })).text();
    expect(queue).toContain("Order {{order}} has shipped.");
    expect(queue).toContain(`/dashboard/templates/${id}/approve`);

    const res = await call(`/dashboard/templates/${id}/approve`, null, form({ csrf }, cookie));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/dashboard/reviews?approved=${id}`);
    const after = await (
      await call(`/dashboard/reviews?approved=${id}`, null, { headers: { cookie } })
    ).text();
    expect(after).toContain(`${id} is approved.`);
    expect(after).not.toContain("Order {{order}} has shipped.");

    const send = await tenant.api(
      "/v1/messages",
      postJson({ to: "+14155550140", template_id: id, variables: { order: "A1" } }),
    );
    expect(send.status).toBe(202);
  });

  it("does not let an operator decide, and needs a reason to reject", async () => {
    const tenant = await createTenant();
    const created = await tenant.api(
      "/v1/templates",
      postJson({ name: "Hi", kind: "notification", body: "Hello there", variables: [] }),
    );
    const { id } = (await created.json()) as { id: string };
    await tenant.api(`/v1/templates/${id}/submit`, postJson({}));

    const operator = await signedIn(tenant, "operator");
    const page = await (
      await call("/dashboard/reviews", null, { headers: { cookie: operator.cookie } })
    ).text();
    expect(page).toContain("Your role can read the queue but not decide.");
    const refused = await call(
      `/dashboard/templates/${id}/approve`,
      null,
      form({ csrf: operator.csrf }, operator.cookie),
    );
    expect(refused.status).toBe(403);

    const reviewer = await signedIn(tenant, "reviewer");
    const noReason = await call(
      `/dashboard/templates/${id}/reject`,
      null,
      form({ csrf: reviewer.csrf, reason: " " }, reviewer.cookie),
    );
    expect(noReason.status).toBe(422);
    const template = await tenant.api(`/v1/templates/${id}`);
    expect(await template.json()).toMatchObject({ status: "pending_review" });
  });
});
