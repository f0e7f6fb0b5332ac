/**
 * WeChat's rules for media (素材) uploaded to an Official Account, checked before the file is sent:
 * the types, their formats and sizes (WeChat's "新增临时素材" and "新增永久素材" pages), and how
 * long a temporary one lasts. Formats are recognised by the file's first bytes, not its name.
 *
 * WeChat's pages disagree on the image limit (the English temporary-media page still says 2 MB,
 * the current Chinese pages 10 MB for both): we take the current 10 MB and let WeChat refuse the
 * rest. A voice's 60-second limit needs the audio decoded, so WeChat alone checks it.
 */

export const MEDIA_TYPES = ["image", "voice", "video", "thumb"] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

export const MB = 1024 * 1024;

/** The largest upload WeChat takes of any type: the media route's body limit. */
export const MAX_MEDIA_BYTES = 10 * MB;

/** Temporary media last three days at WeChat. */
export const TEMPORARY_MEDIA_MS = 3 * 24 * 60 * 60_000;

export type MediaFormat = "jpg" | "png" | "gif" | "bmp" | "amr" | "mp3" | "mp4";

export interface MediaRule {
  maxBytes: number;
  formats: readonly MediaFormat[];
  /** Formats taken only as permanent material. */
  permanentOnly?: readonly MediaFormat[];
}

export const MEDIA_RULES: { readonly [type in MediaType]: MediaRule } = {
  image: {
    maxBytes: 10 * MB,
    formats: ["jpg", "png", "gif", "bmp"],
    permanentOnly: ["bmp"],
  },
  voice: { maxBytes: 2 * MB, formats: ["amr", "mp3"] },
  video: { maxBytes: 10 * MB, formats: ["mp4"] },
  thumb: { maxBytes: 64 * 1024, formats: ["jpg"] },
};

/** A permanent video's title and introduction (WeChat requires both). */
export const MAX_VIDEO_TITLE = 64;
export const MAX_VIDEO_INTRODUCTION = 120;

/** Each format's signature: bytes at an offset ("#!AMR", "ftyp"…). */
const SIGNATURES: readonly { format: MediaFormat; at: number; bytes: readonly number[] }[] = [
  { format: "jpg", at: 0, bytes: [0xff, 0xd8, 0xff] },
  { format: "png", at: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { format: "gif", at: 0, bytes: [0x47, 0x49, 0x46, 0x38] },
  { format: "bmp", at: 0, bytes: [0x42, 0x4d] },
  { format: "amr", at: 0, bytes: [0x23, 0x21, 0x41, 0x4d, 0x52] },
  { format: "mp3", at: 0, bytes: [0x49, 0x44, 0x33] },
  { format: "mp4", at: 4, bytes: [0x66, 0x74, 0x79, 0x70] },
];

/** The format `head` (the file's first bytes, 12 or more) starts like, or null. */
export function sniffFormat(head: Uint8Array): MediaFormat | null {
  const found = SIGNATURES.find((s) => s.bytes.every((b, i) => head[s.at + i] === b));
  if (found) {
    return found.format;
  }
  // An MP3 without an ID3 tag starts with an MPEG audio frame's sync bits.
  return head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0 ? "mp3" : null;
}

export interface MediaProblem {
  pointer: string;
  detail: string;
}

/** What is wrong with a file of `bytes` and first bytes `head` for `type`, or null. */
export function checkMedia(
  type: MediaType,
  permanent: boolean,
  file: { bytes: number; head: Uint8Array },
): MediaProblem | null {
  const rule = MEDIA_RULES[type];
  if (file.bytes === 0) {
    return { pointer: "/file", detail: "The file is empty." };
  }
  if (file.bytes > rule.maxBytes) {
    return {
      pointer: "/file",
      detail: `A ${type} may be at most ${sizeOf(rule.maxBytes)} at WeChat; this file is ${sizeOf(file.bytes)}.`,
    };
  }
  const format = sniffFormat(file.head);
  const allowed = rule.formats.filter((f) => permanent || !rule.permanentOnly?.includes(f));
  if (format === null || !allowed.includes(format)) {
    return {
      pointer: "/file",
      detail: `A ${permanent ? "permanent" : "temporary"} ${type} must be ${allowed.join(", ")}; this file is ${format ?? "none of those"}.`,
    };
  }
  return null;
}

function sizeOf(bytes: number): string {
  return bytes >= MB
    ? `${(bytes / MB).toFixed(bytes % MB === 0 ? 0 : 1)} MB`
    : `${Math.ceil(bytes / 1024)} KB`;
}
