import { describe, expect, it } from "vitest";
import {
  dedupKeyOf,
  type Inbound,
  inboundOf,
  newsArticleLimitOf,
} from "../../../src/channels/wechat/messages";
import { parseWeChatXml } from "../../../src/channels/wechat/xml";
import { EVENTS, MESSAGES } from "./fixtures";

function fieldsOf(body: string): Record<string, string> {
  const result = parseWeChatXml(body);
  if (!result.ok) {
    throw new Error(result.error.detail);
  }
  return result.fields;
}

function inbound(body: string): Inbound {
  const result = inboundOf(fieldsOf(body));
  if (!result.ok) {
    throw new Error(result.error.detail);
  }
  return result.inbound;
}

const user = { fromUser: "fromUser", toUser: "toUser" };
const follower = { fromUser: "FromUser", toUser: "toUser", createTime: 123456789, kind: "event" };

describe("inboundOf: messages", () => {
  it("types each message WeChat documents", () => {
    const message = { ...user, kind: "message", msgId: "1234567890123456" };
    expect(inbound(MESSAGES.text)).toEqual({
      ...message,
      createTime: 1348831860,
      msgType: "text",
      content: "this is a test",
    });
    expect(inbound(MESSAGES.image)).toEqual({
      ...message,
      createTime: 1348831860,
      msgType: "image",
      picUrl: "this is a url",
      mediaId: "media_id",
    });
    expect(inbound(MESSAGES.voice)).toEqual({
      ...message,
      createTime: 1357290913,
      msgType: "voice",
      mediaId: "media_id",
      format: "Format",
      recognition: null,
    });
    for (const msgType of ["video", "shortvideo"] as const) {
      expect(inbound(MESSAGES[msgType])).toEqual({
        ...message,
        createTime: 1357290913,
        msgType,
        mediaId: "media_id",
        thumbMediaId: "thumb_media_id",
      });
    }
    expect(inbound(MESSAGES.location)).toEqual({
      ...message,
      createTime: 1351776360,
      msgType: "location",
      latitude: 23.134521,
      longitude: 113.358803,
      scale: 20,
      label: "位置信息",
    });
    expect(inbound(MESSAGES.link)).toEqual({
      ...message,
      createTime: 1351776360,
      msgType: "link",
      title: "公众平台官网链接",
      description: "公众平台官网链接",
      url: "url",
    });
  });

  it("keeps a message type it does not know, by name", () => {
    const body = MESSAGES.text.replace("[text]", "[miniprogrampage]");
    expect(inbound(body)).toMatchObject({
      kind: "message",
      msgType: "other",
      name: "miniprogrampage",
    });
  });

  it("refuses a message without MsgId, and a CreateTime that is not a number", () => {
    const noId = inboundOf({ ...fieldsOf(MESSAGES.text), MsgId: "" });
    expect(noId.ok || noId.error.code).toBe("missing-field");
    const badTime = inboundOf({ ...fieldsOf(MESSAGES.text), CreateTime: "yesterday" });
    expect(badTime.ok || badTime.error.code).toBe("bad-field");
  });
});

