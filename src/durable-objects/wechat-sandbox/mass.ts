/**
 * The sandbox's media and mass sends, as WeChat answers them: media uploads keep only an id and
 * the type; `sendall` and `send` reach the following followers (all, a tag's, or those listed)
 * and make a job whose MASSSENDJOBFINISH the route pushes; `preview` reaches one follower;
 * `delete` takes down a sent news or video.
 */
import {
  type MassJob,
  OK,
  type WeChatAnswer,
  wechatRefusal,
} from "../../channels/wechat/sandbox-answers";
import { followerOf, followingAfter, nextMsgId } from "./state";

export type MassKind = "sendall" | "send" | "preview";

/** `/cgi-bin/media/upload` (temporary) and `/cgi-bin/material/add_material` (permanent). */
export function addMedia(
  sql: SqlStorage,
  upload: { type: string; permanent: boolean; bytes: number },
  appId: string,
  now: number,
): WeChatAnswer {
  const random = crypto.getRandomValues(new Uint8Array(24));
  const mediaId = btoa(String.fromCharCode(...random)).replace(/[+/=]/g, "_");
  sql.exec(
    "INSERT INTO media (media_id, type, permanent, bytes, created_at) VALUES (?, ?, ?, ?, ?)",
    mediaId,
    upload.type,
    upload.permanent ? 1 : 0,
    upload.bytes,
    now,
  );
  if (upload.permanent) {
    return upload.type === "image"
      ? { media_id: mediaId, url: `http://mmbiz.qpic.cn/sandbox/${appId}/${mediaId}/0` }
      : { media_id: mediaId };
  }
  const key = upload.type === "thumb" ? "thumb_media_id" : "media_id";
  return { type: upload.type, [key]: mediaId, created_at: Math.floor(now / 1000) };
}

/** `/cgi-bin/material/del_material`: permanent media only. */
export function deleteMaterial(sql: SqlStorage, mediaId: string): WeChatAnswer {
  const gone = sql.exec("DELETE FROM media WHERE media_id = ? AND permanent = 1", mediaId);
  return gone.rowsWritten > 0 ? OK : wechatRefusal(40007);
}

/** The media ids a mass body names, or null for text. */
function mediaIdsOf(body: Record<string, unknown>): string[] | null {
  const type = String(body.msgtype ?? "");
  const part = body[type === "image" && body.images ? "images" : type];
  if (type === "text" || typeof part !== "object" || part === null) {
    return type === "text" ? null : [];
  }
  const fields = part as Record<string, unknown>;
  if (Array.isArray(fields.media_ids)) {
    return fields.media_ids.map(String);
  }
  return typeof fields.media_id === "string" ? [fields.media_id] : [];
}

/**
 * A mass send or preview: the recipients, checked as WeChat checks them, and for a send the job
 * whose counts the route pushes.
 */
export function massSend(
  sql: SqlStorage,
  kind: MassKind,
  body: Record<string, unknown>,
  now: number,
): { answer: WeChatAnswer; job?: MassJob; recipients: string[] } {
  const type = String(body.msgtype ?? "");
  if (!["text", "image", "voice", "mpvideo", "mpnews"].includes(type)) {
    return { answer: wechatRefusal(40008), recipients: [] };
  }
  const mediaIds = mediaIdsOf(body);
  if (mediaIds !== null) {
    const known = (id: string) =>
      sql.exec("SELECT 1 FROM media WHERE media_id = ?", id).toArray().length > 0;
    if (mediaIds.length === 0 || !mediaIds.every(known)) {
      return { answer: wechatRefusal(40007), recipients: [] };
    }
  }
  if (kind === "preview") {
    const openid = String(body.touser ?? "");
    const follower = followerOf(sql, openid);
    if (!follower) {
      return { answer: wechatRefusal(40003), recipients: [] };
    }
    if (!follower.following) {
      return { answer: wechatRefusal(43004), recipients: [] };
    }
    return { answer: { ...OK, msg_id: nextMsgId(sql, now) }, recipients: [openid] };
  }
  let listed: string[];
  if (kind === "send") {
    const touser = Array.isArray(body.touser) ? body.touser.map(String) : [];
    if (touser.length < 2 || touser.length > 10_000) {
      return { answer: wechatRefusal(40130), recipients: [] };
    }
    listed = touser;
  } else {
    const filter = (body.filter ?? {}) as { is_to_all?: boolean; tag_id?: number };
    listed =
      filter.is_to_all === true ? followingAfter(sql, "") : followingAfter(sql, "", filter.tag_id);
  }
  const following = new Set(followingAfter(sql, ""));
  const recipients = listed.filter((openid) => following.has(openid));
  const msgId = nextMsgId(sql, now);
  sql.exec("INSERT INTO mass_jobs (msg_id, deleted) VALUES (?, 0)", msgId);
  const job: MassJob = {
    msgId,
    total: listed.length,
    filtered: recipients.length,
    sent: recipients.length,
    errors: 0,
  };
  return {
    answer: { ...OK, msg_id: msgId, msg_data_id: msgId % 1_000_000_000 },
    job,
    recipients,
  };
}

/** `/cgi-bin/message/mass/delete`: a job the sandbox sent, news or video (not checked here). */
export function deleteMass(sql: SqlStorage, msgId: number): WeChatAnswer {
  const done = sql.exec("UPDATE mass_jobs SET deleted = 1 WHERE msg_id = ?", msgId);
  return done.rowsWritten > 0 ? OK : wechatRefusal(47001);
}
