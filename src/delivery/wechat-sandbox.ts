/**
 * The local WeChat sandbox's object for one app (`idFromName("wechat-sandbox:" + appId)`). Callers
 * name only a sandbox app of our own table (services/wechat/sandbox.ts `isSandboxApp`), never an
 * app id as a request gave it.
 */
export function wechatSandboxOf(env: Env, appId: string) {
  return env.WECHAT_SANDBOX.get(env.WECHAT_SANDBOX.idFromName(`wechat-sandbox:${appId}`));
}
