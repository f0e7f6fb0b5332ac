import { describe, expect, it } from "vitest";
import { form, signedIn } from "./support/dashboard";
import { CODE_TEMPLATE } from "./support/templates";
import { call, createTenant, postJson } from "./support/tenants";

describe("the dashboard's changes in the audit log", () => {
  it("records a reviewer's decision with the user as its actor and the request's id", async () => {
    const tenant = await createTenant();
    const created = await tenant.api("/v1/templates", postJson(CODE_TEMPLATE));
    const { id } = (await created.json()) as { id: string };
    await tenant.api(`/v1/templates/${id}/submit`, postJson({}));
    const { user, cookie, csrf } = await signedIn(tenant, "reviewer");

    const res = await call(
      `/dashboard/templates/${id}/reject`,
      null,
      form({ csrf, reason: "Too vague" }, cookie, { "x-request-id": "req-dashboard" }),
    );
    expect(res.status).toBe(303);

    const log = (await (await tenant.api("/v1/audit?action=template.reject")).json()) as {
      data: { actor: unknown; request_id: string; target: string; diff: unknown }[];
    };
    expect(log.data).toEqual([
      expect.objectContaining({
        actor: { type: "user", id: user.id },
        request_id: "req-dashboard",
        target: id,
        diff: {
          status: { from: "pending_review", to: "rejected" },
          review_reason: { from: null, to: "Too vague" },
        },
      }),
    ]);
  });
});
