/**
 * Every administrative operation leaves an audit entry: the test walks the served OpenAPI
 * document's non-GET operations. Each is either exempt (one list, a reason each) or has a fixture
 * that makes a valid request; the request must succeed and leave an entry with its request id.
 */

import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { listAuditEntries, verifyAuditChain } from "../../src/services/audit/audit-log";
import { insertMessage } from "../support/message-rows";
import { platform, suspend } from "../support/platform";
import { CODE_TEMPLATE } from "../support/templates";
import { call, createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { accept, GOOD_PASSWORD, invite } from "../support/users";
import { wechatApp } from "../support/wechat";

/** What is not an administrative change, and why. */
const EXEMPT: Record<string, string> = {
  createMessage: "sends a message: traffic, recorded in the send log",
  cancelMessage: "cancels a message: traffic, recorded in the send log",
  createBatch: "sends a batch: traffic, recorded in the send log",
  cancelBatch: "cancels a batch: traffic, recorded in the send log",
  previewMessage: "a query: changes nothing",
  checkSensitiveWords: "a query: changes nothing",
  replayWebhookDelivery: "sends an event again; every attempt is recorded with the delivery",
  syncWeChatFollowers: "copies WeChat's follower list into ours; no setting changes",
  createContactWeChatOAuthLink: "makes a signed link; writes nothing",
  sendWeChatSandboxMessage: "the local sandbox playing a follower; development only",
  sendWeChatSandboxScan: "the local sandbox playing a follower who scans; development only",
  setWeChatSandboxSettings:
    "the local sandbox's WeChat side (its follower count); development only",
  sendConversationMessage: "sends a reply: traffic, recorded in the send log",
  markConversationRead: "marks what was read; no setting changes",
  sendVerification: "sends a verification code: traffic, recorded in the send log",
  checkVerification: "checks a code: traffic, no setting changes",
  cancelVerification: "ends a verification: traffic, no setting changes",
  previewWeChatBroadcast: "sends one preview message to a follower: traffic, no setting changes",
  replyAtDesk: "sends a reply: traffic, recorded in the send log",
  addConversationNote: "an agent's note: recorded as the conversation's event, no setting changes",
  // Audited, with their entries checked in their own tests (they need an agent's own session, a
  // resolved conversation or a changed master key, which this walk does not set up):
  updateDeskAgent: "audited; the entry is checked in test/routes/desk.happy.test.ts",
  resolveConversation: "audited; the entry is checked in test/routes/desk.happy.test.ts",
  createInspectionChecklist: "audited; the entry is checked in test/routes/inspections.test.ts",
  updateInspectionChecklist: "audited; the entry is checked in test/routes/inspections.test.ts",
  deleteInspectionChecklist: "audited; the entry is checked in test/routes/inspections.test.ts",
  createInspection: "audited; the entry is checked in test/routes/inspections.test.ts",
  rotateSecretsToMasterKey:
    "audited per tenant; the entries are checked in test/services/master-key-rotation.test.ts",
};

interface Request {
  path: string;
  body?: unknown;
  /** A multipart body instead of JSON (a media upload). */
  form?: FormData;
  /** Who calls: the tenant's key (the default), the platform admin, or no one (a public route). */
  caller?: "platform" | "anonymous";
  /** The actor the entry names, when it is not the tenant's key. */
  actor?: { type: string; id: string };
  /** The tenant whose line holds the entry, from the answer (a new tenant's, for its creation). */
  chainOf?: (answer: Record<string, unknown>) => string;
}

const json = async (res: Response): Promise<Record<string, unknown>> => {
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as Record<string, unknown>;
};
const created = async (t: TestTenant, path: string, body: unknown) =>
  String((await json(await t.api(path, postJson(body)))).id);
const template = (t: TestTenant) => created(t, "/v1/templates", CODE_TEMPLATE);
const signature = (t: TestTenant) => created(t, "/v1/signatures", { name: "Acme" });
const step = async (t: TestTenant, path: string) => json(await t.api(path, postJson({})));
const webhook = (t: TestTenant) =>
  created(t, "/v1/webhooks", {
    url: "https://hooks.example.com/relaybox",
    events: ["message.delivered"],
  });
const WIDGET_ORIGINS = ["https://www.example.com"];
const widgetKey = (t: TestTenant) =>
  created(t, "/v1/desk/widget-keys", { name: "Website", allowed_origins: WIDGET_ORIGINS });
const contact = async (t: TestTenant, wechat: { app_id: string; openid: string }[] = []) => {
  await json(await t.api("/v1/contacts", postJson({ external_id: "user-1", name: "Li", wechat })));
  return "user-1";
};

/** A verified service account (broadcasts need one), with WeChat's API the fake below. */
const verifiedApp = async (t: TestTenant) => {
  const appId = await wechatApp(t, "plaintext");
  await json(
    await t.api(
      "/v1/wechat/apps",
      postJson({
        app_id: appId,
        app_secret: "0123456789abcdef0123456789abcdef",
        token: "QDG6eK",
        encoding_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        mode: "plaintext",
        verified: true,
      }),
    ),
  );
  return appId;
};
const imageForm = () => {
  const form = new FormData();
  form.append("type", "image");
  form.append("permanent", "true");
  form.append(
    "file",
    new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])], "a.png"),
  );
  return form;
};
/** A broadcast held for review (its text has a word the tenant sends for review). */
const heldBroadcast = async (t: TestTenant) => {
  const appId = await verifiedApp(t);
  await created(t, "/v1/sensitive-words", { word: "抽奖", policy: "review" });
  const id = await created(t, `/v1/wechat/apps/${appId}/broadcasts`, {
    target: "all",
    type: "text",
    text: "本周抽奖",
  });
  return `/v1/wechat/apps/${appId}/broadcasts/${id}`;
};

