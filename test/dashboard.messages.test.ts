/**
 * The dashboard's Messages area: filters, the live preview (the same service as
 * POST /v1/messages/preview), sending from a template, scheduled sends and their cancel, the CSV
 * batch upload with its per-row report, progress and cancel, and the permission checks.
 */

import { describe, expect, it } from "vitest";
import { en } from "../src/dashboard/i18n/en";
import { form, signedIn } from "./support/dashboard";
import { approvedTemplate } from "./support/templates";
import { call, createTenant, eventually, messageReaches, postJson } from "./support/tenants";

const page = async (path: string, cookie: string) => {
  const res = await call(path, null, { headers: { cookie } });
  return { status: res.status, html: await res.text() };
};

/** A multipart post of the batch form with `csv` as the uploaded file. */
function upload(fields: Record<string, string>, csv: string, cookie: string): RequestInit {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    body.set(k, v);
  }
  body.set("csv", new File([csv], "recipients.csv", { type: "text/csv" }));
  return { method: "POST", body, headers: { cookie } };
}

const SHIPPED = {
  name: "Shipped",
  kind: "notification",
  body: "{{name}}, your order shipped.",
  variables: [{ name: "name", type: "string", max_length: 20 }],
};

const inAnHour = () => {
  // The form's datetime-local is read in the tenant's zone: a CN tenant is UTC+8.
  const local = new Date(Date.now() + 3_600_000 + 8 * 3_600_000);
  return local.toISOString().slice(0, 16);
};

