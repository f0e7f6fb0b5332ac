/** Builds the Hono app: global middleware, routers, the error handler, the OpenAPI document. */
import { onError, problemResponse } from "./app-errors";
import { dashboardRouter } from "./dashboard";
import { ApiError } from "./lib/problem";
import { limitBody, ONE_MB } from "./middleware/body-limit";
import { requestId } from "./middleware/request-id";
import { requestLog } from "./middleware/request-log";
import { auditRouter } from "./routes/audit";
import { autoRepliesRouter } from "./routes/auto-replies";
import { batchesRouter } from "./routes/batches";
import { hooksRouter } from "./routes/carrier-callbacks";
import { contactsRouter } from "./routes/contacts";
import { conversationsRouter } from "./routes/conversations";
import { deskRouter } from "./routes/desk";
import { forwardingRulesRouter } from "./routes/forwarding-rules";
import { inboundRouter } from "./routes/inbound";
import { keysRouter } from "./routes/keys";
import { messagesRouter } from "./routes/messages";
import { completeDocument } from "./routes/openapi-complete";
import { optOutsRouter } from "./routes/opt-outs";
import { documentPermissions } from "./routes/permission-doc";
import { platformRouter } from "./routes/platform";
import { providersRouter } from "./routes/providers";
import { rolesRouter } from "./routes/roles";
import { createRouter } from "./routes/router";
import { routingRouter } from "./routes/routing-rules";
import { sensitiveWordsRouter } from "./routes/sensitive-words";
import { signaturesRouter } from "./routes/signatures";
import { statsRouter } from "./routes/stats";
import { systemRouter } from "./routes/system";
import { templatesRouter } from "./routes/templates";
import { tenantRouter } from "./routes/tenant";
import { usersRouter } from "./routes/users";
import { verificationsRouter } from "./routes/verifications";
import { webchatRouter } from "./routes/webchat";
import { documentWebhooks } from "./routes/webhook-doc";
import { webhooksRouter } from "./routes/webhook-endpoints";
import { wechatRouter } from "./routes/wechat";
import { wechatBroadcastsRouter } from "./routes/wechat-broadcasts";
import { wechatHookRouter } from "./routes/wechat-callbacks";
import { wechatFollowersRouter } from "./routes/wechat-followers";
import { MEDIA_UPLOAD_LIMIT, MEDIA_UPLOAD_PATH, wechatMediaRouter } from "./routes/wechat-media";
import { wechatMenuRouter } from "./routes/wechat-menu";
import { wechatOAuthRouter } from "./routes/wechat-oauth";
import { wechatQrCodesRouter } from "./routes/wechat-qrcodes";
import {
  wechatApiRouter,
  wechatOAuthSideRouter,
  wechatSandboxRouter,
} from "./routes/wechat-sandbox";
import { wechatSsoPublicRouter, wechatSsoRouter } from "./routes/wechat-sso";
import { wechatTemplatesRouter } from "./routes/wechat-templates";

export function createApp() {
  const app = createRouter();
  app.use("*", requestId);
  app.use("*", requestLog);
  app.use("*", async (c, next) => {
    // 20 MB for batch uploads (the API's and the dashboard's CSV upload), WeChat's largest media file (10 MB, with room for the multipart
    // framing) for media uploads, 1 MB for everything else (DESIGN.md, Contracts).
    const limit =
      c.req.path === "/v1/batches" || c.req.path === "/dashboard/batches"
        ? 20 * ONE_MB
        : c.req.method === "POST" && MEDIA_UPLOAD_PATH.test(c.req.path)
          ? MEDIA_UPLOAD_LIMIT
          : ONE_MB;
    return limitBody(limit)(c, next);
  });

  app.route("/", systemRouter);
  app.route("/", hooksRouter);
  app.route("/", messagesRouter);
  app.route("/", batchesRouter);
  app.route("/", providersRouter);
  app.route("/", routingRouter);
  app.route("/", keysRouter);
  app.route("/", rolesRouter);
  app.route("/", templatesRouter);
  app.route("/", signaturesRouter);
  app.route("/", sensitiveWordsRouter);
  app.route("/", tenantRouter);
  app.route("/", platformRouter);
  app.route("/", usersRouter);
  app.route("/", auditRouter);
  app.route("/", statsRouter);
  app.route("/", webhooksRouter);
  app.route("/", wechatRouter);
  app.route("/", contactsRouter);
  app.route("/", inboundRouter);
  app.route("/", autoRepliesRouter);
  app.route("/", forwardingRulesRouter);
  app.route("/", conversationsRouter);
  app.route("/", deskRouter);
  app.route("/", webchatRouter);
  app.route("/", optOutsRouter);
  app.route("/", verificationsRouter);
  app.route("/", wechatOAuthRouter);
  app.route("/", wechatSsoRouter);
  app.route("/", wechatSsoPublicRouter);
  app.route("/", wechatMenuRouter);
  app.route("/", wechatQrCodesRouter);
  app.route("/", wechatFollowersRouter);
  app.route("/", wechatMediaRouter);
  app.route("/", wechatBroadcastsRouter);
  app.route("/", wechatTemplatesRouter);
  app.route("/", wechatHookRouter);
  app.route("/", wechatSandboxRouter);
  app.route("/", wechatApiRouter);
  app.route("/", wechatOAuthSideRouter);
  app.route("/", dashboardRouter);

  documentPermissions(app);
  documentWebhooks(app);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An API key: `rbx_live_…` or `rbx_test_…`",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "platformKey", {
    type: "http",
    scheme: "bearer",
    description:
      "The platform admin's key `rbx_platform_…` (the PLATFORM_KEY secret): only for `/v1/platform/*`",
  });
  // The generated document, completed (routes/openapi-complete: error examples, a 500 on every
  // operation, body examples), built once per isolate.
  let document: object | undefined;
  app.get("/openapi.json", (c) => {
    document ??= completeDocument(
      app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: {
          title: "Relaybox API",
          version: "1.0.0",
          description:
            "SMS and WeChat messaging through one API. Errors are RFC 9457 problem+json; JSON fields are snake_case.",
        },
        // The origin that serves this document: local `wrangler dev`, or wherever the Worker is deployed.
        servers: [{ url: "/", description: "This Worker" }],
        tags: API_TAGS,
      }),
    );
    return c.json(document);
  });

  let allowedMethods: ((path: string) => string[]) | undefined;
  app.notFound((c) => {
    allowedMethods ??= methodsByPath(app.routes);
    const allowed = allowedMethods(c.req.path);
    if (allowed.length > 0) {
      return problemResponse(
        c,
        new ApiError(
          "method-not-allowed",
          `${c.req.path} does not take ${c.req.method}; it takes ${allowed.join(", ")}.`,
          { headers: { allow: allowed.join(", ") } },
        ),
      );
    }
    return problemResponse(
      c,
      new ApiError("not-found", `No route for ${c.req.method} ${c.req.path}.`),
    );
  });
  app.onError(onError);
  return app;
}

