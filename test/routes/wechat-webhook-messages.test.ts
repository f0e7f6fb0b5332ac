/**
 * Every ordinary message type and the LOCATION event, through the webhook in each mode, into the
 * inbox with its fields: WeChat's documented pushes (test/channels/wechat/fixtures.ts).
 */
import { describe, expect, it } from "vitest";
import { EVENTS, MESSAGES } from "../channels/wechat/fixtures";
import { createTenant, type TestTenant } from "../support/tenants";
import { deliver, type Mode, wechatApp } from "../support/wechat";

interface InboxItem {
  msg_type: string;
  event: string | null;
  event_key: string | null;
  from_user: string;
  to_user: string;
  create_time: string;
  fields: Record<string, string>;
}

async function inbox(tenant: TestTenant, appId: string): Promise<InboxItem[]> {
  const res = await tenant.api(`/v1/wechat/apps/${appId}/inbox?limit=100`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: InboxItem[] }).data;
}

/** The fields each push must land with, beyond the header every one has. */
const EXPECTED: Record<keyof typeof MESSAGES, Record<string, string>> = {
  text: { Content: "this is a test" },
  image: { PicUrl: "this is a url", MediaId: "media_id" },
  voice: { MediaId: "media_id", Format: "Format" },
  video: { MediaId: "media_id", ThumbMediaId: "thumb_media_id" },
  shortvideo: { MediaId: "media_id", ThumbMediaId: "thumb_media_id" },
  location: { Location_X: "23.134521", Location_Y: "113.358803", Scale: "20", Label: "位置信息" },
  link: { Title: "公众平台官网链接", Description: "公众平台官网链接", Url: "url" },
};

describe("every message type and the LOCATION event", () => {
  for (const mode of ["plaintext", "compatible", "safe"] as Mode[]) {
    it(`lands each in the inbox once, with its fields, in ${mode} mode`, async () => {
      const tenant = await createTenant();
      const appId = await wechatApp(tenant, mode);
      const types = Object.keys(MESSAGES) as (keyof typeof MESSAGES)[];
      // The documentation gives every sample the same MsgId; WeChat's are unique.
      const msgIdOf = (i: number) => `60547685900647400${i}`;
      for (const [i, type] of types.entries()) {
        const xml = MESSAGES[type].replace("1234567890123456", msgIdOf(i));
        const res = await deliver(appId, xml, { mode });
        expect(res.status).toBe(200);
        expect(await res.text()).toBe("success");
      }
      const location = await deliver(appId, EVENTS.location, { mode });
      expect(await location.text()).toBe("success");

      const items = await inbox(tenant, appId);
      expect(items).toHaveLength(types.length + 1);
      for (const [i, type] of types.entries()) {
        const item = items.find((x) => x.msg_type === type);
        expect(item, type).toMatchObject({
          msg_type: type,
          event: null,
          from_user: "fromUser",
          to_user: "toUser",
          fields: { ...EXPECTED[type], MsgType: type, MsgId: msgIdOf(i) },
        });
      }
      expect(items.find((x) => x.msg_type === "event")).toMatchObject({
        event: "LOCATION",
        from_user: "FromUser",
        create_time: new Date(123456789 * 1000).toISOString(),
        fields: { Latitude: "23.137466", Longitude: "113.352425", Precision: "119.385040" },
      });
    });
  }
});
