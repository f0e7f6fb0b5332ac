/**
 * The sender signature (签名) at the start of a text, as Chinese carriers read it: its name in
 * full-width brackets, `【Relaybox】`. Aliyun and Tencent take the name apart (`SignName`).
 */
const LEADING_SIGNATURE = /^【([^】]{1,30})】/;

/** The signature a text starts with: as written and by name; null when it starts with none. */
export function leadingSignature(text: string): { written: string; name: string } | null {
  const match = LEADING_SIGNATURE.exec(text);
  return match?.[1] === undefined ? null : { written: match[0], name: match[1] };
}
