import { describe, it } from "vitest";
import { expectProblem } from "../support/problem";
import { createTenant, postJson } from "../support/tenants";

const instance = "/v1/batches";

describe("POST /v1/batches (errors)", () => {
  const cases: { what: string; body: unknown; pointers: string[] }[] = [
    { what: "neither recipients nor csv", body: { body: "Hi" }, pointers: ["/recipients"] },
    {
      what: "both recipients and csv",
      body: { body: "Hi", recipients: [{ to: "+14155550100" }], csv: "to\n+14155550100" },
      pointers: ["/recipients"],
    },
    {
      what: "neither body nor template",
      body: { recipients: [{ to: "+14155550100" }] },
      pointers: ["/body"],
    },
    {
      what: "an empty recipients list",
      body: { body: "Hi", recipients: [] },
      pointers: ["/recipients"],
    },
    {
      what: "a recipient without to",
      body: { body: "Hi", recipients: [{ variables: {} }] },
      pointers: ["/recipients/0/to"],
    },
  ];
  for (const { what, body, pointers } of cases) {
    it(`refuses ${what} with 400`, async () => {
      const tenant = await createTenant();
      await expectProblem(await tenant.api(instance, postJson(body)), {
        status: 400,
        slug: "validation-error",
        instance,
        pointers,
      });
    });
  }

  it("refuses a CSV whose header does not start with to, with 400", async () => {
    const tenant = await createTenant();
    await expectProblem(
      await tenant.api(instance, postJson({ body: "Hi", csv: "phone\n+14155550100" })),
      { status: 400, slug: "validation-error", instance, pointers: ["/csv"] },
    );
  });

  it("refuses a CSV with a header and no rows, with 400, as it does an empty list", async () => {
    const tenant = await createTenant();
    await expectProblem(await tenant.api(instance, postJson({ body: "Hi", csv: "to\n" })), {
      status: 400,
      slug: "validation-error",
      instance,
      pointers: ["/csv"],
    });
  });

  it("refuses a batch in which no row can be sent, with 422 naming the rows", async () => {
    const tenant = await createTenant();
    await expectProblem(
      await tenant.api(
        instance,
        postJson({ body: "Hi", recipients: [{ to: "nope" }, { to: "+33612345678" }] }),
      ),
      { status: 422, slug: "unprocessable-entity", instance, pointers: ["/rows/1", "/rows/2"] },
    );
  });

  it("refuses more than 100,000 CSV rows with 422", async () => {
    const tenant = await createTenant();
    const csv = `to\n${"+14155550100\n".repeat(100_001)}`;
    await expectProblem(await tenant.api(instance, postJson({ body: "Hi", csv })), {
      status: 422,
      slug: "unprocessable-entity",
      instance,
      pointers: ["/csv"],
    });
  });

  it("answers 404 for a batch id that does not exist and 400 for a malformed one", async () => {
    const tenant = await createTenant();
    const missing = "/v1/batches/bat_01JD3M6Y8Z5Q7K2N4P6R8T0V2X";
    await expectProblem(await tenant.api(missing), {
      status: 404,
      slug: "not-found",
      instance: missing,
    });
    await expectProblem(await tenant.api("/v1/batches/x"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/batches/x",
    });
  });

  it("refuses to cancel a completed batch with 409", async () => {
    const tenant = await createTenant();
    const res = await tenant.api(
      instance,
      postJson({ body: "Hi", recipients: [{ to: "+14155550130" }] }),
    );
    const { id } = (await res.json()) as { id: string };
    const path = `/v1/batches/${id}`;
    for (let i = 0; i < 100; i++) {
      const batch = (await (await tenant.api(path)).json()) as { status: string };
      if (batch.status === "completed") {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await expectProblem(await tenant.api(`${path}/cancel`, { method: "POST" }), {
      status: 409,
      slug: "conflict",
      instance: `${path}/cancel`,
    });
  });
});
