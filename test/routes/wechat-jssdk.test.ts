/**
 * The JS-SDK config: the jsapi_ticket comes from the app's token authority (fetched once while
 * fresh, one fetch at a time however many pages ask together), and the config is signed with it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { jssdkSignature } from "../../src/channels/wechat/jssdk";
import { expectProblem } from "../support/problem";
import { call, createTenant } from "../support/tenants";
import { wechatApp } from "../support/wechat";

const WECHAT = "https://api.weixin.qq.com";
const TICKET =
  "bxLdikRXVbTPdHSM05e5u5sUoXNKd8-41ZO3MhKoyN5OfkWITDGgnr2fwJ0m9E8NYzWKVZvdVtaUgWvsdshFKA";

let ticketCalls: URL[];
let ticketAnswer: Record<string, unknown>;
let release: () => void;
let held: Promise<void>;
beforeEach(() => {
  ticketCalls = [];
  ticketAnswer = { errcode: 0, errmsg: "ok", ticket: TICKET, expires_in: 7200 };
  held = new Promise((resolve) => {
    release = resolve;
  });
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = new URL(new Request(input, init).url);
    if (url.origin !== WECHAT) {
      throw new Error(`unexpected fetch ${url.origin}`);
    }
    if (url.pathname === "/cgi-bin/stable_token") {
      return Response.json({ access_token: "token-1", expires_in: 7200 });
    }
    if (url.pathname === "/cgi-bin/ticket/getticket") {
      ticketCalls.push(url);
      await held;
      return Response.json(ticketAnswer);
    }
    throw new Error(`unexpected WeChat call ${url.pathname}`);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

interface Config {
  app_id: string;
  timestamp: number;
  nonce_str: string;
  signature: string;
  url: string;
}

describe("GET /v1/wechat/apps/{app_id}/jssdk-config", () => {
  it("fetches the ticket once for concurrent pages and signs each page's config with it", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    const { key } = await tenant.addKey(["messages:send"]);
    const page = (n: number) =>
      `/v1/wechat/apps/${appId}/jssdk-config?url=${encodeURIComponent(`https://shop.example.com/item?id=${n}#reviews`)}`;
    const pending = [1, 2, 3, 4, 5].map((n) => call(page(n), key));
    await vi.waitFor(() => expect(ticketCalls).toHaveLength(1));
    release();
    const responses = await Promise.all(pending);
    expect(ticketCalls).toHaveLength(1);
    const first = ticketCalls[0];
    expect(first?.searchParams.get("type")).toBe("jsapi");
    expect(first?.searchParams.get("access_token")).toBe("token-1");

    for (const [i, res] of responses.entries()) {
      expect(res.status).toBe(200);
      const config = (await res.json()) as Config;
      expect(config).toMatchObject({
        app_id: appId,
        url: `https://shop.example.com/item?id=${i + 1}`,
      });
      expect(config.nonce_str).toMatch(/^[A-Za-z0-9]{16}$/);
      expect(Math.abs(config.timestamp - Date.now() / 1000)).toBeLessThan(60);
      expect(config.signature).toBe(
        await jssdkSignature({
          ticket: TICKET,
          nonceStr: config.nonce_str,
          timestamp: config.timestamp,
          url: config.url,
        }),
      );
    }
    // Kept while fresh: the next page asks WeChat nothing.
    expect((await call(page(6), key)).status).toBe(200);
    expect(ticketCalls).toHaveLength(1);
  });

  it("maps WeChat's refusal to a 422 and keeps no ticket, so the next page asks again", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    release();
    ticketAnswer = { errcode: 40097, errmsg: "invalid args" };
    const path = `/v1/wechat/apps/${appId}/jssdk-config`;
    const url = `${path}?url=${encodeURIComponent("https://shop.example.com/")}`;
    await expectProblem(await tenant.api(url), {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      detail: /errcode 40097/,
    });
    ticketAnswer = { errcode: 0, errmsg: "ok", ticket: TICKET, expires_in: 7200 };
    expect((await tenant.api(url)).status).toBe(200);
    expect(ticketCalls).toHaveLength(2);
    await expectProblem(await tenant.api(`${path}?url=ftp%3A%2F%2Fx`), {
      status: 400,
      slug: "validation-error",
      instance: path,
      pointers: ["/query/url"],
    });
  });
});
