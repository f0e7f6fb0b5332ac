import { createRouter } from "../router";
import { onlyWithSandbox } from "./gate";
import * as handlers from "./wechat-sandbox.handlers";
import * as routes from "./wechat-sandbox.routes";

export { wechatApiRouter } from "./wechat-api";
export { wechatOAuthSideRouter } from "./wechat-oauth-side";

export const wechatSandboxRouter = createRouter();
// Before the routes' own middleware: with the sandbox off they are unknown, not unauthorised.
wechatSandboxRouter.use("/v1/sandbox/wechat/*", onlyWithSandbox);
wechatSandboxRouter
  .openapi(routes.followerMessage, handlers.followerMessage)
  .openapi(routes.followerScan, handlers.followerScan)
  .openapi(routes.listReceived, handlers.listReceived)
  .openapi(routes.putSettings, handlers.putSettings);
