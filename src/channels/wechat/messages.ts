/**
 * A typed view of a parsed push (xml.ts `parseWeChatXml`): the ordinary messages a user sends an
 * Official Account ("接收普通消息") and the events WeChat pushes ("接收事件推送"), plus the key
 * that recognises WeChat's retries of the same push.
 */

export type MessageType = "text" | "image" | "voice" | "video" | "shortvideo" | "location" | "link";

interface PushHeader {
  /** The user's OpenID (or, for system events, WeChat's sender id). */
  fromUser: string;
  /** The account's original id (gh_…). */
  toUser: string;
  /** Unix seconds. */
  createTime: number;
}

export type InboundMessage = PushHeader & { kind: "message"; msgId: string } & (
    | { msgType: "text"; content: string }
    | { msgType: "image"; picUrl: string; mediaId: string }
    /** `recognition` only where the account has speech recognition on. */
    | { msgType: "voice"; mediaId: string; format: string; recognition: string | null }
    | { msgType: "video" | "shortvideo"; mediaId: string; thumbMediaId: string }
    | {
        msgType: "location";
        latitude: number;
        longitude: number;
        scale: number;
        label: string;
      }
    | { msgType: "link"; title: string; description: string; url: string }
    /** A type this view does not know (WeChat adds some now and then); `name` is its MsgType. */
    | { msgType: "other"; name: string }
  );

export type InboundEvent = PushHeader & { kind: "event" } & (
    | {
        event: "subscribe";
        eventKey: string;
        /** Set when the user followed by scanning a parameterised QR code (`qrscene_…`). */
        scene: string | null;
        ticket: string | null;
      }
    | { event: "unsubscribe" }
    /** An existing follower scanned a parameterised QR code; the EventKey is the bare scene. */
    | { event: "SCAN"; eventKey: string; scene: string; ticket: string | null }
    | { event: "LOCATION"; latitude: number; longitude: number; precision: number }
    | { event: "CLICK"; eventKey: string }
    /** `eventKey` is the URL the menu opened. */
    | { event: "VIEW"; eventKey: string; menuId: string | null }
    /** `status` is "success", "failed:user block" or "failed: system failed". */
    | { event: "TEMPLATESENDJOBFINISH"; msgID: string; status: string }
    /** Any other event; `name` is its Event, the raw fields carry the rest. */
    | { event: "other"; name: string; eventKey: string }
  );

export type Inbound = InboundMessage | InboundEvent;

export type InboundResult =
  | { ok: true; inbound: Inbound }
  | { ok: false; error: { code: "missing-field" | "bad-field"; retryable: false; detail: string } };

const QR_SCENE_PREFIX = "qrscene_";

export function inboundOf(fields: Readonly<Record<string, string>>): InboundResult {
  try {
    return { ok: true, inbound: read(fields) };
  } catch (error) {
    if (error instanceof FieldError) {
      return { ok: false, error: { code: error.code, retryable: false, detail: error.message } };
    }
    throw error;
  }
}

/**
 * What makes a push unique, so WeChat's retries (three, 5 s apart, when we do not answer in time)
 * are stored once. WeChat's advice: MsgId for messages, FromUserName + CreateTime for events; the
 * Event and EventKey are added so that two different events from one user in the same second (a
 * LOCATION report as the chat opens and a menu CLICK) are not taken for one. A template or mass job's result carries its own MsgID.
 * Parts are URI-encoded, so the "|" between them never occurs inside one and no two different
 * pushes share a key; the leading tag keeps a MsgId from meeting an equal template MsgID.
 */
export function dedupKeyOf(fields: Readonly<Record<string, string>>): string {
  const msgType = fields.MsgType ?? "";
  const parts =
    msgType !== "event" && fields.MsgId !== undefined
      ? ["msg", fields.MsgId]
      : fields.Event === "TEMPLATESENDJOBFINISH" && fields.MsgID !== undefined
        ? ["template", fields.MsgID]
        : fields.Event === "MASSSENDJOBFINISH" && fields.MsgID !== undefined
          ? ["mass", fields.MsgID]
          : [
              "event",
              fields.FromUserName ?? "",
              fields.CreateTime ?? "",
              fields.Event ?? msgType,
              fields.EventKey ?? "",
            ];
  return parts.map(encodeURIComponent).join("|");
}

