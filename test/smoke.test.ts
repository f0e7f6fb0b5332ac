import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("answers health checks", async () => {
    const res = await exports.default.fetch("http://x/healthz");
    expect(res.status).toBe(200);
  });
});
