/**
 * QR codes with scenes (WeChat's `/cgi-bin/qrcode/create`) and the scans they bring back: WeChat's
 * limits, the body it takes, and how a SCAN or subscribe event names the scene. Pure.
 */

/** WeChat: `scene_str` is 1–64 characters. */
export const MAX_SCENE_LENGTH = 64;
/** WeChat: a temporary code lasts at most 30 days; without `expire_seconds`, 60 seconds. */
export const MAX_EXPIRE_SECONDS = 2_592_000;
export const DEFAULT_EXPIRE_SECONDS = 60;
/** A scan's EventKey in a subscribe event is the scene behind this prefix. */
const SUBSCRIBE_PREFIX = "qrscene_";

export const SHOW_QRCODE_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode";

/** What a scan of a code does. */
export type QrAction =
  | { type: "bind_contact"; external_id: string }
  | { type: "auto_reply"; reply: Record<string, unknown> }
  | { type: "tag"; tag_id: number };

/** The body of `/cgi-bin/qrcode/create` for a string scene. */
export function qrCodeRequest(
  sceneStr: string,
  temporary: boolean,
  expireSeconds: number | undefined,
): Record<string, unknown> {
  const actionInfo = { scene: { scene_str: sceneStr } };
  return temporary
    ? {
        expire_seconds: expireSeconds ?? DEFAULT_EXPIRE_SECONDS,
        action_name: "QR_STR_SCENE",
        action_info: actionInfo,
      }
    : { action_name: "QR_LIMIT_STR_SCENE", action_info: actionInfo };
}

/** Where the code's image is: the ticket, URL-encoded, on WeChat's showqrcode. */
export function qrImageUrl(ticket: string): string {
  return `${SHOW_QRCODE_URL}?ticket=${encodeURIComponent(ticket)}`;
}

/** A scan a delivery reports: which event, and the scene its EventKey carries; or null. */
export function scanOf(
  msgType: string,
  event: string | null,
  eventKey: string | null,
): { event: "scan" | "subscribe"; sceneStr: string } | null {
  if (msgType !== "event" || !eventKey) {
    return null;
  }
  if (event === "SCAN") {
    return { event: "scan", sceneStr: eventKey };
  }
  if (event === "subscribe" && eventKey.startsWith(SUBSCRIBE_PREFIX)) {
    const sceneStr = eventKey.slice(SUBSCRIBE_PREFIX.length);
    return sceneStr === "" ? null : { event: "subscribe", sceneStr };
  }
  return null;
}

/** A single-use binding token: `b_` and 22 URL-safe characters (128 random bits). */
export function bindingToken(random: Uint8Array): string {
  const text = btoa(String.fromCharCode(...random))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  return `b_${text}`;
}
