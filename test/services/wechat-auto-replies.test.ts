import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { autoReplyRules } from "../../src/db/schema";
import { wechatRules } from "../../src/services/wechat/auto-replies";
import { createTenant } from "../support/tenants";

describe("wechatRules", () => {
  it("serves the rules it read for 10 s, then reads them again", async () => {
    const tenant = await createTenant();
    const appId = "wxa000000000000001";
    const at = Date.now();
    expect(await wechatRules(env, tenant.id, appId, at)).toEqual([]);
    // Written past this isolate's services, as another isolate would.
    await database(env.DB)
      .insert(autoReplyRules)
      .values({
        id: "arr_cache_1",
        tenantId: tenant.id,
        channel: "wechat",
        scope: appId,
        match: "exact",
        keyword: "hi",
        reply: { type: "text", content: "hello" },
        createdAt: at,
      });
    expect(await wechatRules(env, tenant.id, appId, at + 9_999)).toEqual([]);
    expect(await wechatRules(env, tenant.id, appId, at + 10_000)).toMatchObject([
      { id: "arr_cache_1", keyword: "hi" },
    ]);
  });
});
