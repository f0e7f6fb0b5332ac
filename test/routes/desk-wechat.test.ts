import { describe, expect, it } from "vitest";
import { createTenant, eventually, type TestTenant } from "../support/tenants";
import { invite } from "../support/users";
import { eventMessage, post, signDelivery, textMessage, wechatApp } from "../support/wechat";

const allDay = [{ start: "00:00", end: "24:00" }];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

function patch(body: unknown): RequestInit {
  return {
    method: "PATCH",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  };
}

async function deskOn(tenant: TestTenant, open: boolean) {
  const hours = Object.fromEntries(DAYS.map((d) => [d, open ? allDay : []]));
  const res = await tenant.api(
    "/v1/tenant",
    patch({
      desk: {
        enabled: true,
        working_hours: hours,
        handoff_menu_keys: ["KF_MENU"],
        after_hours_answer: "夜间留言已收到",
      },
    }),
  );
  expect(res.status).toBe(200);
}

async function stateOf(tenant: TestTenant, openid: string) {
  return eventually(
    async () => {
      const list = (await (await tenant.api("/v1/conversations?channel=wechat")).json()) as {
        data: { counterpart: string; desk_state: string; agent_id: string | null }[];
      };
      const found = list.data.find((c) => c.counterpart === openid);
      return found && found.desk_state !== "bot" ? found : undefined;
    },
    10_000,
    "the WeChat conversation at the desk",
  );
}

describe("a WeChat follower at the desk", () => {
  it("asking for 人工 lands with an online agent, and the robot does not answer", async () => {
    const tenant = await createTenant();
    await deskOn(tenant, true);
    const { user } = await invite(tenant, "agent");
    await tenant.api(`/v1/desk/agents/${user.id}`, patch({ status: "online" }));
    const appId = await wechatApp(tenant, "plaintext");
    const res = await post(
      await signDelivery(appId, textMessage("人工", "9001", "oAsk"), { mode: "plaintext" }),
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("success");
    expect(await stateOf(tenant, "oAsk")).toMatchObject({
      desk_state: "assigned",
      agent_id: user.id,
    });
  });

  it("clicking the tenant's menu key at night leaves a message, answered passively", async () => {
    const tenant = await createTenant();
    await deskOn(tenant, false);
    const appId = await wechatApp(tenant, "plaintext");
    const res = await post(
      await signDelivery(appId, eventMessage("CLICK", "KF_MENU", "oNight"), { mode: "plaintext" }),
    );
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toContain("<MsgType><![CDATA[text]]></MsgType>");
    expect(xml).toContain("夜间留言已收到");
    expect(await stateOf(tenant, "oNight")).toMatchObject({ desk_state: "left_message" });
  });

  it("leaves the robot alone while the desk is off", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const res = await post(
      await signDelivery(appId, textMessage("人工", "9002", "oOff"), { mode: "plaintext" }),
    );
    expect(await res.text()).toBe("success");
    // The account's copy of its inbox opens the conversation; the desk never moves it.
    const stored = await eventually(
      async () => {
        const list = (await (await tenant.api("/v1/conversations")).json()) as {
          data: { counterpart: string; desk_state: string }[];
        };
        return list.data.find((c) => c.counterpart === "oOff");
      },
      10_000,
      "the conversation",
    );
    expect(stored.desk_state).toBe("bot");
  });
});
