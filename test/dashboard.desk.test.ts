import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { insertConversation, insertInbound } from "./support/conversations";
import { form, signedIn } from "./support/dashboard";
import { call, createTenant, eventually, postJson, type TestTenant } from "./support/tenants";
import { appWithFakeApi, fakeWeChat, follower, WX_HOST } from "./support/wechat-outbound";

const HOUR = 3_600_000;
const ALL_DAY = Object.fromEntries(
  ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [
    d,
    [{ start: "00:00", end: "24:00" }],
  ]),
);

type Signed = { cookie: string; csrf: string; user: { id: string } };

const patchJson = (body: unknown): RequestInit => ({ method: "PATCH", body: JSON.stringify(body) });
const post = (who: Signed, path: string, fields: Record<string, string> = {}, lang?: "zh") =>
  call(
    path,
    null,
    form({ csrf: who.csrf, ...fields }, lang ? `${who.cookie}; rbx_lang=${lang}` : who.cookie),
  );
const get = (who: Signed, path: string, extraCookie = "") =>
  call(path, null, { headers: { cookie: `${who.cookie}${extraCookie}` } });

/** The page a post's redirect leads to, with the flash cookie it set (in the post's language). */
async function followed(who: Signed, res: Response, lang?: "zh"): Promise<string> {
  expect(res.status).toBe(303);
  const flash = res.headers.getSetCookie().find((c) => c.startsWith("rbx_flash="));
  const cookies = [flash?.split(";")[0], lang ? `rbx_lang=${lang}` : undefined].filter(Boolean);
  const page = await get(who, res.headers.get("location") ?? "", `; ${cookies.join("; ")}`);
  expect(page.status).toBe(200);
  return page.text();
}

/** The desk on all day, and an agent signed in and online. */
async function deskWithAgent(tenant: TestTenant): Promise<Signed> {
  const on = await tenant.api(
    "/v1/tenant",
    patchJson({ desk: { enabled: true, working_hours: ALL_DAY } }),
  );
  expect(on.status).toBe(200);
  return onlineAgent(tenant);
}

async function onlineAgent(tenant: TestTenant): Promise<Signed> {
  const agent = await signedIn(tenant, "agent");
  const res = await tenant.api(
    `/v1/desk/agents/${agent.user.id}`,
    patchJson({ status: "online", capacity: 3 }),
  );
  expect(res.status).toBe(200);
  return agent;
}

/** A conversation (SMS unless said) given to `agentId` by the tenant's admin key. */
async function assignedTo(
  tenant: TestTenant,
  agentId: string,
  seed: { channel?: "sms" | "wechat"; counterpart: string } = { counterpart: "+8613800138500" },
): Promise<string> {
  const id = await insertConversation(tenant.id, seed);
  const res = await tenant.api(`/v1/conversations/${id}/assign`, postJson({ agent_id: agentId }));
  expect(res.status, await res.clone().text()).toBe(200);
  return id;
}

interface DeskView {
  desk_state: string;
  agent_id: string | null;
}
const deskViewOf = async (tenant: TestTenant, id: string) =>
  (await (await tenant.api(`/v1/conversations/${id}`)).json()) as DeskView;
async function notesOf(tenant: TestTenant, id: string) {
  const res = await tenant.api(`/v1/conversations/${id}/events`);
  expect(res.status).toBe(200);
  const { data } = (await res.json()) as { data: { type: string }[] };
  return data.filter((e) => e.type === "note");
}
const sentCount = async (tenant: TestTenant) => {
  const row = await tenant.api("/v1/messages?limit=100");
  return ((await row.json()) as { data: unknown[] }).data.length;
};

/** Every post of the workspace, on conversation `id`. */
const POSTS = (id: string): [string, Record<string, string>][] => [
  ["/dashboard/desk/status", { status: "online" }],
  [`/dashboard/desk/${id}/take`, {}],
  [`/dashboard/desk/${id}/assign`, { agent_id: "" }],
  [`/dashboard/desk/${id}/reply`, { body: "hello" }],
  [`/dashboard/desk/${id}/template`, { wechat_template_id: "tpl", data: "first=hi" }],
  [`/dashboard/desk/${id}/note`, { body: "a note" }],
  [`/dashboard/desk/${id}/transfer`, { to: "skill:" }],
  [`/dashboard/desk/${id}/resolve`, {}],
  ["/dashboard/desk/canned", { title: "Hi", body: "Hello there" }],
];