describe("inboundOf: events", () => {
  it("exposes the scene of a subscribe through a parameterised QR code", () => {
    expect(inbound(EVENTS.subscribeWithScene)).toEqual({
      ...follower,
      event: "subscribe",
      eventKey: "qrscene_123123",
      scene: "123123",
      ticket: "TICKET",
    });
  });

  it("has no scene for a plain subscribe", () => {
    expect(inbound(EVENTS.subscribe)).toEqual({
      ...follower,
      event: "subscribe",
      eventKey: "",
      scene: null,
      ticket: null,
    });
  });

  it("types unsubscribe, SCAN, LOCATION, CLICK, VIEW and TEMPLATESENDJOBFINISH", () => {
    expect(inbound(EVENTS.unsubscribe)).toEqual({ ...follower, event: "unsubscribe" });
    expect(inbound(EVENTS.scan)).toEqual({
      ...follower,
      event: "SCAN",
      eventKey: "SCENE_VALUE",
      scene: "SCENE_VALUE",
      ticket: "TICKET",
    });
    expect(inbound(EVENTS.location)).toEqual({
      ...follower,
      event: "LOCATION",
      latitude: 23.137466,
      longitude: 113.352425,
      precision: 119.38504,
    });
    expect(inbound(EVENTS.click)).toEqual({ ...follower, event: "CLICK", eventKey: "EVENTKEY" });
    expect(inbound(EVENTS.view)).toEqual({
      ...follower,
      event: "VIEW",
      eventKey: "www.qq.com",
      menuId: null,
    });
    expect(inbound(EVENTS.templateSendJobFinish)).toEqual({
      fromUser: "oia2TjuEGTNoeX76QEjQNrcURxG8",
      toUser: "gh_7f083739789a",
      createTime: 1395658920,
      kind: "event",
      event: "TEMPLATESENDJOBFINISH",
      msgID: "200163836",
      status: "success",
    });
  });

  it("keeps an event it does not know, by name, with its EventKey", () => {
    const body = EVENTS.click.replace("[CLICK]", "[scancode_push]");
    expect(inbound(body)).toEqual({
      ...follower,
      event: "other",
      name: "scancode_push",
      eventKey: "EVENTKEY",
    });
  });

  it("refuses a LOCATION without a usable latitude", () => {
    const result = inboundOf({ ...fieldsOf(EVENTS.location), Latitude: "north" });
    expect(result.ok || result.error.code).toBe("bad-field");
  });
});

describe("dedupKeyOf", () => {
  it("keys a message by its MsgId", () => {
    expect(dedupKeyOf(fieldsOf(MESSAGES.text))).toBe("msg|1234567890123456");
  });

  it("keys a template result by its MsgID", () => {
    expect(dedupKeyOf(fieldsOf(EVENTS.templateSendJobFinish))).toBe("template|200163836");
  });

  it("keys other events by sender, time, event and key", () => {
    expect(dedupKeyOf(fieldsOf(EVENTS.subscribeWithScene))).toBe(
      "event|FromUser|123456789|subscribe|qrscene_123123",
    );
    expect(dedupKeyOf(fieldsOf(EVENTS.view))).toBe("event|FromUser|123456789|VIEW|www.qq.com");
  });

  it("gives WeChat's retry of a push the same key", () => {
    for (const body of [MESSAGES.image, EVENTS.click, EVENTS.templateSendJobFinish]) {
      expect(dedupKeyOf(fieldsOf(body))).toBe(dedupKeyOf(fieldsOf(body)));
    }
  });

  it("tells apart two events of one user in the same second", () => {
    expect(dedupKeyOf(fieldsOf(EVENTS.location))).not.toBe(dedupKeyOf(fieldsOf(EVENTS.click)));
    const otherKey = EVENTS.click.replace("EVENTKEY", "OTHER");
    expect(dedupKeyOf(fieldsOf(otherKey))).not.toBe(dedupKeyOf(fieldsOf(EVENTS.click)));
  });

  it("cannot be made to collide by a separator inside a value", () => {
    const base = { MsgType: "event", CreateTime: "1", Event: "CLICK" };
    const a = dedupKeyOf({ ...base, FromUserName: "u|1", EventKey: "k" });
    const b = dedupKeyOf({ ...base, FromUserName: "u", EventKey: "1|k" });
    expect(a).not.toBe(b);
    expect(a.split("|")).toHaveLength(5);
  });

  it("does not let a message's MsgId meet an equal template MsgID", () => {
    const message = dedupKeyOf({ MsgType: "text", MsgId: "200163836" });
    expect(message).not.toBe(dedupKeyOf(fieldsOf(EVENTS.templateSendJobFinish)));
  });
});

describe("newsArticleLimitOf", () => {
  it("allows one article in reply to a user's message and eight to an event", () => {
    expect(newsArticleLimitOf(inbound(MESSAGES.text))).toBe(1);
    expect(newsArticleLimitOf(inbound(EVENTS.subscribe))).toBe(8);
  });
});
