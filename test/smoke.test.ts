import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("answers health checks", async () => {
    const res = await exports.default.fetch("http://x/healthz");
    expect(res.status).toBe(200);
  });

  it("sends a browser at the root to the dashboard", async () => {
    const res = await exports.default.fetch("http://x/", {
      headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
      redirect: "manual",
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/dashboard");
  });

  it("tells a program at the root where the API, docs and dashboard are", async () => {
    const res = await exports.default.fetch("http://x/", { headers: { accept: "*/*" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: "Relaybox",
      api: "/v1",
      docs: "/docs",
      openapi: "/openapi.json",
      dashboard: "/dashboard",
    });
  });
});
