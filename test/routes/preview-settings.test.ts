/**
 * A preview shows exactly what would go out, so it follows the account's settings as a send does:
 * from the change's 200 on, whichever key asks and whatever its isolate cached with it.
 */
import { describe, expect, it } from "vitest";
import { createTenant, postJson } from "../support/tenants";

describe("a preview after a change of the account's settings", () => {
  it("prices with the new price table and currency at once, for the key that made the change", async () => {
    const tenant = await createTenant();
    const preview = async () => {
      const res = await tenant.api("/v1/messages/preview", postJson({ body: "Hello" }));
      expect(res.status).toBe(200);
      return res.json();
    };
    expect(await preview()).toMatchObject({ cost: 0.0065, currency: "USD" });
    const changed = await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({ currency: "CNY", prices: { CN: "0.0450" } }),
    });
    expect(changed.status).toBe(200);
    expect(await preview()).toMatchObject({ cost: 0.045, currency: "CNY" });
  });

  it("refuses a country the change no longer allows", async () => {
    const tenant = await createTenant();
    const preview = () =>
      tenant.api("/v1/messages/preview", postJson({ to: "+14155550123", body: "Hello" }));
    expect((await preview()).status).toBe(200);
    await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({ allowed_countries: ["CN"] }),
    });
    expect((await preview()).status).toBe(422);
  });
});
