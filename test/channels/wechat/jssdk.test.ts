import { describe, expect, it } from "vitest";
import { jssdkSignature, signedPageUrl } from "../../../src/channels/wechat/jssdk";

describe("the JS-SDK signature", () => {
  it("matches WeChat's documented example (JS-SDK 附录1)", async () => {
    expect(
      await jssdkSignature({
        ticket:
          "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
        nonceStr: "Wm3WZYTPz0wzccnW",
        timestamp: 1414587457,
        url: "http://mp.weixin.qq.com?params=value",
      }),
    ).toBe("0f9de62fce790f9a083d5c99e95740ceb90c27ed");
  });

  it("signs the page URL without its #fragment", async () => {
    const base = { ticket: "t", nonceStr: "n", timestamp: 1 };
    expect(signedPageUrl("https://shop.example.com/p?id=1#/cart")).toBe(
      "https://shop.example.com/p?id=1",
    );
    expect(await jssdkSignature({ ...base, url: "https://a.example/x?y=1#top" })).toBe(
      await jssdkSignature({ ...base, url: "https://a.example/x?y=1" }),
    );
  });
});