describe("the desk's dashboard pages refuse roles without the desk", () => {
  it.each(["analyst", "marketer"] as const)(
    "answers a %s 403 on the workspace, the supervisor page and every post, changing nothing",
    async (role) => {
      const tenant = await createTenant();
      const agent = await deskWithAgent(tenant);
      const id = await assignedTo(tenant, agent.user.id);
      const who = await signedIn(tenant, role);
      for (const path of [
        "/dashboard/desk",
        "/dashboard/desk/supervise",
        "/dashboard/desk/canned",
      ]) {
        const res = await get(who, path);
        expect(res.status, path).toBe(403);
        await res.body?.cancel();
      }
      for (const [path, fields] of POSTS(id)) {
        const res = await post(who, path, fields);
        expect(res.status, path).toBe(403);
        await res.body?.cancel();
      }
      expect(await deskViewOf(tenant, id)).toMatchObject({
        desk_state: "assigned",
        agent_id: agent.user.id,
      });
      expect(await sentCount(tenant)).toBe(0);
    },
  );

  it("keeps an agent out of the supervisor page, reassigning and the canned replies' writes", async () => {
    const tenant = await createTenant();
    const agent = await deskWithAgent(tenant);
    const other = await onlineAgent(tenant);
    const id = await assignedTo(tenant, agent.user.id);
    const page = await get(agent, "/dashboard/desk/supervise");
    expect(page.status).toBe(403);
    await page.body?.cancel();
    const assign = await post(agent, `/dashboard/desk/${id}/assign`, { agent_id: other.user.id });
    expect(assign.status).toBe(403);
    await assign.body?.cancel();
    const canned = await post(agent, "/dashboard/desk/canned", { title: "Hi", body: "Hello" });
    expect(canned.status).toBe(403);
    expect(await canned.text()).not.toContain(">Hello<");
    expect(await deskViewOf(tenant, id)).toMatchObject({ agent_id: agent.user.id });
  });

  it("lets no agent act on another agent's conversation (in the page's language)", async () => {
    const tenant = await createTenant();
    const owner = await deskWithAgent(tenant);
    const intruder = await onlineAgent(tenant);
    const id = await assignedTo(tenant, owner.user.id);
    const another = "另一位客服正在处理此会话。";
    for (const [action, fields, refusal] of [
      ["take", {}, another],
      ["reply", { body: "not mine" }, another],
      ["note", { body: "not mine" }, another],
      ["transfer", { to: `agent:${intruder.user.id}` }, "只有负责此会话的客服或主管可以转接。"],
      ["resolve", {}, another],
    ] as const) {
      const res = await post(intruder, `/dashboard/desk/${id}/${action}`, fields, "zh");
      const html = await followed(intruder, res, "zh");
      expect(html, action).toMatch(new RegExp(`class="flash error"[^>]*>未完成：${refusal}<`));
    }
    expect(await deskViewOf(tenant, id)).toMatchObject({
      desk_state: "assigned",
      agent_id: owner.user.id,
    });
    expect(await sentCount(tenant)).toBe(0);
    expect(await notesOf(tenant, id)).toEqual([]);
  });
});

describe("the desk's forms with bad input", () => {
  it("say what is wrong in the page's language and change nothing", async () => {
    const tenant = await createTenant();
    const agent = await deskWithAgent(tenant);
    const id = await assignedTo(tenant, agent.user.id);
    const cases: [string, Record<string, string>, string, string][] = [
      [
        "reply",
        { body: "  " },
        "请输入回复（最多 1000 字）或选择快捷回复。",
        "Write a reply (up to 1,000 characters)",
      ],
      [
        "note",
        { body: "" },
        "请输入备注（最多 2000 字）。",
        "Write the note (up to 2,000 characters).",
      ],
      ["transfer", { to: "nowhere" }, "请选择客服或队列。", "Choose an agent or a queue"],
      [
        "template",
        { wechat_template_id: "" },
        "请填写微信模板 ID。",
        "Give the WeChat template id.",
      ],
    ];
    for (const [action, fields, zh, en] of cases) {
      const zhPage = await followed(
        agent,
        await post(agent, `/dashboard/desk/${id}/${action}`, fields, "zh"),
        "zh",
      );
      expect(zhPage, action).toContain(zh);
      const enPage = await followed(
        agent,
        await post(agent, `/dashboard/desk/${id}/${action}`, fields),
      );
      expect(enPage, action).toContain(en);
    }
    const status = await followed(
      agent,
      await post(agent, "/dashboard/desk/status", { status: "asleep" }, "zh"),
      "zh",
    );
    expect(status).toContain("请选择在线、离开或离线。");
    expect(await deskViewOf(tenant, id)).toMatchObject({
      desk_state: "assigned",
      agent_id: agent.user.id,
    });
    expect(await sentCount(tenant)).toBe(0);
    expect(await notesOf(tenant, id)).toEqual([]);
    const agents = (await (await tenant.api("/v1/desk/agents")).json()) as {
      data: { user_id: string; status: string }[];
    };
    expect(agents.data.find((a) => a.user_id === agent.user.id)?.status).toBe("online");
  });

  it("shows a canned reply's field errors under its fields, in Chinese on a zh page", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    const res = await post(admin, "/dashboard/desk/canned", { title: "", body: "Hello" }, "zh");
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toMatch(/id="field-title-error">1 至 60 个字符</);
    // What was typed stays in the form.
    expect(html).toMatch(/<textarea id="field-body"[^>]*>Hello<\/textarea>/);
    const list = await (await get(admin, "/dashboard/desk/canned")).text();
    expect(list).not.toContain("Hello");
  });
});

