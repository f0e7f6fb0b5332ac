/** Apps of the local WeChat sandbox, and calls to its WeChat side, for the sandbox's tests. */
import { call, postJson, type TestTenant } from "./tenants";
import { AES_KEY, type Mode, newAppId, TOKEN } from "./wechat";

/** PUBLIC_BASE_URL in wrangler.toml, which the tests use as is. */
export const SANDBOX_BASE_URL = "http://127.0.0.1:8787/sandbox/wechat";
export const SANDBOX_SECRET = "5a4db0c5a4db0c5a4db0c5a4db0c5a4d";
/** The followers every sandbox account starts with; the third has blocked template messages. */
export const FOLLOWERS = [
  "oSandboxFollower000000000001",
  "oSandboxFollower000000000002",
  "oSandboxFollower000000000003",
] as const;

export interface SandboxApp {
  appId: string;
  /** A live admin key of the tenant: test keys may read configuration but not change it. */
  liveKey: string;
  /** Calls the Worker with the live key. */
  live(path: string, init?: RequestInit): Promise<Response>;
}

/** A WeChat app of `tenant` whose API is the sandbox. */
export async function sandboxApp(
  tenant: TestTenant,
  mode: Mode = "safe",
  tokenEndpoint: "stable_token" | "token" = "stable_token",
): Promise<SandboxApp> {
  const { key } = await tenant.addKey(["admin"], "live");
  const live = (path: string, init?: RequestInit) => call(path, key, init);
  const appId = newAppId();
  const res = await live(
    "/v1/wechat/apps",
    postJson({
      app_id: appId,
      app_secret: SANDBOX_SECRET,
      token: TOKEN,
      encoding_aes_key: AES_KEY,
      mode,
      api_base_url: SANDBOX_BASE_URL,
      token_endpoint: tokenEndpoint,
    }),
  );
  if (res.status !== 201) {
    throw new Error(`sandbox app not created: ${res.status} ${await res.text()}`);
  }
  return { appId, liveKey: key, live };
}

/** A call to the sandbox's WeChat side, as the platform (or anyone) makes it. */
export function wechatSide(path: string, init: RequestInit = {}): Promise<Response> {
  return call(`/sandbox/wechat${path}`, null, init);
}

/** WeChat's JSON answer to a sandbox call, which is always HTTP 200 as WeChat's are. */
export async function wechatAnswer(
  path: string,
  init: RequestInit = {},
): Promise<Record<string, unknown>> {
  const res = await wechatSide(path, init);
  if (res.status !== 200) {
    throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  }
  return (await res.json()) as Record<string, unknown>;
}

/** An access token of the sandbox for `appId`. */
export async function sandboxToken(appId: string): Promise<string> {
  const answer = await wechatAnswer(
    "/cgi-bin/stable_token",
    postJson({ grant_type: "client_credential", appid: appId, secret: SANDBOX_SECRET }),
  );
  if (typeof answer.access_token !== "string") {
    throw new Error(`no token: ${JSON.stringify(answer)}`);
  }
  return answer.access_token;
}

/** A follower of the sandbox account sends `text`, as `POST /v1/sandbox/wechat/{app}/messages`. */
export function followerSays(
  tenant: TestTenant,
  appId: string,
  openid: string,
  text: string,
): Promise<Response> {
  return tenant.api(`/v1/sandbox/wechat/${appId}/messages`, postJson({ openid, text }));
}
