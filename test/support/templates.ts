/** Templates through the API, for tests that send from one. */
import { expect } from "vitest";
import { postJson, type TestTenant } from "./tenants";

export const CODE_TEMPLATE = {
  name: "Login code",
  kind: "verification",
  body: "Your code is {{code}}. It expires in {{minutes}} minutes.",
  variables: [
    { name: "code", type: "code", max_length: 8 },
    { name: "minutes", type: "number", max_length: 2 },
  ],
};

export const PROMO_TEMPLATE = {
  name: "Promotion",
  kind: "marketing",
  body: "{{name}}, 20% off everything this weekend.",
  variables: [{ name: "name", type: "string", max_length: 20 }],
};

/** Creates a template, submits it and approves it (the tenant's first key has every scope). */
export async function approvedTemplate(
  tenant: TestTenant,
  template: unknown = CODE_TEMPLATE,
): Promise<string> {
  const created = await tenant.api("/v1/templates", postJson(template));
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  for (const action of ["submit", "approve"]) {
    const res = await tenant.api(`/v1/templates/${id}/${action}`, postJson({}));
    expect(res.status, `${action}: ${await res.clone().text()}`).toBe(200);
  }
  return id;
}
