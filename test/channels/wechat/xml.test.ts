import { describe, expect, it } from "vitest";
import {
  MAX_BODY_BYTES,
  parseWeChatXml,
  type WeChatXmlErrorCode,
} from "../../../src/channels/wechat/xml";
import { EVENTS, MESSAGES } from "./fixtures";

function fieldsOf(body: string): Record<string, string> {
  const result = parseWeChatXml(body);
  if (!result.ok) {
    throw new Error(`${result.error.code}: ${result.error.detail}`);
  }
  return result.fields;
}

function refusalOf(body: string): WeChatXmlErrorCode | "accepted" {
  const result = parseWeChatXml(body);
  return result.ok ? "accepted" : result.error.code;
}

const header = { ToUserName: "toUser", FromUserName: "fromUser" };
const eventHeader = {
  ToUserName: "toUser",
  FromUserName: "FromUser",
  CreateTime: "123456789",
  MsgType: "event",
};

describe("parseWeChatXml: the messages a user sends", () => {
  it("reads a text message", () => {
    expect(fieldsOf(MESSAGES.text)).toEqual({
      ...header,
      CreateTime: "1348831860",
      MsgType: "text",
      Content: "this is a test",
      MsgId: "1234567890123456",
    });
  });

  it("reads an image message", () => {
    expect(fieldsOf(MESSAGES.image)).toEqual({
      ...header,
      CreateTime: "1348831860",
      MsgType: "image",
      PicUrl: "this is a url",
      MediaId: "media_id",
      MsgId: "1234567890123456",
    });
  });

  it("reads a voice message", () => {
    expect(fieldsOf(MESSAGES.voice)).toEqual({
      ...header,
      CreateTime: "1357290913",
      MsgType: "voice",
      MediaId: "media_id",
      Format: "Format",
      MsgId: "1234567890123456",
    });
  });

  it("reads video and short-video messages", () => {
    for (const type of ["video", "shortvideo"] as const) {
      expect(fieldsOf(MESSAGES[type])).toEqual({
        ...header,
        CreateTime: "1357290913",
        MsgType: type,
        MediaId: "media_id",
        ThumbMediaId: "thumb_media_id",
        MsgId: "1234567890123456",
      });
    }
  });

  it("reads a location message, coordinates as written", () => {
    expect(fieldsOf(MESSAGES.location)).toEqual({
      ...header,
      CreateTime: "1351776360",
      MsgType: "location",
      Location_X: "23.134521",
      Location_Y: "113.358803",
      Scale: "20",
      Label: "位置信息",
      MsgId: "1234567890123456",
    });
  });

  it("reads a link message", () => {
    expect(fieldsOf(MESSAGES.link)).toEqual({
      ...header,
      CreateTime: "1351776360",
      MsgType: "link",
      Title: "公众平台官网链接",
      Description: "公众平台官网链接",
      Url: "url",
      MsgId: "1234567890123456",
    });
  });
});

