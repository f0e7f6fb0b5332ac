import { type ClusterSink, segmenterClusters, simpleClusters } from "./graphemes";
import { SEPTET_LIMIT, SEPTETS } from "./gsm7";

export type Encoding = "GSM-7" | "UCS-2";

export interface SegmentCount {
  encoding: Encoding;
  /** User-perceived characters (grapheme clusters). */
  characters: number;
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
  segments: number;
  /** Capacity of one segment in `units`: lower once a message needs more than one. */
  perSegment: number;
}

// A single message carries 140 octets. Concatenated parts give 6 octets to the user data header
// (3GPP TS 23.040 §9.2.3.24.1), leaving 134 octets: 153 septets or 67 UTF-16 units.
const GSM7_SINGLE = 160;
const GSM7_MULTIPART = 153;
const UCS2_SINGLE = 70;
const UCS2_MULTIPART = 67;

const CARRIAGE_RETURN = 0x0d;
const LINE_FEED = 0x0a;

export function segmentsOf(text: string): SegmentCount {
  return countGsm7(text) ?? countUcs2(text);
}

/** Fills parts greedily with pieces that must not be split: the first that does not fit opens a part. */
class PartPacker {
  segments = 1;
  private used = 0;

  constructor(private readonly capacity: number) {}

  add(width: number): void {
    if (this.used + width > this.capacity) {
      this.segments += 1;
      this.used = 0;
    }
    this.used += width;
  }
}

/** Undefined when a character is outside the GSM 7-bit alphabet. */
function countGsm7(text: string): SegmentCount | undefined {
  // A receiver decodes each part on its own, so ESC and its code must arrive in the same part:
  // an extension character is one piece of two septets.
  const parts = new PartPacker(GSM7_MULTIPART);
  let units = 0;
  let lineBreaks = 0;
  for (let index = 0; index < text.length; index += 1) {
    const unit = text.charCodeAt(index);
    const septets = unit < SEPTET_LIMIT ? (SEPTETS[unit] ?? 0) : 0;
    if (septets === 0) {
      return undefined;
    }
    units += septets;
    parts.add(septets);
    if (unit === LINE_FEED && index > 0 && text.charCodeAt(index - 1) === CARRIAGE_RETURN) {
      lineBreaks += 1;
    }
  }
  // No character of the alphabet joins another into one grapheme cluster, except CR LF.
  const characters = text.length - lineBreaks;
  if (units <= GSM7_SINGLE) {
    return single("GSM-7", characters, units, GSM7_SINGLE);
  }
  return {
    encoding: "GSM-7",
    characters,
    units,
    segments: parts.segments,
    perSegment: GSM7_MULTIPART,
  };
}

function single(
  encoding: Encoding,
  characters: number,
  units: number,
  perSegment: number,
): SegmentCount {
  // Callers refuse empty bodies; an empty text would send nothing, so it costs nothing.
  return { encoding, characters, units, segments: units === 0 ? 0 : 1, perSegment };
}

function ucs2Count(characters: number, units: number, parts: PartPacker): SegmentCount {
  if (units <= UCS2_SINGLE) {
    return single("UCS-2", characters, units, UCS2_SINGLE);
  }
  return {
    encoding: "UCS-2",
    characters,
    units,
    segments: parts.segments,
    perSegment: UCS2_MULTIPART,
  };
}

// UCS-2 parts hold whole grapheme clusters: a surrogate pair split across parts shows as two
// replacement glyphs, and a split emoji sequence (family, skin tone, flag, keycap) as its pieces.
// Two exceptions. CR LF is one cluster but two characters, which may sit in different parts (as
// Twilio's segment calculator packs them). A cluster longer than a part (a chain of ZWJ emoji past
// 67 units) cannot stay whole, so it splits between code points; Twilio's calculator gives it a
// part of its own that overflows 140 octets, which no network would carry.

function countUcs2(text: string): SegmentCount {
  // The one pass gives up part-way on a text its rules don't cover: the segmenter starts over.
  const simple = new Ucs2Parts(text);
  const characters = simpleClusters(text, simple);
  if (characters !== undefined) {
    return ucs2Count(characters, text.length, simple);
  }
  const parts = new Ucs2Parts(text);
  return ucs2Count(segmenterClusters(text, parts), text.length, parts);
}

/** UCS-2 parts, filled cluster by cluster. */
class Ucs2Parts extends PartPacker implements ClusterSink {
  constructor(private readonly text: string) {
    super(UCS2_MULTIPART);
  }

  cluster(start: number, end: number): void {
    const { text } = this;
    if (
      end - start === 2 &&
      text.charCodeAt(start) === CARRIAGE_RETURN &&
      text.charCodeAt(start + 1) === LINE_FEED
    ) {
      this.add(1);
      this.add(1);
      return;
    }
    if (end - start <= UCS2_MULTIPART) {
      this.add(end - start);
      return;
    }
    // Longer than a part: keep at least each code point whole.
    for (let index = start; index < end; ) {
      const width = (text.codePointAt(index) ?? 0) > 0xffff ? 2 : 1;
      this.add(width);
      index += width;
    }
  }
}

/**
 * The SMS figures a message shows: its segments and encoding, or null for both when it does not go
 * by SMS (a WeChat message has no segments; the send log keeps 0 for it).
 */
export function smsFiguresOf(message: { channel: string; segments: number; encoding: Encoding }): {
  segments: number | null;
  encoding: Encoding | null;
} {
  return message.channel === "sms"
    ? { segments: message.segments, encoding: message.encoding }
    : { segments: null, encoding: null };
}
