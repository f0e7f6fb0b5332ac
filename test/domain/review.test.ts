import { describe, expect, it } from "vitest";
import { reviewNote, reviewStep } from "../../src/domain/review";
import { REVIEW_STATUSES } from "../../src/domain/vocabulary";
import { ApiError } from "../../src/lib/problem";

describe("the review workflow", () => {
  it("allows exactly draft/rejected → pending_review → approved | rejected", () => {
    const allowed: string[] = [];
    for (const status of REVIEW_STATUSES) {
      for (const action of ["submit", "approve", "reject"] as const) {
        try {
          allowed.push(
            `${status} -${action}-> ${reviewStep("template", "tpl_x", status, action).to}`,
          );
        } catch (error) {
          expect(error).toBeInstanceOf(ApiError);
          expect((error as ApiError).status).toBe(409);
        }
      }
    }
    expect(allowed).toEqual([
      "draft -submit-> pending_review",
      "pending_review -approve-> approved",
      "pending_review -reject-> rejected",
      "rejected -submit-> pending_review",
    ]);
  });

  it("names the current status and the one needed in its refusal", () => {
    expect(() => reviewStep("signature", "sig_1", "approved", "submit")).toThrow(
      "Signature sig_1 is approved; only a draft or rejected signature can be submitted.",
    );
  });

  it("notes each review word once for the reviewer, and nothing without one", () => {
    const hits = [
      { word: "国家级", policy: "review" },
      { word: "casino", policy: "block" },
      { word: "国家级", policy: "review" },
    ];
    expect(reviewNote(hits)).toBe("Needs a reviewer's look at: 国家级");
    expect(reviewNote([{ word: "x", policy: "mask" }])).toBeNull();
  });
});