describe("a closed WeChat window at the desk", () => {
  let wechat: ReturnType<typeof fakeWeChat>;
  beforeEach(() => {
    wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok", msgid: 200228400 }));
    // The queue's consumer calls WeChat through the global fetch: WeChat's host is the fake.
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      return new URL(request.url).host === WX_HOST ? wechat.fetch(request) : realFetch(request);
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("offers a template instead of a reply, and its post sends a WeChat template message", async () => {
    const tenant = await createTenant();
    const agent = await deskWithAgent(tenant);
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    await follower(tenant, appId, "oClosedDesk", 49 * HOUR);
    const id = await assignedTo(tenant, agent.user.id, {
      channel: "wechat",
      counterpart: "oClosedDesk",
    });
    await insertInbound(
      tenant.id,
      { id, channel: "wechat", counterpart: "oClosedDesk" },
      { body: "在吗", at: Date.now() - 49 * HOUR, to: appId },
    );
    const page = await (await get(agent, `/dashboard/desk?c=${id}`)).text();
    expect(page).toContain(`action="/dashboard/desk/${id}/template"`);
    expect(page).toContain('name="wechat_template_id"');

    const sent = await post(agent, `/dashboard/desk/${id}/template`, {
      wechat_template_id: "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
      data: "first=您的工单已处理\nremark = 谢谢",
    });
    expect(await followed(agent, sent)).toContain("Template message sent.");
    const call = await eventually(
      async () => wechat.calls.find((c) => c.path === "/cgi-bin/message/template/send"),
      10_000,
      "the template message at WeChat",
    );
    expect(call.body).toEqual({
      touser: "oClosedDesk",
      template_id: "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
      data: { first: { value: "您的工单已处理" }, remark: { value: "谢谢" } },
    });
  });
});

describe("canned replies on the dashboard", () => {
  it("are added and deleted by a supervisor, read by agents, and sent from the picker", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    const agent = await deskWithAgent(tenant);
    const added = await post(admin, "/dashboard/desk/canned", {
      title: "Greeting",
      body: "您好，请问有什么可以帮您？",
    });
    expect(await followed(admin, added)).toContain("您好，请问有什么可以帮您？");

    const agentList = await (await get(agent, "/dashboard/desk/canned")).text();
    expect(agentList).toContain("您好，请问有什么可以帮您？");
    expect(agentList).not.toContain('action="/dashboard/desk/canned"');
    const cannedId = /action="\/dashboard\/desk\/canned\/(cnr_[0-9A-Z]{26})\/delete"/.exec(
      await (await get(admin, "/dashboard/desk/canned")).text(),
    )?.[1];
    expect(cannedId).toBeDefined();

    // The agent's reply with the picker's choice and no text sends the canned text.
    const id = await assignedTo(tenant, agent.user.id, { counterpart: "+8613800138501" });
    const workspace = await (await get(agent, `/dashboard/desk?c=${id}`)).text();
    expect(workspace).toContain(`value="${cannedId}"`);
    const replied = await post(agent, `/dashboard/desk/${id}/reply`, {
      body: "",
      canned_id: cannedId ?? "",
    });
    expect(await followed(agent, replied)).toContain("Reply sent.");
    const sent = await eventually(
      async () => {
        const list = (await (await tenant.api("/v1/messages?limit=10")).json()) as {
          data: { to: string; body: string }[];
        };
        return list.data.find((m) => m.to === "+8613800138501");
      },
      10_000,
      "the canned reply in the send log",
    );
    expect(sent.body).toContain("您好，请问有什么可以帮您？");

    const refused = await post(agent, `/dashboard/desk/canned/${cannedId}/delete`);
    expect(refused.status).toBe(403);
    await refused.body?.cancel();
    const deleted = await post(admin, `/dashboard/desk/canned/${cannedId}/delete`);
    expect(await followed(admin, deleted)).not.toContain("您好，请问有什么可以帮您？");
  });
});
