import { describe, expect, it } from "vitest";
import {
  cancellableAtWeChat,
  MAX_OPENIDS_PER_SEND,
  openidChunks,
  previewBody,
  quotaOf,
  refusalOf,
  sendAllBody,
} from "../../src/domain/wechat-broadcast";
import { checkMedia, sniffFormat } from "../../src/domain/wechat-media";

const ids = (n: number) => Array.from({ length: n }, (_, i) => `o${i}`);

describe("openid chunks", () => {
  it("keeps every call within 2–10,000 openids and loses none", () => {
    for (const n of [2, 10_000, 10_001, 20_000, 20_001, 35_555]) {
      const chunks = openidChunks(ids(n));
      expect(chunks.flat()).toEqual(ids(n));
      expect(chunks.length).toBe(Math.ceil(n / MAX_OPENIDS_PER_SEND));
      for (const chunk of chunks) {
        expect(chunk.length).toBeGreaterThanOrEqual(2);
        expect(chunk.length).toBeLessThanOrEqual(MAX_OPENIDS_PER_SEND);
      }
    }
  });
});

describe("the mass-send quota", () => {
  it("counts a subscription account's day and a service account's month in China time", () => {
    // 2026-12-31 17:00 UTC is 2027-01-01 01:00 in China.
    const now = Date.UTC(2026, 11, 31, 17);
    expect(quotaOf("subscription", now)).toEqual({
      period: "day",
      limit: 1,
      key: "2027-01-01",
      resetsAt: Date.UTC(2027, 0, 1, 16),
    });
    expect(quotaOf("service", now)).toEqual({
      period: "month",
      limit: 4,
      key: "2027-01",
      resetsAt: Date.UTC(2027, 0, 31, 16),
    });
    expect(quotaOf("service", Date.UTC(2026, 11, 31, 15, 59)).key).toBe("2026-12");
  });

  it("lets only verified accounts send, and openid lists only from service accounts", () => {
    expect(refusalOf({ type: "service", verified: false }, { kind: "all" })).toMatch(/verified/);
    expect(
      refusalOf({ type: "subscription", verified: true }, { kind: "openids", openids: ids(2) }),
    ).toMatch(/service/);
    expect(refusalOf({ type: "subscription", verified: true }, { kind: "tag", tag_id: 1 })).toBe(
      null,
    );
    expect(
      refusalOf({ type: "service", verified: true }, { kind: "openids", openids: ids(2) }),
    ).toBe(null);
  });
});

describe("WeChat's bodies", () => {
  it("sends to all with is_to_all, and previews the first image as a single image", () => {
    expect(sendAllBody({ kind: "all" }, { type: "voice", media_ids: ["V"] }, "brd_1")).toEqual({
      filter: { is_to_all: true },
      voice: { media_id: "V" },
      msgtype: "voice",
      clientmsgid: "brd_1",
    });
    expect(previewBody("oA", { type: "image", media_ids: ["I1", "I2"] })).toEqual({
      touser: "oA",
      image: { media_id: "I1" },
      msgtype: "image",
    });
    expect(cancellableAtWeChat("mpnews")).toBe(true);
    expect(cancellableAtWeChat("text")).toBe(false);
  });
});

describe("media rules", () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const bmp = new Uint8Array([0x42, 0x4d, 0, 0]);
  it("recognises formats by their first bytes", () => {
    expect(sniffFormat(png)).toBe("png");
    expect(sniffFormat(new Uint8Array([0xff, 0xfb, 0x90, 0]))).toBe("mp3");
    expect(sniffFormat(new Uint8Array([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70]))).toBe("mp4");
    expect(sniffFormat(new Uint8Array([0x25, 0x50, 0x44, 0x46]))).toBe(null);
  });

  it("takes a bmp only as permanent material, and each type up to its size", () => {
    expect(checkMedia("image", true, { bytes: 10, head: bmp })).toBe(null);
    expect(checkMedia("image", false, { bytes: 10, head: bmp })?.detail).toMatch(/jpg, png, gif/);
    expect(checkMedia("image", true, { bytes: 10 * 1024 * 1024, head: png })).toBe(null);
    expect(checkMedia("image", true, { bytes: 10 * 1024 * 1024 + 1, head: png })?.pointer).toBe(
      "/file",
    );
    expect(checkMedia("image", false, { bytes: 0, head: png })?.detail).toMatch(/empty/);
  });
});
