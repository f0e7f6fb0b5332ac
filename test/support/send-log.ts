/** Assertions about what a tenant's send log holds, through the public API. */
import { expect } from "vitest";
import { eventually, postJson, type TestTenant } from "./tenants";

export async function listIds(tenant: TestTenant, query = ""): Promise<string[]> {
  const res = await tenant.api(`/v1/messages${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id);
}

/**
 * A refused request changes nothing: the list is empty now, and once a later, valid message has
 * reached the send log (which the dispatcher writes in order), it is still the only one there.
 */
export async function expectNothingStored(tenant: TestTenant, alreadyAccepted: string[] = []) {
  if (alreadyAccepted.length === 0) {
    expect(await listIds(tenant)).toEqual([]);
  }
  const res = await tenant.api("/v1/messages", postJson({ to: "+8613800138000", body: "after" }));
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  const ids = await eventually(
    async () => {
      const listed = await listIds(tenant);
      return listed.includes(id) ? listed : undefined;
    },
    10_000,
    "the later message to reach the send log",
  );
  expect(ids.sort()).toEqual([...alreadyAccepted, id].sort());
}