const AUTO_REPLY = { match: "exact", keyword: "price", reply: { type: "text", content: "¥99" } };
const FORWARDING = { match: "all", target_type: "phone", target: "+8613800138000" };
const autoReply = (t: TestTenant) => created(t, "/v1/auto-replies", AUTO_REPLY);
const forwarding = (t: TestTenant) => created(t, "/v1/forwarding-rules", FORWARDING);

const PLATFORM_ACTOR = { type: "platform", id: "platform" };
const role = (t: TestTenant) =>
  created(t, "/v1/roles", { name: "Campaign manager", permissions: ["templates:read"] });
const member = async (t: TestTenant) => {
  const invited = await invite(t, "analyst");
  expect((await accept(invited.token)).status).toBeLessThan(300);
  return invited.user.id;
};

const ALL_DAY = Object.fromEntries(
  ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [
    d,
    [{ start: "00:00", end: "24:00" }],
  ]),
);
const patchJson = (body: unknown): RequestInit => ({ method: "PATCH", body: JSON.stringify(body) });
const deskAgent = async (t: TestTenant, status: "online" | "away", capacity: number) => {
  const { user } = await invite(t, "agent");
  await json(await t.api(`/v1/desk/agents/${user.id}`, patchJson({ status, capacity })));
  return user.id;
};
const askForPerson = async (t: TestTenant, from: string, state: string) => {
  const hook = `/hooks/sms/sandbox/${t.hookToken}/inbound`;
  const res = await call(hook, null, postJson({ from, to: "+8610690000", body: "人工" }));
  expect(res.status).toBeLessThan(300);
  return eventually(
    async () => {
      const list = (await json(await t.api("/v1/conversations"))) as {
        data: { id: string; counterpart: string; desk_state: string }[];
      };
      return list.data.find((c) => c.counterpart === from && c.desk_state === state)?.id;
    },
    10_000,
    `the conversation with ${from} ${state}`,
  );
};
/**
 * A desk on all day: agent A online with room for one, who takes the first customer asking for a
 * person; agent B away (takes nothing by routing, but can be given a conversation); the second
 * customer waits in the queue.
 */
const queuedAtDesk = async (t: TestTenant) => {
  await json(
    await t.api("/v1/tenant", patchJson({ desk: { enabled: true, working_hours: ALL_DAY } })),
  );
  await deskAgent(t, "online", 1);
  const away = await deskAgent(t, "away", 2);
  await askForPerson(t, "+8613800138001", "assigned");
  const queued = await askForPerson(t, "+8613800138002", "queued");
  return { queued, away };
};

