/**
 * The demo seed's WeChat sandbox app, in Node as `npm start` writes it: its secrets are encrypted
 * as the Worker encrypts them (the Worker must read them back), and are settings WeChat's console
 * would take.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEMO_WECHAT_APP_ID, seedSql } from "../../scripts/seed.mjs";
import { isEncodingAesKey } from "../../src/channels/wechat/crypto";
import { decryptSecret } from "../../src/lib/secrets";

const masterKey = randomBytes(32).toString("base64");
const credentials = {
  createdAt: 1_700_000_000_000,
  apiKeyId: "key_A",
  apiKey: `rbx_test_${"a".repeat(32)}`,
  liveApiKeyId: "key_B",
  liveApiKey: `rbx_live_${"b".repeat(32)}`,
  userId: "usr_A",
  email: "admin@relaybox.local",
  passwordHash: "pbkdf2-sha256$100000$00$00",
  providerSettingsId: "prv_A",
  hookToken: "h".repeat(32),
};

function appRow(sql: string): { secrets: string; apiBaseUrl: string } {
  const values = new RegExp(
    `INSERT INTO wechat_apps [^;]*VALUES \\('${DEMO_WECHAT_APP_ID}', 'tnt_demo', 'safe', '([^']+)', '([^']+)'`,
  ).exec(sql);
  if (!values?.[1] || !values[2]) {
    throw new Error("no wechat_apps row in the seed");
  }
  return { secrets: values[1], apiBaseUrl: values[2] };
}

describe("the demo seed's WeChat sandbox app", () => {
  const sql = seedSql(credentials, {
    wechatSandbox: { masterKey, publicBaseUrl: "http://127.0.0.1:8791" },
  });

  it("points the app at the sandbox of the server it seeds", () => {
    expect(appRow(sql).apiBaseUrl).toBe("http://127.0.0.1:8791/sandbox/wechat");
  });

  it("stores secrets the Worker decrypts, in the formats WeChat's console gives", async () => {
    const plaintext = await decryptSecret(masterKey, "provider-credentials", appRow(sql).secrets);
    const secrets = JSON.parse(plaintext) as Record<string, string>;
    expect(secrets.app_secret).toMatch(/^[0-9a-f]{32}$/);
    expect(secrets.token).toMatch(/^[A-Za-z0-9]{3,32}$/);
    expect(isEncodingAesKey(secrets.encoding_aes_key ?? "")).toBe(true);
  });

  it("binds the demo contact to the sandbox's first follower", () => {
    expect(sql).toContain("'demo-user'");
    expect(sql).toMatch(/INSERT INTO contact_wechat_bindings[^;]*'oSandboxFollower000000000001'/);
  });

  it("leaves the app out without a master key (the benchmark's servers)", () => {
    expect(seedSql(credentials)).not.toContain("wechat_apps");
  });
});
