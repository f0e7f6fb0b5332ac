/**
 * The JS-SDK's `wx.config` signature, as WeChat's JS-SDK guide (附录1, JS-SDK使用权限签名算法)
 * defines it: the SHA-1 (lower-case hex) of `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`, the
 * fields in that (ASCII) order, values as they are (no URL-encoding), and the page's URL without
 * its `#` fragment.
 */
import { toHex } from "../../lib/crypto";

export interface JssdkSignatureInput {
  ticket: string;
  nonceStr: string;
  /** Unix seconds. */
  timestamp: number;
  url: string;
}

/** The page URL as it is signed: everything before the first `#`. */
export function signedPageUrl(url: string): string {
  const hash = url.indexOf("#");
  return hash === -1 ? url : url.slice(0, hash);
}

export async function jssdkSignature(input: JssdkSignatureInput): Promise<string> {
  const text = `jsapi_ticket=${input.ticket}&noncestr=${input.nonceStr}&timestamp=${input.timestamp}&url=${signedPageUrl(input.url)}`;
  return toHex(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text)));
}
