import { describe, expect, it } from "vitest";
import { platform, platformTenant } from "../support/platform";
import { expectProblem } from "../support/problem";
import { postJson } from "../support/tenants";

const MISSING = "tnt_01ABCDEFGHJKMNPQRSTVWXYZ01";

describe("the platform routes' errors", () => {
  it("refuses a malformed creation with a pointer per field", async () => {
    const path = "/v1/platform/tenants";
    await expectProblem(
      await platform(
        path,
        postJson({ name: "", home_country: "XX", send_rate: -1, owner_email: "nope", extra: 1 }),
      ),
      {
        status: 400,
        slug: "validation-error",
        instance: path,
        pointers: ["/name", "/home_country", "/send_rate", "/owner_email", "/extra"],
      },
    );
  });

  it("answers 409 for an owner email already taken, and creates no tenant", async () => {
    const first = await platformTenant();
    const before = await platform("/v1/platform/tenants?limit=100");
    const count = ((await before.json()) as { data: unknown[] }).data.length;
    await expectProblem(
      await platform(
        "/v1/platform/tenants",
        postJson({ name: "Twin", home_country: "CN", owner_email: first.owner.email }),
      ),
      {
        status: 409,
        slug: "conflict",
        instance: "/v1/platform/tenants",
        pointers: ["/owner_email"],
      },
    );
    const after = await platform("/v1/platform/tenants?limit=100");
    expect(((await after.json()) as { data: unknown[] }).data.length).toBe(count);
  });

  it("answers 404 for an unknown tenant on every route that names one", async () => {
    for (const [method, suffix] of [
      ["GET", ""],
      ["PATCH", ""],
      ["POST", "/suspend"],
      ["POST", "/resume"],
    ] as const) {
      const path = `/v1/platform/tenants/${MISSING}${suffix}`;
      const init: RequestInit =
        method === "PATCH"
          ? {
              method,
              body: JSON.stringify({ name: "x" }),
              headers: { "content-type": "application/json" },
            }
          : { method };
      await expectProblem(await platform(path, init), {
        status: 404,
        slug: "not-found",
        instance: path,
      });
    }
  });

  it("refuses a PATCH that changes nothing or a setting the platform does not own", async () => {
    const created = await platformTenant();
    const path = `/v1/platform/tenants/${created.tenant.id}`;
    const patch = (body: unknown): RequestInit => ({
      method: "PATCH",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    await expectProblem(await platform(path, patch({})), {
      status: 400,
      slug: "validation-error",
      instance: path,
    });
    await expectProblem(await platform(path, patch({ prices: { CN: "0.01" } })), {
      status: 400,
      slug: "validation-error",
      instance: path,
    });
    await expectProblem(await platform("/v1/platform/tenants/not-an-id"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/platform/tenants/not-an-id",
    });
  });
});
