/**
 * The review workflow templates and signatures share: draft → pending_review → approved |
 * rejected, and a rejected one may be submitted again.
 */

import { ApiError } from "../lib/problem";
import type { ReviewStatus } from "./vocabulary";

export type ReviewAction = "submit" | "approve" | "reject";

export interface ReviewStep {
  from: readonly ReviewStatus[];
  to: ReviewStatus;
  /** The past participle, for messages: "submitted". */
  done: string;
}

export const REVIEW_STEPS: { readonly [action in ReviewAction]: ReviewStep } = {
  submit: { from: ["draft", "rejected"], to: "pending_review", done: "submitted" },
  approve: { from: ["pending_review"], to: "approved", done: "approved" },
  reject: { from: ["pending_review"], to: "rejected", done: "rejected" },
};

/** The step, or a 409 naming the current status when `action` cannot be taken from it. */
export function reviewStep(
  what: "template" | "signature",
  id: string,
  status: ReviewStatus,
  action: ReviewAction,
): ReviewStep {
  const step = REVIEW_STEPS[action];
  if (!step.from.includes(status)) {
    const name = what.charAt(0).toUpperCase() + what.slice(1);
    throw new ApiError(
      "conflict",
      `${name} ${id} is ${status}; only a ${step.from.join(" or ")} ${what} can be ${step.done}.`,
    );
  }
  return step;
}

/** For the reviewer: the words the screening flagged, or null when there were none. */
export function reviewNote(hits: readonly { word: string; policy: string }[]): string | null {
  const words = [...new Set(hits.filter((hit) => hit.policy === "review").map((hit) => hit.word))];
  return words.length > 0 ? `Needs a reviewer's look at: ${words.join(", ")}` : null;
}
