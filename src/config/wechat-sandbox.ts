/**
 * Where the local WeChat sandbox lives, when WECHAT_SANDBOX_ENABLED (development only) is on: a
 * sandbox app is one whose `api_base_url` is this Worker's `/sandbox/wechat`.
 */
import { settingsOf } from "./settings";

export const SANDBOX_PATH = "/sandbox/wechat";

export function sandboxEnabled(env: Env): boolean {
  return settingsOf(env).WECHAT_SANDBOX_ENABLED;
}

/** The `api_base_url` of a sandbox app. */
export function sandboxBaseUrl(env: Env): string {
  return `${settingsOf(env).PUBLIC_BASE_URL.replace(/\/+$/, "")}${SANDBOX_PATH}`;
}

/** Whether `url` is the sandbox's, with the sandbox on: only then is an app a sandbox app. */
export function isSandboxBaseUrl(env: Env, url: string | null | undefined): boolean {
  return sandboxEnabled(env) && url?.replace(/\/+$/, "") === sandboxBaseUrl(env);
}