/** A valid request per operation, after whatever it needs exists. */
const FIXTURES: Record<string, (t: TestTenant) => Promise<Request>> = {
  upsertProvider: async () => ({ path: "/v1/providers/sandbox", body: { config: {} } }),
  deleteProvider: async () => ({ path: "/v1/providers/sandbox" }),
  rotateProviderHookToken: async () => ({ path: "/v1/providers/sandbox/rotate-hook-token" }),
  upsertRoute: async () => ({
    path: "/v1/routes",
    body: { destination: "+8613", providers: [{ provider: "sandbox" }] },
  }),
  deleteRoute: async (t) => {
    const body = { destination: "+8613", providers: [{ provider: "sandbox" }] };
    return { path: `/v1/routes/${await created(t, "/v1/routes", body)}` };
  },
  createApiKey: async () => ({ path: "/v1/keys", body: { name: "ci", scopes: ["messages:send"] } }),
  updateApiKey: async (t) => ({
    path: `/v1/keys/${(await t.addKey(["messages:send"])).id}`,
    body: { rate_limit: { per_second: 10 } },
  }),
  revokeApiKey: async (t) => ({ path: `/v1/keys/${(await t.addKey(["messages:send"])).id}` }),
  createTemplate: async () => ({ path: "/v1/templates", body: CODE_TEMPLATE }),
  updateTemplate: async (t) => ({
    path: `/v1/templates/${await template(t)}`,
    body: { name: "Sign-in code" },
  }),
  deleteTemplate: async (t) => ({ path: `/v1/templates/${await template(t)}` }),
  submitTemplate: async (t) => ({ path: `/v1/templates/${await template(t)}/submit`, body: {} }),
  approveTemplate: async (t) => {
    const id = await template(t);
    await step(t, `/v1/templates/${id}/submit`);
    return { path: `/v1/templates/${id}/approve`, body: {} };
  },
  rejectTemplate: async (t) => {
    const id = await template(t);
    await step(t, `/v1/templates/${id}/submit`);
    return { path: `/v1/templates/${id}/reject`, body: { reason: "Too vague" } };
  },
  setTemplateProviderCodes: async (t) => ({
    path: `/v1/templates/${await template(t)}/provider-codes`,
    body: { aliyun: "SMS_123456" },
  }),
  createSignature: async () => ({ path: "/v1/signatures", body: { name: "Acme" } }),
  deleteSignature: async (t) => ({ path: `/v1/signatures/${await signature(t)}` }),
  submitSignature: async (t) => ({
    path: `/v1/signatures/${await signature(t)}/submit`,
    body: {},
  }),
  approveSignature: async (t) => {
    const id = await signature(t);
    await step(t, `/v1/signatures/${id}/submit`);
    return { path: `/v1/signatures/${id}/approve`, body: {} };
  },
  rejectSignature: async (t) => {
    const id = await signature(t);
    await step(t, `/v1/signatures/${id}/submit`);
    return { path: `/v1/signatures/${id}/reject`, body: { reason: "Not yours" } };
  },
  setDefaultSignature: async (t) => {
    const id = await signature(t);
    await step(t, `/v1/signatures/${id}/submit`);
    await step(t, `/v1/signatures/${id}/approve`);
    return { path: `/v1/signatures/${id}/default`, body: {} };
  },
  createSensitiveWord: async () => ({
    path: "/v1/sensitive-words",
    body: { word: "forbidden", policy: "block" },
  }),
  importSensitiveWords: async () => ({
    path: "/v1/sensitive-words/import",
    body: { words: [{ word: "forbidden", policy: "mask" }] },
  }),
  deleteSensitiveWord: async (t) => ({
    path: `/v1/sensitive-words/${await created(t, "/v1/sensitive-words", { word: "forbidden", policy: "block" })}`,
  }),
  updateTenant: async () => ({ path: "/v1/tenant", body: { name: "Renamed" } }),
  redactMessageBody: async (t) => ({
    path: `/v1/messages/${await insertMessage(t.id, { at: Date.now(), body: "private" })}/body`,
  }),
  createWebhook: async () => ({
    path: "/v1/webhooks",
    body: { url: "https://hooks.example.com/relaybox", events: ["message.delivered"] },
  }),
  deleteWebhook: async (t) => ({ path: `/v1/webhooks/${await webhook(t)}` }),
  createWidgetKey: async () => ({
    path: "/v1/desk/widget-keys",
    body: { name: "Website", allowed_origins: WIDGET_ORIGINS },
  }),
  updateWidgetKey: async (t) => ({
    path: `/v1/desk/widget-keys/${await widgetKey(t)}`,
    body: { name: "Help centre", allowed_origins: ["https://help.example.com"] },
  }),
  revokeWidgetKey: async (t) => ({ path: `/v1/desk/widget-keys/${await widgetKey(t)}` }),
  rotateWebhookSecret: async (t) => ({ path: `/v1/webhooks/${await webhook(t)}/rotate-secret` }),
  upsertWeChatApp: async () => ({
    path: "/v1/wechat/apps",
    body: {
      app_id: "wx0123456789abcdef",
      app_secret: "0123456789abcdef0123456789abcdef",
      token: "QDG6eK",
      encoding_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
      mode: "plaintext",
    },
  }),
  deleteWeChatApp: async (t) => ({ path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}` }),
  createWeChatAutoReply: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/auto-replies`,
    body: { match: "exact", keyword: "hours", reply: { type: "text", content: "9 to 5" } },
  }),
  deleteWeChatAutoReply: async (t) => {
    const path = `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/auto-replies`;
    const body = { match: "exact", keyword: "hours", reply: { type: "text", content: "9 to 5" } };
    return { path: `${path}/${await created(t, path, body)}` };
  },
  setWeChatSso: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/sso`,
    body: { sso_redirect_urls: ["https://shop.example.com/signed-in"] },
  }),
  rotateWeChatSsoKey: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/sso/rotate-key`,
  }),
  createContact: async () => ({ path: "/v1/contacts", body: { external_id: "user-1" } }),
  updateContact: async (t) => ({ path: `/v1/contacts/${await contact(t)}`, body: { name: "Han" } }),
  deleteContact: async (t) => ({ path: `/v1/contacts/${await contact(t)}` }),
  deleteContactWeChatBinding: async (t) => {
    const appId = await wechatApp(t, "plaintext");
    const id = await contact(t, [{ app_id: appId, openid: "oLiLei123" }]);
    return { path: `/v1/contacts/${id}/wechat/${appId}` };
  },
  createWeChatQrCode: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/qrcodes`,
    body: { scene: "poster-7", temporary: false, action: { tag_id: 100 } },
  }),
  setWeChatMenu: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/menu`,
    body: { button: [{ name: "Today", type: "click", key: "TODAY" }] },
  }),
  createWeChatTag: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/tags`,
    body: { name: "VIP" },
  }),
  addWeChatTagMembers: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/tags/100/members`,
    body: { openids: ["oLiLei123"] },
  }),
  removeWeChatTagMembers: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/tags/100/members`,
    body: { openids: ["oLiLei123"] },
  }),
  createWeChatMedia: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/media`,
    form: imageForm(),
  }),
  deleteWeChatMedia: async (t) => {
    const appId = await wechatApp(t, "plaintext");
    const path = `/v1/wechat/apps/${appId}/media`;
    const media = await json(await t.api(path, { method: "POST", body: imageForm() }));
    return { path: `${path}/${String(media.id)}` };
  },
  createWeChatBroadcast: async (t) => ({
    path: `/v1/wechat/apps/${await verifiedApp(t)}/broadcasts`,
    body: { target: { tag_id: 100 }, type: "text", text: "Spring sale" },
  }),
  cancelWeChatBroadcast: async (t) => ({ path: `${await heldBroadcast(t)}/cancel` }),
  approveWeChatBroadcast: async (t) => ({ path: `${await heldBroadcast(t)}/approve` }),
  rejectWeChatBroadcast: async (t) => ({
    path: `${await heldBroadcast(t)}/reject`,
    body: { reason: "Not this week" },
  }),
  updateWeChatTag: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/tags/100`,
    body: { name: "VVIP" },
  }),
  deleteWeChatTag: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/tags/100`,
  }),
  setWeChatFollowerRemark: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/followers/oLiLei123/remark`,
    body: { remark: "Li Lei" },
  }),
  addWeChatBlacklist: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/blacklist`,
    body: { openids: ["oLiLei123"] },
  }),
  removeWeChatBlacklist: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/blacklist`,
    body: { openids: ["oLiLei123"] },
  }),
  deleteWeChatMenu: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/menu`,
  }),
  addWeChatConditionalMenu: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/menu/conditional`,
    body: { button: [{ name: "VIP", type: "click", key: "VIP" }], tag_id: 100 },
  }),
  deleteWeChatConditionalMenu: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/menu/conditional/208379533`,
  }),
  addWeChatAccountTemplate: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/templates`,
    body: { template_id_short: "TM00015" },
  }),
  deleteWeChatAccountTemplate: async (t) => ({
    path: `/v1/wechat/apps/${await wechatApp(t, "plaintext")}/templates/Doclyl5uP7Aciu-qZ7mJNPtWkbkYnWBWVja26EGbNyk`,
  }),
  createAutoReply: async () => ({ path: "/v1/auto-replies", body: AUTO_REPLY }),
  updateAutoReply: async (t) => ({
    path: `/v1/auto-replies/${await autoReply(t)}`,
    body: { priority: 5 },
  }),
  deleteAutoReply: async (t) => ({ path: `/v1/auto-replies/${await autoReply(t)}` }),
  createForwardingRule: async () => ({ path: "/v1/forwarding-rules", body: FORWARDING }),
  updateForwardingRule: async (t) => ({
    path: `/v1/forwarding-rules/${await forwarding(t)}`,
    body: { match: "contains", keyword: "refund" },
  }),
  deleteForwardingRule: async (t) => ({ path: `/v1/forwarding-rules/${await forwarding(t)}` }),
  createOptOut: async () => ({
    path: "/v1/opt-outs",
    body: { phone: "+8613800138000", reason: "asked by phone" },
  }),
  deleteOptOut: async (t) => {
    await json(await t.api("/v1/opt-outs", postJson({ phone: "+8613800138000" })));
    return { path: `/v1/opt-outs/${encodeURIComponent("+8613800138000")}` };
  },
  createRole: async () => ({
    path: "/v1/roles",
    body: { name: "Campaign manager", permissions: ["templates:read", "templates:write"] },
  }),
  updateRole: async (t) => ({ path: `/v1/roles/${await role(t)}`, body: { description: "Q4" } }),
  deleteRole: async (t) => ({ path: `/v1/roles/${await role(t)}` }),
  inviteUser: async () => ({
    path: "/v1/users",
    body: { email: `walk-${crypto.randomUUID()}@example.com`, role: "analyst" },
  }),
  updateUser: async (t) => ({ path: `/v1/users/${await member(t)}`, body: { role: "agent" } }),
  removeUser: async (t) => ({ path: `/v1/users/${await member(t)}` }),
  disableUser: async (t) => ({ path: `/v1/users/${await member(t)}/disable` }),
  enableUser: async (t) => {
    const id = await member(t);
    await json(await t.api(`/v1/users/${id}/disable`, { method: "POST" }));
    return { path: `/v1/users/${id}/enable` };
  },
  acceptInvitation: async (t) => {
    const invited = await invite(t, "analyst");
    return {
      path: "/v1/invitations/accept",
      body: { token: invited.token, password: GOOD_PASSWORD },
      caller: "anonymous",
      actor: { type: "user", id: invited.user.id },
    };
  },
  createPlatformTenant: async () => ({
    path: "/v1/platform/tenants",
    body: { name: "Walk", home_country: "CN", owner_email: `o-${crypto.randomUUID()}@example.com` },
    caller: "platform",
    actor: PLATFORM_ACTOR,
    chainOf: (answer) => String((answer.tenant as { id: string }).id),
  }),
  updatePlatformTenant: async (t) => ({
    path: `/v1/platform/tenants/${t.id}`,
    body: { name: "Renamed" },
    caller: "platform",
    actor: PLATFORM_ACTOR,
  }),
  suspendPlatformTenant: async (t) => ({
    path: `/v1/platform/tenants/${t.id}/suspend`,
    caller: "platform",
    actor: PLATFORM_ACTOR,
  }),
  addToPlatformTenantBalance: async (t) => ({
    path: `/v1/platform/tenants/${t.id}/balance`,
    body: { amount: 10 },
    caller: "platform",
    actor: PLATFORM_ACTOR,
  }),
  assignConversation: async (t) => {
    const { queued, away } = await queuedAtDesk(t);
    return { path: `/v1/conversations/${queued}/assign`, body: { agent_id: away } };
  },
  transferConversation: async (t) => {
    const { queued, away } = await queuedAtDesk(t);
    return { path: `/v1/conversations/${queued}/transfer`, body: { agent_id: away } };
  },
  resumePlatformTenant: async (t) => {
    expect((await suspend(t.id)).status).toBeLessThan(300);
    return {
      path: `/v1/platform/tenants/${t.id}/resume`,
      caller: "platform",
      actor: PLATFORM_ACTOR,
    };
  },
};

interface Operation {
  method: string;
  path: string;
  operationId: string;
}

async function changingOperations(): Promise<Operation[]> {
  const res = await call("/openapi.json", null);
  expect(res.status).toBe(200);
  const doc = (await res.json()) as {
    paths: Record<string, Record<string, { operationId?: string }>>;
  };
  return Object.entries(doc.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod)
      .filter(([method]) => ["post", "put", "patch", "delete"].includes(method))
      .map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        operationId: operation.operationId ?? `${method.toUpperCase()} ${path}`,
      })),
  );
}

/** WeChat's API for the menu, tags, media and mass sends: a token, ids, and yes to everything else. */
beforeEach(() => {
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== "https://api.weixin.qq.com") {
      return realFetch(request);
    }
    if (url.pathname.endsWith("token")) {
      return Response.json({ access_token: "token-1", expires_in: 7200 });
    }
    if (url.pathname === "/cgi-bin/qrcode/create") {
      return Response.json({ ticket: "gQH47joAAAAAAAAAASxodHRw", url: "http://weixin.qq.com/q/x" });
    }
    if (url.pathname === "/cgi-bin/tags/create") {
      return Response.json({ tag: { id: 100, name: "VIP" } });
    }
    if (url.pathname === "/cgi-bin/material/add_material") {
      return Response.json({ media_id: "MEDIA_1", url: "http://mmbiz.qpic.cn/1/0" });
    }
    if (url.pathname.startsWith("/cgi-bin/message/mass/")) {
      return Response.json({ errcode: 0, errmsg: "ok", msg_id: 1000 });
    }
    if (url.pathname === "/cgi-bin/menu/addconditional") {
      return Response.json({ menuid: "208379533" });
    }
    if (url.pathname === "/cgi-bin/template/api_add_template") {
      return Response.json({ errcode: 0, errmsg: "ok", template_id: "Doclyl5uP7Aciu" });
    }
    return Response.json({ errcode: 0, errmsg: "ok" });
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("the audit walk over the OpenAPI document", () => {
  it("has a fixture or an exemption for every operation that is not a GET, and no other", async () => {
    const operations = await changingOperations();
    const ids = new Set(operations.map((op) => op.operationId));
    const uncovered = [...ids].filter((id) => !(id in FIXTURES) && !(id in EXEMPT));
    expect(uncovered, "operations with neither a fixture nor an exemption").toEqual([]);
    const both = Object.keys(FIXTURES).filter((id) => id in EXEMPT);
    expect(both, "operations both exempt and walked").toEqual([]);
    const stale = [...Object.keys(FIXTURES), ...Object.keys(EXEMPT)].filter((id) => !ids.has(id));
    expect(stale, "fixtures or exemptions for operations the document does not have").toEqual([]);
  });

  it.each(Object.keys(FIXTURES))(
    "%s succeeds and leaves an entry with its request id",
    async (operationId) => {
      const operation = (await changingOperations()).find((op) => op.operationId === operationId);
      if (!operation) {
        throw new Error(`${operationId} is not in the OpenAPI document`);
      }
      const fixture = FIXTURES[operationId];
      if (!fixture) {
        throw new Error(`no fixture for ${operationId}`);
      }
      const tenant = await createTenant();
      const request = await fixture(tenant);
      const requestId = `walk-${operationId}`;
      const init: RequestInit = request.form
        ? { method: operation.method, headers: { "x-request-id": requestId }, body: request.form }
        : {
            method: operation.method,
            headers: { "x-request-id": requestId, "content-type": "application/json" },
            ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
          };
      const res =
        request.caller === "platform"
          ? await platform(request.path, init)
          : request.caller === "anonymous"
            ? await call(request.path, null, init)
            : await tenant.api(request.path, init);
      expect(
        res.status,
        `${operation.method} ${request.path}: ${await res.clone().text()}`,
      ).toBeLessThan(300);
      expect(res.status).toBeGreaterThanOrEqual(200);
      const answer = res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>);
      const chain = request.chainOf ? request.chainOf(answer) : tenant.id;
      const page = await listAuditEntries(env, chain, {}, { limit: 100 });
      const mine = page.data.filter((entry) => entry.requestId === requestId);
      expect(mine, `${operationId} left no audit entry`).not.toEqual([]);
      for (const entry of mine) {
        expect({ type: entry.actorType, id: entry.actorId }).toEqual(
          request.actor ?? { type: "key", id: tenant.keyId },
        );
      }
      expect((await verifyAuditChain(env, chain)).valid).toBe(true);
    },
  );
});
