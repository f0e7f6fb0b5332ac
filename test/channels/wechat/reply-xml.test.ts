import { describe, expect, it } from "vitest";
import {
  buildEncryptedReplyXml,
  buildReplyXml,
  type NewsArticle,
} from "../../../src/channels/wechat/reply-xml";
import { INBOUND_CONTAINERS, parseWeChatXml } from "../../../src/channels/wechat/xml";

/** Replies are read back with the inbound parser: what we write, WeChat's own reader accepts. */
function fieldsOf(body: string): Record<string, string> {
  const result = parseWeChatXml(body);
  if (!result.ok) {
    throw new Error(`${result.error.code}: ${result.error.detail}`);
  }
  return result.fields;
}

describe("buildReplyXml", () => {
  const address = { toUser: "oUser", fromUser: "gh_account", createTime: 1714112446 };

  it("writes a text reply in WeChat's layout that the parser reads back", () => {
    const xml = buildReplyXml({ ...address, type: "text", content: "你好 <b>&</b>" });
    expect(xml).toBe(
      "<xml><ToUserName><![CDATA[oUser]]></ToUserName><FromUserName><![CDATA[gh_account]]></FromUserName><CreateTime>1714112446</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好 <b>&</b>]]></Content></xml>",
    );
    expect(fieldsOf(xml)).toEqual({
      ToUserName: "oUser",
      FromUserName: "gh_account",
      CreateTime: "1714112446",
      MsgType: "text",
      Content: "你好 <b>&</b>",
    });
  });

  it('splits "]]>" across CDATA sections so the text survives the round trip', () => {
    const content = "a]]>b]]]>c]]>";
    const xml = buildReplyXml({ ...address, type: "text", content });
    expect(xml).toContain("<![CDATA[a]]]]><![CDATA[>b]]]]]><![CDATA[>c]]]]><![CDATA[>]]>");
    expect(fieldsOf(xml).Content).toBe(content);
  });

  it("cannot be made to close the element early by its content", () => {
    const content = "]]></Content><MsgType>news</MsgType><Content><![CDATA[";
    const fields = fieldsOf(buildReplyXml({ ...address, type: "text", content }));
    expect(fields.MsgType).toBe("text");
    expect(fields.Content).toBe(content);
  });

  it("drops characters XML cannot carry", () => {
    const xml = buildReplyXml({ ...address, type: "text", content: "a\u0000b\u0007c\td" });
    expect(fieldsOf(xml).Content).toBe("abc\td");
  });

  it("writes a news reply whose articles read back in order", () => {
    const articles: NewsArticle[] = [
      { title: "One", description: "first", url: "https://example.com/1", pic_url: "https://p/1" },
      { title: "Two ]]>", description: "", url: "https://example.com/2", pic_url: "" },
    ];
    const xml = buildReplyXml({ ...address, type: "news", articles });
    const result = parseWeChatXml(xml, {
      containers: new Set([...INBOUND_CONTAINERS, "Articles"]),
    });
    if (!result.ok) {
      throw new Error(result.error.detail);
    }
    expect(result.fields.MsgType).toBe("news");
    expect(result.fields.ArticleCount).toBe("2");
    expect(JSON.parse(result.fields.Articles ?? "")).toEqual({
      item: [
        {
          Title: "One",
          Description: "first",
          PicUrl: "https://p/1",
          Url: "https://example.com/1",
        },
        { Title: "Two ]]>", Description: "", PicUrl: "", Url: "https://example.com/2" },
      ],
    });
  });

  it("takes eight articles and refuses none or nine", () => {
    const article = { title: "t", description: "d", url: "https://u", pic_url: "https://p" };
    const news = (count: number) =>
      buildReplyXml({ ...address, type: "news", articles: Array(count).fill(article) });
    expect(news(8)).toContain("<ArticleCount>8</ArticleCount>");
    expect(() => news(0)).toThrow(RangeError);
    expect(() => news(9)).toThrow(RangeError);
  });

  it("refuses a CreateTime that is not whole seconds", () => {
    expect(() =>
      buildReplyXml({ ...address, createTime: 1714112446.5, type: "text", content: "x" }),
    ).toThrow(RangeError);
  });
});

describe("buildEncryptedReplyXml", () => {
  it("writes the envelope of the message-push page's example, which the parser reads back", () => {
    const xml = buildEncryptedReplyXml(
      "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==",
      "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
      "1713424427",
      "415670741",
    );
    expect(xml).toBe(
      "<xml><Encrypt><![CDATA[ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==]]></Encrypt><MsgSignature><![CDATA[1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1]]></MsgSignature><TimeStamp>1713424427</TimeStamp><Nonce><![CDATA[415670741]]></Nonce></xml>",
    );
    expect(fieldsOf(xml)).toEqual({
      Encrypt:
        "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==",
      MsgSignature: "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
      TimeStamp: "1713424427",
      Nonce: "415670741",
    });
  });

  it("refuses a timestamp that is not digits", () => {
    expect(() => buildEncryptedReplyXml("e", "s", "1713424427<x>", "n")).toThrow(RangeError);
  });
});
