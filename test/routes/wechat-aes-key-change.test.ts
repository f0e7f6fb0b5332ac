/**
 * WeChat's advice for a change of EncodingAESKey: pushes under way may still be encrypted with
 * the key before, so it is tried when the current one fails, for a grace period after the change.
 */
import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { createTenant, postJson, type TestTenant } from "../support/tenants";
import { deliver, TOKEN, textMessage, wechatApp } from "../support/wechat";

const NEXT_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const THIRD_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut";

async function changeKey(tenant: TestTenant, appId: string, key: string): Promise<void> {
  const res = await tenant.api(
    "/v1/wechat/apps",
    postJson({
      app_id: appId,
      app_secret: "0123456789abcdef0123456789abcdef",
      token: TOKEN,
      encoding_aes_key: key,
      mode: "safe",
    }),
  );
  expect(res.status).toBe(200);
}

describe("a change of EncodingAESKey", () => {
  it("still opens a push sealed with the key before, but not with the one before that", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    // The test's WeChat seals every push with AES_KEY (test/support/wechat), the app's first key.
    expect(
      (await deliver(appId, textMessage("one", "7100000000000000001"), { mode: "safe" })).status,
    ).toBe(200);

    await changeKey(tenant, appId, NEXT_KEY);
    const during = await deliver(appId, textMessage("two", "7100000000000000002"), {
      mode: "safe",
    });
    expect(during.status).toBe(200);
    expect(await during.text()).toBe("success");

    // Saving the settings again with the same key keeps the key before in its grace period.
    await changeKey(tenant, appId, NEXT_KEY);
    expect(
      (await deliver(appId, textMessage("three", "7100000000000000003"), { mode: "safe" })).status,
    ).toBe(200);

    await changeKey(tenant, appId, THIRD_KEY);
    await expectProblem(
      await deliver(appId, textMessage("four", "7100000000000000004"), { mode: "safe" }),
      {
        status: 400,
        slug: "validation-error",
        instance: `/wechat/${appId}`,
        detail: /does not decrypt/,
      },
    );
  });
});
