/** Users, invitations and audit entries for the users tests. */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { listAuditEntries } from "../../src/services/audit/audit-log";
import { call, postJson, type TestTenant } from "./tenants";

export const GOOD_PASSWORD = "violet tractor in the rain";

export interface Invited {
  user: { id: string; email: string; role: string; status: string };
  invitation_url: string;
  invitation_expires_at: string;
  token: string;
}

export async function invite(tenant: TestTenant, role: string, email?: string): Promise<Invited> {
  const address = email ?? `${role}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const res = await tenant.api("/v1/users", postJson({ email: address, role }));
  expect(res.status).toBe(201);
  const body = (await res.json()) as Omit<Invited, "token">;
  const token = decodeURIComponent(body.invitation_url.split("/dashboard/invitations/")[1] ?? "");
  return { ...body, token };
}

export function accept(token: string, password = GOOD_PASSWORD) {
  return call("/v1/invitations/accept", null, postJson({ token, password }));
}

/** The tenant's audit actions, oldest first. */
export async function auditActions(tenantId: string): Promise<string[]> {
  const page = await listAuditEntries(env, tenantId, {}, { limit: 100 });
  return page.data.map((entry) => entry.action).reverse();
}
