import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { addUser, form, signedIn, signIn } from "./support/dashboard";
import { expectProblem } from "./support/problem";
import { call, createTenant, postJson } from "./support/tenants";

const SIGNED_OUT = "/dashboard/login";

async function isSignedOut(cookie: string) {
  const res = await call("/dashboard", null, { headers: { cookie } });
  return res.status === 303 && res.headers.get("location") === SIGNED_OUT;
}

describe("dashboard sessions end at once", () => {
  it("refuses a session after it signs out, and keeps the user's other sessions", async () => {
    const tenant = await createTenant();
    const first = await signedIn(tenant, "admin");
    const second = await signedIn(tenant, "operator");
    const out = await call("/dashboard/logout", null, form({ csrf: first.csrf }, first.cookie));
    expect(out.status).toBe(303);
    expect(await isSignedOut(first.cookie)).toBe(true);
    const replayed = await call(
      "/dashboard/send",
      null,
      form({ csrf: first.csrf, to: "13800138310", body: "after sign-out" }, first.cookie),
    );
    expect(replayed.status).toBe(303);
    expect(replayed.headers.get("location")).toBe(SIGNED_OUT);
    expect(await isSignedOut(second.cookie)).toBe(false);
  });

  it("refuses every session of a user whose role changes, and signs them in with the new role", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    // Today a user's row is changed with SQL (README, "Deploying"): that is what must revoke.
    await env.DB.prepare("UPDATE users SET role = 'analyst' WHERE id = ?")
      .bind(admin.user.id)
      .run();
    expect(await isSignedOut(admin.cookie)).toBe(true);
    const sent = await call(
      "/dashboard/send",
      null,
      form({ csrf: admin.csrf, to: "13800138311", body: "as a demoted admin" }, admin.cookie),
    );
    expect(sent.status).toBe(303);
    expect(sent.headers.get("location")).toBe(SIGNED_OUT);
    const list = (await (await tenant.api("/v1/messages")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
    const again = await signIn(admin.user);
    expect(again.page).not.toContain(`href="/dashboard/send"`);
  });

  it("refuses the session of a user who is removed", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(admin.user.id).run();
    expect(await isSignedOut(admin.cookie)).toBe(true);
  });
});

describe("the session cookie", () => {
  it("covers the whole site, and signing in drops one set before it did (path /dashboard)", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "analyst");
    const res = await call(
      "/dashboard/login",
      null,
      form({ email: user.email, password: user.password }, "rbx_session=old-cookie"),
    );
    expect(res.status).toBe(303);
    const cookies = res.headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    expect(cookies[0]).toMatch(/^rbx_session=; Max-Age=0; Path=\/dashboard/);
    expect(cookies[1]).toMatch(
      /^rbx_session=[0-9A-Za-z]{43}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict/,
    );
  });
});

describe("dashboard sign-in throttling", () => {
  it("checks at most ten of forty wrong passwords, then refuses the right one with a 429", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "admin");
    const from = { "cf-connecting-ip": "198.51.100.7" };
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await call(
        "/dashboard/login",
        null,
        form({ email: user.email, password: `guess ${i}` }, undefined, from),
      );
      statuses.push(res.status);
      await res.body?.cancel();
    }
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    const right = await call(
      "/dashboard/login",
      null,
      form({ email: user.email, password: user.password }, undefined, from),
    );
    expect(right.headers.get("set-cookie")).toBeNull();
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectProblem(right, { status: 429, slug: "rate-limited", instance: "/dashboard/login" });
  });
});

describe("dashboard sign-in form", () => {
  it("refuses a sign-in posted from another site (login CSRF)", async () => {
    const tenant = await createTenant();
    const user = await addUser(tenant, "admin");
    const credentials = { email: user.email, password: user.password };
    const foreign: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      { referer: "https://evil.example/login.html" },
    ];
    for (const headers of foreign) {
      const res = await call("/dashboard/login", null, form(credentials, undefined, headers));
      expect(res.headers.get("set-cookie"), JSON.stringify(headers)).toBeNull();
      await expectProblem(res, { status: 403, slug: "forbidden", instance: "/dashboard/login" });
    }
    const own = await call(
      "/dashboard/login",
      null,
      form(credentials, undefined, { origin: "http://127.0.0.1:8787" }),
    );
    expect(own.status).toBe(303);
  });
});

describe("dashboard responses", () => {
  const SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
  };

  it("carry the security headers, on pages, redirects and errors alike", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "admin");
    const user = await addUser(tenant, "admin");
    const responses = {
      "sign-in page": await call("/dashboard/login", null),
      "signed-out redirect": await call("/dashboard", null),
      "messages page": await call("/dashboard", null, { headers: { cookie } }),
      "wrong password": await call(
        "/dashboard/login",
        null,
        form({ email: user.email, password: "wrong" }),
      ),
      "not found": await call("/dashboard/messages/nope", null, { headers: { cookie } }),
    };
    for (const [what, res] of Object.entries(responses)) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
        expect(res.headers.get(name), `${what}: ${name}`).toBe(value);
      }
      const policy = res.headers.get("content-security-policy") ?? "";
      for (const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
      ]) {
        expect(policy, `${what}: ${directive}`).toContain(directive);
      }
    }
  });

  it("serve pages that their policy allows: no inline script, style or event handler", async () => {
    const tenant = await createTenant();
    const sent = await tenant.api("/v1/messages", postJson({ to: "13800138312", body: "hi" }));
    const { id } = (await sent.json()) as { id: string };
    const { cookie } = await signedIn(tenant, "admin");
    const pages = {
      "sign-in": await call("/dashboard/login", null),
      messages: await call("/dashboard", null, { headers: { cookie } }),
      message: await call(`/dashboard/messages/${id}`, null, { headers: { cookie } }),
      reviews: await call("/dashboard/reviews", null, { headers: { cookie } }),
    };
    for (const [what, res] of Object.entries(pages)) {
      expect(res.status, what).toBe(200);
      const html = await res.text();
      expect(html, what).not.toMatch(/<script(?![^>]*\ssrc=)/i);
      expect(html, what).not.toMatch(/<style/i);
      expect(html, what).not.toMatch(/\sstyle=/i);
      expect(html, what).not.toMatch(/\son[a-z]+=/i);
      const stylesheet = /<link rel="stylesheet" href="(\/[^"]+)"/.exec(html)?.[1] ?? "";
      expect(stylesheet, what).not.toBe("");
      // Through the Worker, Vitest answers asset paths with 404; the ASSETS binding serves them.
      const css = await env.ASSETS.fetch(`http://x${stylesheet}`);
      expect(css.status, stylesheet).toBe(200);
      await css.body?.cancel();
    }
  });
});