describe("parseWeChatXml: the events WeChat pushes", () => {
  it("reads subscribe and unsubscribe", () => {
    expect(fieldsOf(EVENTS.subscribe)).toEqual({ ...eventHeader, Event: "subscribe" });
    expect(fieldsOf(EVENTS.unsubscribe)).toEqual({ ...eventHeader, Event: "unsubscribe" });
  });

  it("reads a subscribe through a parameterised QR code and a follower's SCAN", () => {
    expect(fieldsOf(EVENTS.subscribeWithScene)).toEqual({
      ...eventHeader,
      Event: "subscribe",
      EventKey: "qrscene_123123",
      Ticket: "TICKET",
    });
    expect(fieldsOf(EVENTS.scan)).toEqual({
      ...eventHeader,
      Event: "SCAN",
      EventKey: "SCENE_VALUE",
      Ticket: "TICKET",
    });
  });

  it("reads a LOCATION report, precision with its trailing zero", () => {
    expect(fieldsOf(EVENTS.location)).toEqual({
      ...eventHeader,
      Event: "LOCATION",
      Latitude: "23.137466",
      Longitude: "113.352425",
      Precision: "119.385040",
    });
  });

  it("reads menu CLICK and VIEW", () => {
    expect(fieldsOf(EVENTS.click)).toEqual({
      ...eventHeader,
      Event: "CLICK",
      EventKey: "EVENTKEY",
    });
    expect(fieldsOf(EVENTS.view)).toEqual({
      ...eventHeader,
      Event: "VIEW",
      EventKey: "www.qq.com",
    });
  });

  it("reads a template message's TEMPLATESENDJOBFINISH", () => {
    expect(fieldsOf(EVENTS.templateSendJobFinish)).toEqual({
      ToUserName: "gh_7f083739789a",
      FromUserName: "oia2TjuEGTNoeX76QEjQNrcURxG8",
      CreateTime: "1395658920",
      MsgType: "event",
      Event: "TEMPLATESENDJOBFINISH",
      MsgID: "200163836",
      Status: "success",
    });
  });

  it("keeps a menu event's ScanCodeInfo as a JSON string of its fields", () => {
    const fields = fieldsOf(
      "<xml><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[scancode_push]]></Event><EventKey><![CDATA[6]]></EventKey><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo></xml>",
    );
    expect(JSON.parse(fields.ScanCodeInfo ?? "")).toEqual({ ScanType: "qrcode", ScanResult: "1" });
  });

  it("keeps SendLocationInfo apart from a location message's own fields", () => {
    const fields = fieldsOf(
      "<xml><Event><![CDATA[location_select]]></Event><SendLocationInfo><Location_X><![CDATA[23]]></Location_X><Location_Y><![CDATA[113]]></Location_Y><Scale><![CDATA[15]]></Scale><Label><![CDATA[ 广州市海珠区客村艺苑路 106号]]></Label><Poiname><![CDATA[]]></Poiname></SendLocationInfo></xml>",
    );
    expect(fields.Location_X).toBeUndefined();
    expect(JSON.parse(fields.SendLocationInfo ?? "")).toEqual({
      Location_X: "23",
      Location_Y: "113",
      Scale: "15",
      Label: " 广州市海珠区客村艺苑路 106号",
      Poiname: "",
    });
  });

  it("lists SendPicsInfo's items as an array, even when there is one", () => {
    const one = fieldsOf(
      "<xml><SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum></item></PicList></SendPicsInfo></xml>",
    );
    expect(JSON.parse(one.SendPicsInfo ?? "")).toEqual({
      Count: "1",
      PicList: { item: [{ PicMd5Sum: "1b5f7c23b5bf75682a53e7b6d163e185" }] },
    });
    const two = fieldsOf(
      "<xml><SendPicsInfo><Count>2</Count><PicList><item><PicMd5Sum>a</PicMd5Sum></item><item><PicMd5Sum>b</PicMd5Sum></item></PicList></SendPicsInfo></xml>",
    );
    expect(JSON.parse(two.SendPicsInfo ?? "")).toEqual({
      Count: "2",
      PicList: { item: [{ PicMd5Sum: "a" }, { PicMd5Sum: "b" }] },
    });
  });

  it("reads a PUBLISHJOBFINISH, WeChat's deepest nesting", () => {
    const fields = fieldsOf(
      "<xml><Event><![CDATA[PUBLISHJOBFINISH]]></Event><PublishEventInfo><publish_id>2247503051</publish_id><publish_status>0</publish_status><article_detail><count>1</count><item><idx>1</idx><article_url><![CDATA[ARTICLE_URL]]></article_url></item></article_detail></PublishEventInfo></xml>",
    );
    expect(JSON.parse(fields.PublishEventInfo ?? "")).toEqual({
      publish_id: "2247503051",
      publish_status: "0",
      article_detail: { count: "1", item: [{ idx: "1", article_url: "ARTICLE_URL" }] },
    });
  });
});

describe("parseWeChatXml: values", () => {
  it('keeps CDATA "007" a string, and a 64-bit MsgId whole', () => {
    const fields = fieldsOf(
      "<xml><Content><![CDATA[007]]></Content><MsgId>6054768590064713728</MsgId><Scale>20.0</Scale></xml>",
    );
    expect(fields).toEqual({ Content: "007", MsgId: "6054768590064713728", Scale: "20.0" });
  });

  it("keeps a message's own spaces and line breaks but not those between elements", () => {
    expect(fieldsOf("<xml>\n  <Content><![CDATA[  two\n lines  ]]></Content>\n</xml>")).toEqual({
      Content: "  two\n lines  ",
    });
  });

  it("reads an empty element and an empty CDATA section as empty strings", () => {
    expect(
      fieldsOf("<xml><EventKey></EventKey><Ticket/><Label><![CDATA[]]></Label></xml>"),
    ).toEqual({ EventKey: "", Ticket: "", Label: "" });
  });

  it("decodes the predefined entities and character references outside CDATA only", () => {
    expect(
      fieldsOf("<xml><A>x &amp; y &lt;&gt; &#x4E2D;&#25991;</A><B><![CDATA[&amp;]]></B></xml>"),
    ).toEqual({ A: "x & y <> 中文", B: "&amp;" });
  });

  it("refuses undeclared entities, a bare ampersand and references to forbidden characters", () => {
    expect(refusalOf("<xml><A>&nbsp;</A></xml>")).toBe("malformed");
    expect(refusalOf("<xml><A>&xxe;</A></xml>")).toBe("malformed");
    expect(refusalOf("<xml><A>fish & chips</A></xml>")).toBe("malformed");
    expect(refusalOf("<xml><A>&#0;</A></xml>")).toBe("malformed");
    expect(refusalOf("<xml><A>&toString;</A></xml>")).toBe("malformed");
  });

  it("skips the XML declaration, comments and attributes", () => {
    expect(
      fieldsOf('<?xml version="1.0" encoding="UTF-8"?><xml><!-- hi --><A id="1">a</A></xml>'),
    ).toEqual({ A: "a" });
  });
});

