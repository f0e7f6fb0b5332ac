/**
 * Template review: submit (screened for sensitive words first), approve, reject. Each is a
 * conditional update on the status it starts from, so two racing reviews cannot both apply.
 */
import { and, eq, inArray } from "drizzle-orm";
import { database } from "../../db/client";
import { templates, templateVersions } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { type ReviewAction, reviewNote, reviewStep } from "../../domain/review";
import { audited } from "../audit/audit-log";
import { failUnlessChanged, unlessLost } from "../audit/change-guard";
import { refuseBlocked, screenText } from "./sensitive-words";
import { forgetServingTemplate } from "./serving-templates";
import {
  changedMeanwhile,
  getTemplate,
  type TemplateRecord,
  type TemplateVersionRow,
  versionIs,
  versionOf,
} from "./templates";

/** Moves the latest version one review step on, or says why it can't. */
async function review(
  env: Env,
  caller: Caller,
  id: string,
  action: ReviewAction,
  set: (record: TemplateRecord) => Promise<Partial<TemplateVersionRow>>,
  now: number,
): Promise<TemplateRecord> {
  const record = await getTemplate(env, caller, id);
  const { template, latest } = record;
  const step = reviewStep("template", id, latest.status, action);
  const changes = { ...(await set(record)), status: step.to };
  const db = database(env.DB);
  // One transaction: the template serves the version only if this very batch approved it.
  const serves = step.to === "approved";
  const event = {
    action: `template.${action}`,
    target: template.id,
    diff: diffOf(
      { version: latest.version, status: latest.status, reviewReason: latest.reviewReason },
      {
        version: latest.version,
        status: step.to,
        reviewReason: changes.reviewReason ?? latest.reviewReason,
      },
    ),
  };
  const moved = audited(env, caller, event, [
    db
      .update(templateVersions)
      .set(changes)
      .where(
        and(versionOf(template.id, latest.version), inArray(templateVersions.status, step.from)),
      ),
    failUnlessChanged(env),
    db
      .update(templates)
      .set(serves ? { approvedVersion: latest.version, updatedAt: now } : { updatedAt: now })
      .where(
        and(
          eq(templates.id, template.id),
          serves ? versionIs(db, template.id, latest.version, "approved") : undefined,
        ),
      ),
  ]);
  await unlessLost(moved, () => changedMeanwhile(template.id));
  if (serves) {
    forgetServingTemplate(caller.tenant.id, id);
  }
  return getTemplate(env, caller, id);
}

/**
 * Puts the latest version up for review. Its body is screened first: a blocked word refuses it
 * (422 with the hits) and leaves it as it was; words that need review are named for the reviewer.
 */
export function submitTemplate(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<TemplateRecord> {
  return review(
    env,
    caller,
    id,
    "submit",
    async ({ latest }) => {
      const screening = await screenText(env, caller.tenant.id, latest.body);
      refuseBlocked(screening, "/body");
      return {
        reviewReason: reviewNote(screening.hits),
        reviewedBy: null,
        submittedAt: now,
        reviewedAt: null,
      };
    },
    now,
  );
}

export function approveTemplate(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<TemplateRecord> {
  return review(
    env,
    caller,
    id,
    "approve",
    async () => ({ reviewedBy: caller.keyId, reviewedAt: now }),
    now,
  );
}

export function rejectTemplate(
  env: Env,
  caller: Caller,
  id: string,
  reason: string,
  now: number = Date.now(),
): Promise<TemplateRecord> {
  return review(
    env,
    caller,
    id,
    "reject",
    async () => ({ reviewReason: reason, reviewedBy: caller.keyId, reviewedAt: now }),
    now,
  );
}
