/** The platform admin's calls in tests: the key test/vitest.config.ts sets as PLATFORM_KEY. */
import { call, postJson } from "./tenants";

export const TEST_PLATFORM_KEY = "rbx_platform_TestPlatformKey00000000000000000";

export function platform(path: string, init: RequestInit = {}): Promise<Response> {
  return call(path, TEST_PLATFORM_KEY, init);
}

export interface CreatedTenantBody {
  tenant: { id: string; name: string; suspended_at: string | null; send_rate: number };
  owner: { id: string; email: string; invitation_url: string | null };
  api_key: { id: string; key: string | null; scopes: string[]; mode: string };
}

/** A tenant created through POST /v1/platform/tenants. */
export async function platformTenant(
  body: Record<string, unknown> = {},
): Promise<CreatedTenantBody> {
  const res = await platform(
    "/v1/platform/tenants",
    postJson({
      name: "Acme",
      home_country: "CN",
      allowed_countries: ["CN", "US"],
      owner_email: `owner-${crypto.randomUUID()}@example.com`,
      ...body,
    }),
  );
  if (res.status !== 201) {
    throw new Error(`create tenant: ${res.status} ${await res.text()}`);
  }
  return (await res.json()) as CreatedTenantBody;
}

export const suspend = (id: string) =>
  platform(`/v1/platform/tenants/${id}/suspend`, { method: "POST" });
export const resume = (id: string) =>
  platform(`/v1/platform/tenants/${id}/resume`, { method: "POST" });
