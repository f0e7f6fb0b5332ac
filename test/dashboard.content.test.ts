import { describe, expect, it } from "vitest";
import { form, signedIn } from "./support/dashboard";
import { call, createTenant, postJson } from "./support/tenants";

type Signed = { cookie: string; csrf: string };

function post(who: Signed, path: string, fields: Record<string, string> = {}) {
  return call(path, null, form({ csrf: who.csrf, ...fields }, who.cookie));
}

async function page(who: Signed, path: string) {
  const res = await call(path, null, { headers: { cookie: who.cookie } });
  return { status: res.status, html: await res.text() };
}

const LOGIN_CODE = {
  name: "Login code",
  kind: "verification",
  body: "Your code is {{code}}.",
  "variables.0.name": "code",
  "variables.0.type": "code",
  "variables.0.max_length": "8",
};

describe("the dashboard's template pages", () => {
  it("creates a template from the editor, submits it, and a reviewer approves it", async () => {
    const tenant = await createTenant();
    const marketer = await signedIn(tenant, "marketer");
    const created = await post(marketer, "/dashboard/templates", LOGIN_CODE);
    expect(created.status).toBe(303);
    const path = created.headers.get("location") ?? "";
    expect(path).toMatch(/^\/dashboard\/templates\/tpl_[0-9A-Z]{26}$/);
    const id = path.split("/").pop() ?? "";

    const editor = await page(marketer, path);
    expect(editor.status).toBe(200);
    // The declared variable with its type, the preview with a sample value, the versions.
    expect(editor.html).toContain('value="code"');
    expect(editor.html).toMatch(/<option value="code" selected="">/);
    expect(editor.html).toContain("Your code is 123456.");
    expect(editor.html).toContain("Versions");
    expect(editor.html).toContain(`action="/dashboard/templates/${id}/submit"`);

    const submitted = await post(marketer, `${path}/submit`);
    expect(submitted.status).toBe(303);
    const pending = await page(marketer, path);
    expect(pending.html).toContain("Pending review");
    expect(pending.html).not.toContain(`action="/dashboard/templates/${id}/submit"`);

    const reviewer = await signedIn(tenant, "reviewer");
    const queue = await page(reviewer, "/dashboard/reviews");
    expect(queue.html).toContain(`action="/dashboard/templates/${id}/approve"`);
    // Approving asks first: the approve form sits in the confirmation disclosure.
    expect(queue.html).toMatch(/<details class="confirm"><summary[^>]*>Approve<\/summary>/);
    const approved = await post(reviewer, `/dashboard/templates/${id}/approve`);
    expect(approved.status).toBe(303);
    const api = (await (await tenant.api(`/v1/templates/${id}`)).json()) as { status: string };
    expect(api.status).toBe("approved");

    const list = await page(marketer, "/dashboard/templates?status=approved");
    expect(list.html).toContain(`href="/dashboard/templates/${id}"`);
    const drafts = await page(marketer, "/dashboard/templates?status=draft");
    expect(drafts.html).not.toContain(`href="/dashboard/templates/${id}"`);
  });

  it("shows the service's field errors on the editor and keeps what was typed", async () => {
    const tenant = await createTenant();
    const marketer = await signedIn(tenant, "marketer");
    const undeclared = await post(marketer, "/dashboard/templates", {
      ...LOGIN_CODE,
      body: "Your code is {{code}} for {{minutes}} minutes.",
    });
    expect(undeclared.status).toBe(422);
    const html = await undeclared.text();
    expect(html).toMatch(/id="field-body-error">\{\{minutes\}\} is not declared/);
    expect(html).toContain("for {{minutes}} minutes.</textarea>");

    const badName = await post(marketer, "/dashboard/templates", {
      ...LOGIN_CODE,
      body: "Code {{Code}}",
      "variables.0.name": "Code",
    });
    expect(badName.status).toBe(422);
    expect(await badName.text()).toContain('id="field-variables.0.name-error"');
    const list = (await (await tenant.api("/v1/templates")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });

  it("answers the live preview with a fragment marking sensitive words", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    await tenant.api("/v1/sensitive-words", postJson({ word: "forbiddenword", policy: "block" }));
    const res = await post(admin, "/dashboard/templates/preview", {
      ...LOGIN_CODE,
      body: "Your code is {{code}}, forbiddenword.",
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/^<div id="template-preview"/);
    expect(html).toContain('<mark class="hit block"');
    expect(html).toContain("Blocked");
  });

  it("lets a reader see templates but not create or change them", async () => {
    const tenant = await createTenant();
    const analyst = await signedIn(tenant, "analyst");
    const list = await page(analyst, "/dashboard/templates");
    expect(list.status).toBe(200);
    expect(list.html).not.toContain('href="/dashboard/templates/new"');
    expect((await page(analyst, "/dashboard/templates/new")).status).toBe(403);
    const res = await post(analyst, "/dashboard/templates", LOGIN_CODE);
    expect(res.status).toBe(403);
    await res.body?.cancel();
    const stored = (await (await tenant.api("/v1/templates")).json()) as { data: unknown[] };
    expect(stored.data).toEqual([]);
  });
});

describe("the dashboard's signatures page", () => {
  it("creates a signature, refuses a bad name by field, and submits it", async () => {
    const tenant = await createTenant();
    const marketer = await signedIn(tenant, "marketer");
    const bad = await post(marketer, "/dashboard/signatures", { name: "【X】" });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain('id="field-name-error"');
    const made = await post(marketer, "/dashboard/signatures", { name: "Relaybox" });
    expect(made.status).toBe(303);
    const list = await page(marketer, "/dashboard/signatures");
    expect(list.html).toContain("【Relaybox】");
    const id = /action="\/dashboard\/signatures\/(sig_[0-9A-Z]{26})\/submit"/.exec(list.html)?.[1];
    expect(id).toBeDefined();
    expect((await post(marketer, `/dashboard/signatures/${id}/submit`)).status).toBe(303);
    const pending = await page(marketer, "/dashboard/signatures?status=pending_review");
    expect(pending.html).toContain("【Relaybox】");

    const analyst = await signedIn(tenant, "analyst");
    const refused = await post(analyst, "/dashboard/signatures", { name: "Other" });
    expect(refused.status).toBe(403);
    await refused.body?.cancel();
  });
});

describe("the dashboard's sensitive words page", () => {
  it("adds a word, imports a file, and tests a text showing the hits", async () => {
    const tenant = await createTenant();
    const reviewer = await signedIn(tenant, "reviewer");
    const added = await post(reviewer, "/dashboard/sensitive-words", {
      word: "alphaword",
      policy: "block",
    });
    expect(added.status).toBe(303);
    const again = await post(reviewer, "/dashboard/sensitive-words", {
      word: "alphaword",
      policy: "block",
    });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('id="field-word-error"');

    const file = new FormData();
    file.set("csrf", reviewer.csrf);
    file.set("policy", "mask");
    file.set("file", new File(["betaword\ngammaword,review\n\n# a comment\n"], "words.txt"));
    const imported = await call("/dashboard/sensitive-words/import", null, {
      method: "POST",
      body: file,
      headers: { cookie: reviewer.cookie },
    });
    expect(imported.status).toBe(200);
    expect(await imported.text()).toContain("2 added, 0 changed, 0 unchanged, 0 refused.");
    const words = (await (await tenant.api("/v1/sensitive-words")).json()) as {
      data: { word: string; policy: string }[];
    };
    expect(words.data.map((w) => `${w.word}:${w.policy}`).sort()).toEqual([
      "alphaword:block",
      "betaword:mask",
      "gammaword:review",
    ]);

    const checked = await post(reviewer, "/dashboard/sensitive-words/check", {
      text: "say alphaword and gammaword",
    });
    expect(checked.status).toBe(200);
    const html = await checked.text();
    expect(html).toContain('<mark class="hit block"');
    expect(html).toContain('<mark class="hit review"');
    expect(html).toContain("Blocked");
  });

  it("lets a reader test texts but not change the words; refuses a role without content:read", async () => {
    const tenant = await createTenant();
    const analyst = await signedIn(tenant, "analyst");
    const view = await page(analyst, "/dashboard/sensitive-words");
    expect(view.status).toBe(200);
    expect(view.html).not.toContain('action="/dashboard/sensitive-words/import"');
    expect((await post(analyst, "/dashboard/sensitive-words/check", { text: "hi" })).status).toBe(
      200,
    );
    const refused = await post(analyst, "/dashboard/sensitive-words", {
      word: "x1",
      policy: "block",
    });
    expect(refused.status).toBe(403);
    await refused.body?.cancel();
    const agent = await signedIn(tenant, "agent");
    expect((await page(agent, "/dashboard/sensitive-words")).status).toBe(403);
  });
});