describe("parseWeChatXml: what it refuses", () => {
  it("refuses the billion laughs", () => {
    const bomb = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><Content>&lol9;</Content></xml>`;
    expect(refusalOf(bomb)).toBe("dtd");
  });

  it("refuses an external entity", () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>`;
    expect(refusalOf(xxe)).toBe("dtd");
  });

  it("refuses DOCTYPE and ENTITY in any case and anywhere, even inside CDATA", () => {
    expect(refusalOf("<!doctype xml><xml><A>a</A></xml>")).toBe("dtd");
    expect(refusalOf("<xml><A>a</A></xml><!EnTiTy x 'y'>")).toBe("dtd");
    expect(refusalOf("<xml><Content><![CDATA[<!DOCTYPE html>]]></Content></xml>")).toBe("dtd");
  });

  it("refuses a body over 64 KB and accepts one of exactly 64 KB", () => {
    const frame = "<xml><Content><![CDATA[]]></Content></xml>";
    const exact = frame.replace("[]", `[${"a".repeat(MAX_BODY_BYTES - frame.length)}]`);
    expect(new TextEncoder().encode(exact).length).toBe(MAX_BODY_BYTES);
    expect(refusalOf(exact)).toBe("accepted");
    expect(refusalOf(exact.replace("[a", "[aa"))).toBe("too-large");
  });

  it("counts the size in UTF-8 bytes, not characters", () => {
    // 25,000 Chinese characters: fewer than 64 K characters, 75,000 bytes.
    const body = `<xml><Content><![CDATA[${"中".repeat(25_000)}]]></Content></xml>`;
    expect(body.length).toBeLessThan(MAX_BODY_BYTES);
    expect(refusalOf(body)).toBe("too-large");
  });

  it("refuses a root other than <xml>, and a second root after it", () => {
    expect(refusalOf("<root><A>a</A></root>")).toBe("wrong-root");
    expect(refusalOf("<XML><A>a</A></XML>")).toBe("wrong-root");
    // fast-xml-parser's validator lets this one through (it only objects to a repeated name).
    expect(refusalOf("<xml><A>a</A></xml><extra/>")).toBe("wrong-root");
  });

  it("refuses elements nested where WeChat does not nest them", () => {
    expect(refusalOf("<xml><Content><b>bold</b></Content></xml>")).toBe("unexpected-nesting");
    expect(refusalOf("<xml><Articles><item><Title>t</Title></item></Articles></xml>")).toBe(
      "unexpected-nesting",
    );
  });

  it("keeps elements named like Object.prototype's methods as data inside a container", () => {
    const fields = fieldsOf(
      "<xml><ScanCodeInfo><toString>a</toString><toString>b</toString><valueOf>c</valueOf></ScanCodeInfo></xml>",
    );
    // fast-xml-parser 5 renames such tags itself; what matters is that both values arrive.
    expect(JSON.parse(fields.ScanCodeInfo ?? "")).toEqual({
      __toString: ["a", "b"],
      __valueOf: "c",
    });
  });

  it("refuses nesting deeper than WeChat's inside a container", () => {
    expect(
      refusalOf("<xml><ScanCodeInfo><a><b><c><d>deep</d></c></b></a></ScanCodeInfo></xml>"),
    ).toBe("unexpected-nesting");
  });

  it("refuses a field given twice", () => {
    expect(refusalOf("<xml><MsgId>1</MsgId><MsgId>2</MsgId></xml>")).toBe("duplicate-field");
  });

  it("refuses bodies that are not well-formed", () => {
    expect(refusalOf("<xml><A>a</xml>")).toBe("malformed");
    expect(refusalOf("<xml><A>a</A></xml>trailing")).toBe("malformed");
    expect(refusalOf("<xml>text<A>a</A></xml>")).toBe("malformed");
    expect(refusalOf("<xml><A>\u0000</A></xml>")).toBe("malformed");
    expect(refusalOf("plain text")).toBe("malformed");
    expect(refusalOf("")).toBe("malformed");
    expect(refusalOf("<xml><A>a</A></xml><xml><A>b</A></xml>")).toBe("malformed");
  });

  it("refuses element names that would reach Object.prototype, without polluting it", () => {
    expect(refusalOf("<xml><__proto__><polluted>yes</polluted></__proto__></xml>")).toBe(
      "malformed",
    );
    expect(refusalOf("<xml><constructor>x</constructor></xml>")).toBe("malformed");
    expect(Object.hasOwn(Object.prototype, "polluted")).toBe(false);
  });
});