/**
 * How many articles a news reply to this push may carry. WeChat allows one when the user sent a
 * text, image, video, news or location message and up to eight otherwise; replies to any user
 * message are held to one here, since the exceptions are not documented more precisely than that.
 */
export function newsArticleLimitOf(inbound: Inbound): number {
  return inbound.kind === "message" ? 1 : 8;
}

class FieldError extends Error {
  override name = "FieldError";
  constructor(
    readonly code: "missing-field" | "bad-field",
    detail: string,
  ) {
    super(detail);
  }
}

function read(fields: Readonly<Record<string, string>>): Inbound {
  const header: PushHeader = {
    fromUser: required(fields, "FromUserName"),
    toUser: required(fields, "ToUserName"),
    createTime: integer(fields, "CreateTime"),
  };
  const msgType = required(fields, "MsgType");
  if (msgType === "event") {
    return { ...header, kind: "event", ...eventOf(fields) };
  }
  const message = { ...header, kind: "message" as const, msgId: required(fields, "MsgId") };
  switch (msgType) {
    case "text":
      return { ...message, msgType, content: required(fields, "Content") };
    case "image":
      return {
        ...message,
        msgType,
        picUrl: required(fields, "PicUrl"),
        mediaId: required(fields, "MediaId"),
      };
    case "voice":
      return {
        ...message,
        msgType,
        mediaId: required(fields, "MediaId"),
        format: required(fields, "Format"),
        recognition: fields.Recognition ?? null,
      };
    case "video":
    case "shortvideo":
      return {
        ...message,
        msgType,
        mediaId: required(fields, "MediaId"),
        thumbMediaId: required(fields, "ThumbMediaId"),
      };
    case "location":
      return {
        ...message,
        msgType,
        latitude: decimal(fields, "Location_X"),
        longitude: decimal(fields, "Location_Y"),
        scale: decimal(fields, "Scale"),
        label: fields.Label ?? "",
      };
    case "link":
      return {
        ...message,
        msgType,
        title: fields.Title ?? "",
        description: fields.Description ?? "",
        url: required(fields, "Url"),
      };
    default:
      return { ...message, msgType: "other", name: msgType };
  }
}

type EventPart = InboundEvent extends infer E
  ? E extends unknown
    ? Omit<E, keyof PushHeader | "kind">
    : never
  : never;

function eventOf(fields: Readonly<Record<string, string>>): EventPart {
  const event = required(fields, "Event");
  const eventKey = fields.EventKey ?? "";
  switch (event) {
    case "subscribe":
      return {
        event,
        eventKey,
        scene: eventKey.startsWith(QR_SCENE_PREFIX) ? eventKey.slice(QR_SCENE_PREFIX.length) : null,
        ticket: fields.Ticket ?? null,
      };
    case "unsubscribe":
      return { event };
    case "SCAN":
      return { event, eventKey, scene: eventKey, ticket: fields.Ticket ?? null };
    case "LOCATION":
      return {
        event,
        latitude: decimal(fields, "Latitude"),
        longitude: decimal(fields, "Longitude"),
        precision: decimal(fields, "Precision"),
      };
    case "CLICK":
      return { event, eventKey };
    case "VIEW":
      return { event, eventKey, menuId: fields.MenuId ?? null };
    case "TEMPLATESENDJOBFINISH":
      return { event, msgID: required(fields, "MsgID"), status: fields.Status ?? "" };
    default:
      return { event: "other", name: event, eventKey };
  }
}

function required(fields: Readonly<Record<string, string>>, name: string): string {
  const value = fields[name];
  if (value === undefined || value === "") {
    throw new FieldError("missing-field", `${name} is missing`);
  }
  return value;
}

function integer(fields: Readonly<Record<string, string>>, name: string): number {
  const value = required(fields, name).trim();
  if (!/^\d{1,15}$/.test(value)) {
    throw new FieldError("bad-field", `${name} is not a whole number`);
  }
  return Number(value);
}

function decimal(fields: Readonly<Record<string, string>>, name: string): number {
  const value = required(fields, name).trim();
  if (!/^-?\d+(?:\.\d+)?$/.test(value)) {
    throw new FieldError("bad-field", `${name} is not a decimal number`);
  }
  return Number(value);
}