/** One tag per resource, in the order the document's readers meet them. */
const API_TAGS = [
  {
    name: "Messages",
    description: "Send one SMS or WeChat message, preview it, read and cancel it",
  },
  {
    name: "Batches",
    description: "One template or text to up to 100,000 recipients, with its progress",
  },
  { name: "Templates", description: "Message templates, their versions and their review" },
  { name: "Signatures", description: "Sender signatures (签名) and their review" },
  {
    name: "Sensitive words",
    description:
      "Your own lexicon of words to block, send for review or mask, beside the built-in one",
  },
  { name: "Providers", description: "Your SMS carriers: settings, credentials and callback URLs" },
  { name: "Routing", description: "Which providers send to which destination, in which order" },
  {
    name: "Webhooks",
    description: "Endpoints that receive your signed events, and their deliveries",
  },
  {
    name: "WeChat",
    description:
      "WeChat Official Accounts: settings, auto-replies, inbox, menu, followers and tags",
  },
  {
    name: "Inbound",
    description:
      "Messages people sent you, SMS and WeChat, what was done with them, and the keyword auto-replies and forwarding rules that act on them",
  },
  { name: "Contacts", description: "Your own users: a phone and their WeChat bindings" },
  {
    name: "Conversations",
    description:
      "Threads with one person on one channel (SMS or WeChat): both directions, unread counts, replies",
  },
  {
    name: "Desk",
    description:
      "The service desk: agents (status, skills, capacity, load), the queues per skill, and a conversation's assignment, transfer, notes, replies and resolution. Live updates: a WebSocket at GET /v1/desk/live (API key) or /dashboard/desk/live (session), `?after=<seq>` to catch up",
  },
  {
    name: "Opt-outs",
    description:
      "Numbers your messages no longer go to: those that replied STOP, 退订, R… and those you suppressed",
  },
  {
    name: "Verifications",
    description:
      "One-time codes by SMS or WeChat: send, check, cancel, and the limits that stop SMS pumping",
  },
  { name: "API keys", description: "Keys for this API: scopes, request limits, revocation" },
  {
    name: "Roles",
    description:
      "The permissions, the built-in roles that hold them and your own custom roles (`x-permission` on each operation names the one it needs)",
  },
  {
    name: "Users",
    description: "The people who use your dashboard: invitations, roles, disabling, removal",
  },
  { name: "Account", description: "Your account's settings" },
  {
    name: "Platform",
    description:
      "The platform admin's tenants: create, change, suspend and resume them (platform key only)",
  },
  {
    name: "Statistics",
    description:
      "Sends, outcomes, cost, inbound, latency and errors by day, hour, channel, provider, template, country and status, in your time zone",
  },
  {
    name: "Audit log",
    description: "Who changed what, when and from where: a hash-chained, tamper-evident log",
  },
  {
    name: "WeChat sandbox",
    description: "The local WeChat sandbox's far side (only with WECHAT_SANDBOX_ENABLED on)",
  },
];

/**
 * The methods the app's routes take at a path (HEAD with GET), for a 405 that says which: built
 * once, from the routes the routers registered (middleware, registered for every method, aside).
 */
function methodsByPath(routes: readonly { method: string; path: string }[]) {
  const patterns = routes
    .filter((route) => route.method !== "ALL")
    .map((route) => ({
      method: route.method,
      pattern: new RegExp(
        `^${route.path
          .split("/")
          .map((part) =>
            part.startsWith(":")
              ? "[^/]+"
              : part === "*"
                ? ".*"
                : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
          )
          .join("/")}/?$`,
      ),
    }));
  return (path: string): string[] => {
    const methods = new Set(patterns.filter((p) => p.pattern.test(path)).map((p) => p.method));
    if (methods.has("GET")) {
      methods.add("HEAD");
    }
    return [...methods].sort();
  };
}

export const app = createApp();
