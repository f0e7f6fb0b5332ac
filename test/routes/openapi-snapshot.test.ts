/**
 * The API document as the Worker serves it, kept in test/lint/openapi.json for `npm run lint`
 * (Redocly cannot load the app: it runs only in workerd). A route change that is not reflected
 * there fails here.
 */
import { describe, expect, it } from "vitest";
import { call } from "../support/tenants";

describe("test/lint/openapi.json", () => {
  it("is the document GET /openapi.json serves", async () => {
    const res = await call("/openapi.json", null);
    expect(res.status).toBe(200);
    const served = `${JSON.stringify(await res.json(), null, 2)}\n`;
    await expect(
      served,
      "test/lint/openapi.json differs from GET /openapi.json: run `npm run openapi:snapshot` and commit it",
    ).toMatchFileSnapshot("../lint/openapi.json");
  });
});