describe("dashboard messages area", () => {
  it("previews as the API does, with the sensitive words marked", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    expect(
      (await tenant.api("/v1/sensitive-words", postJson({ word: "抽奖", policy: "review" })))
        .status,
    ).toBe(201);
    const { cookie, csrf } = await signedIn(tenant, "operator");
    const text = "周末抽奖活动开始啦，快来参加";
    const res = await call(
      "/dashboard/send/preview",
      null,
      form({ csrf, to: "", body: text, template_id: "" }, cookie),
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    const api = (await (
      await tenant.api("/v1/messages/preview", postJson({ body: text }))
    ).json()) as { segments: number; encoding: string; hits: unknown[] };
    expect(api.hits).toHaveLength(1);
    expect(html).toContain('<mark class="review">抽奖</mark>');
    expect(html).toContain(`data-figure="segments">${api.segments}<`);
    expect(html).toContain(`data-figure="encoding">${api.encoding}<`);
    expect(html).not.toContain("<html");
  });

  it("sends from a template with variables, shows field errors, schedules and cancels", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    const templateId = await approvedTemplate(tenant, SHIPPED);
    const { cookie, csrf } = await signedIn(tenant, "operator");

    const vars = await page(`/dashboard/send/variables?template_id=${templateId}`, cookie);
    expect(vars.html).toContain('name="variables.name"');
    expect(vars.html).toContain("at most 20 characters");

    const missing = await call(
      "/dashboard/send",
      null,
      form({ csrf, to: "", body: "", template_id: "" }, cookie),
    );
    expect(missing.status).toBe(422);
    const missingHtml = await missing.text();
    expect(missingHtml).toContain('id="field-to-error"');
    expect(missingHtml).toContain('id="field-body-error"');

    const tooLong = await call(
      "/dashboard/send",
      null,
      form(
        { csrf, to: "13800138501", template_id: templateId, "variables.name": "x".repeat(30) },
        cookie,
      ),
    );
    expect(tooLong.status).toBe(422);
    expect(await tooLong.text()).toContain('id="field-variables.name-error"');

    const scheduled = await call(
      "/dashboard/send",
      null,
      form(
        {
          csrf,
          to: "13800138502",
          template_id: templateId,
          "variables.name": "Ada",
          send_at: inAnHour(),
        },
        cookie,
      ),
    );
    expect(scheduled.status).toBe(303);
    const id = /(msg_[0-9A-Z]{26})$/.exec(scheduled.headers.get("location") ?? "")?.[1] ?? "";
    const body = await messageReaches(tenant, id, "scheduled");
    expect(body.body).toContain("Ada, your order shipped.");
    const due = Date.parse(String(body.send_at)) - Date.now();
    expect(due).toBeGreaterThan(55 * 60_000);
    expect(due).toBeLessThan(61 * 60_000);

    const list = await eventually(async () => {
      const p = await page("/dashboard/scheduled", cookie);
      return p.html.includes(id) ? p : undefined;
    });
    expect(list.html).toContain(`/dashboard/messages/${id}/cancel`);
    const filtered = await page(`/dashboard/messages?template_id=${templateId}`, cookie);
    expect(filtered.html).toContain(id);
    const other = await page("/dashboard/messages?channel=wechat", cookie);
    expect(other.html).not.toContain(id);

    const cancel = await call(
      `/dashboard/messages/${id}/cancel`,
      null,
      form({ csrf, back: "scheduled" }, cookie),
    );
    expect(cancel.status).toBe(303);
    expect(cancel.headers.get("location")).toBe("/dashboard/scheduled");
    await messageReaches(tenant, id, "canceled");
    const detail = await page(`/dashboard/messages/${id}`, cookie);
    expect(detail.html).toContain("Timeline");
    expect(detail.html).not.toContain(`/dashboard/messages/${id}/cancel`);
  });

  it("uploads a CSV batch, reports its bad rows, shows its progress and filters by it", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    const { cookie, csrf } = await signedIn(tenant, "operator");
    const csv = "\uFEFFto\n13800138601\nnot-a-number\n13800138602\n";
    const res = await call(
      "/dashboard/batches",
      null,
      upload({ csrf, body: "Batch hello", template_id: "" }, csv, cookie),
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    const batchId = /\/dashboard\/batches\/(bat_[0-9A-Z]{26})"/.exec(html)?.[1] ?? "";
    expect(batchId).not.toBe("");
    expect(html).toContain("2 accepted, 1 rejected.");
    // The list under the report has it at once (its report and its row both link to it).
    expect(html.split(`href="/dashboard/batches/${batchId}"`)).toHaveLength(3);
    expect(html).not.toContain(en["batches.empty"]);
    // The CSV's third line (the header is line 1).
    expect(html).toMatch(/<td>3<\/td><td>[^<]+<\/td>/);

    const done = await eventually(
      async () => {
        const p = await page(`/dashboard/batches/${batchId}/progress`, cookie);
        return p.html.includes('data-status="completed"') ? p : undefined;
      },
      20_000,
      "the batch to complete",
    );
    expect(done.html).toContain('<progress max="2" value="2"');
    expect(done.html).not.toContain("hx-trigger");
    const messages = await page(`/dashboard/messages?batch_id=${batchId}`, cookie);
    expect(messages.html.match(/href="\/dashboard\/messages\/msg_/g)).toHaveLength(2);
    const batchPage = await page(`/dashboard/batches/${batchId}`, cookie);
    expect(batchPage.html).not.toContain(`/dashboard/batches/${batchId}/cancel`);
  });

  it("refuses an upload without a file with the field's error, and cancels a scheduled batch", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    const { cookie, csrf } = await signedIn(tenant, "operator");
    const empty = await call(
      "/dashboard/batches",
      null,
      upload({ csrf, body: "x", template_id: "" }, "", cookie),
    );
    expect(empty.status).toBe(422);
    expect(await empty.text()).toContain('id="field-csv-error"');

    const res = await call(
      "/dashboard/batches",
      null,
      upload(
        { csrf, body: "Later", template_id: "", send_at: inAnHour() },
        "to\n13800138701\n",
        cookie,
      ),
    );
    const batchId = /\/dashboard\/batches\/(bat_[0-9A-Z]{26})"/.exec(await res.text())?.[1] ?? "";
    const detail = await page(`/dashboard/batches/${batchId}`, cookie);
    expect(detail.html).toContain(`/dashboard/batches/${batchId}/cancel`);
    const cancel = await call(`/dashboard/batches/${batchId}/cancel`, null, form({ csrf }, cookie));
    expect(cancel.status).toBe(303);
    const after = await (await tenant.api(`/v1/batches/${batchId}`)).json();
    expect(after).toMatchObject({ status: "canceled" });
  });

  it("lets an analyst look but not send, upload or cancel", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    const { cookie, csrf } = await signedIn(tenant, "analyst");
    expect((await page("/dashboard/send", cookie)).status).toBe(403);
    const batches = await page("/dashboard/batches", cookie);
    expect(batches.status).toBe(200);
    expect(batches.html).not.toContain('enctype="multipart/form-data"');
    expect((await page("/dashboard/scheduled", cookie)).status).toBe(200);
    const refused = await call(
      "/dashboard/batches",
      null,
      upload({ csrf, body: "x", template_id: "" }, "to\n13800138801\n", cookie),
    );
    expect(refused.status).toBe(403);
    const preview = await call(
      "/dashboard/send/preview",
      null,
      form({ csrf, body: "x", template_id: "" }, cookie),
    );
    expect(preview.status).toBe(403);
    const list = (await (await tenant.api("/v1/batches")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });
});
