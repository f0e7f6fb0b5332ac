/**
 * Templates: create, read, edit, delete. A template's versions hold the text; edits and reviews
 * (template-review.ts) apply to the latest version, and the approved version is the one that
 * sends. Editing an approved template makes a new draft version while the approved one keeps
 * serving. State changes are conditional updates on the status they start from, so two racing
 * requests cannot both apply.
 */
import { and, desc, eq, exists, inArray, type SQL } from "drizzle-orm";
import { type Database, database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { templates, templateVersions } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { REVIEW_STEPS } from "../../domain/review";
import { checkDeclarations } from "../../domain/templates";
import type { ReviewStatus, TemplateKind, VariableDeclaration } from "../../domain/vocabulary";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { failUnlessChanged, unlessLost } from "../audit/change-guard";
import { forgetServingTemplate } from "./serving-templates";

export type TemplateRow = typeof templates.$inferSelect;
export type TemplateVersionRow = typeof templateVersions.$inferSelect;

/** A template with its latest version: what the API shows. */
export interface TemplateRecord {
  template: TemplateRow;
  latest: TemplateVersionRow;
}

export interface TemplateInput {
  name: string;
  kind: TemplateKind;
  body: string;
  variables: VariableDeclaration[];
}

/** A version is edited in place while it could be submitted; past that, an edit is a new one. */
const EDITABLE = REVIEW_STEPS.submit.from;

function refuseInconsistent(body: string, variables: VariableDeclaration[]): void {
  const errors = checkDeclarations(body, variables);
  if (errors.length > 0) {
    throw new ApiError(
      "unprocessable-entity",
      `The body's placeholders and the declared variables don't agree: ${errors.map((e) => e.detail).join("; ")}.`,
      { errors },
    );
  }
}

export async function createTemplate(
  env: Env,
  caller: Caller,
  input: TemplateInput,
  now: number = Date.now(),
): Promise<TemplateRecord> {
  refuseInconsistent(input.body, input.variables);
  const template: TemplateRow = {
    id: newId("tpl", now),
    tenantId: caller.tenant.id,
    name: input.name,
    kind: input.kind,
    latestVersion: 1,
    approvedVersion: null,
    createdAt: now,
    updatedAt: now,
  };
  const latest: TemplateVersionRow = {
    templateId: template.id,
    version: 1,
    tenantId: caller.tenant.id,
    body: input.body,
    variables: input.variables,
    status: "draft",
    reviewReason: null,
    reviewedBy: null,
    submittedAt: null,
    reviewedAt: null,
    createdAt: now,
  };
  const db = database(env.DB);
  await audited(
    env,
    caller,
    {
      action: "template.create",
      target: template.id,
      diff: diffOf(
        {},
        {
          name: template.name,
          kind: template.kind,
          body: latest.body,
          variables: latest.variables,
        },
      ),
    },
    [db.insert(templates).values(template), db.insert(templateVersions).values(latest)],
  );
  return { template, latest };
}

function selectWithLatest(env: Env) {
  return database(env.DB)
    .select({ template: templates, latest: templateVersions })
    .from(templates)
    .innerJoin(
      templateVersions,
      and(
        eq(templateVersions.templateId, templates.id),
        eq(templateVersions.version, templates.latestVersion),
      ),
    );
}

export async function listTemplates(
  env: Env,
  caller: Caller,
  query: { status?: ReviewStatus; kind?: TemplateKind } & PageRequest,
): Promise<Page<TemplateRecord>> {
  const conditions: SQL[] = [eq(templates.tenantId, caller.tenant.id)];
  if (query.status) {
    conditions.push(eq(templateVersions.status, query.status));
  }
  if (query.kind) {
    conditions.push(eq(templates.kind, query.kind));
  }
  const paging = keyset(templates.id, query);
  const rows = await selectWithLatest(env)
    .where(and(...conditions, paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, query, (row) => row.template.id);
}

/** The template with its latest version; another tenant's is as missing as one that never was. */
export async function getTemplate(env: Env, caller: Caller, id: string): Promise<TemplateRecord> {
  const [record] = await selectWithLatest(env)
    .where(and(eq(templates.id, id), eq(templates.tenantId, caller.tenant.id)))
    .limit(1);
  if (!record) {
    throw new ApiError("not-found", `No template ${id}.`);
  }
  return record;
}

export function versionOf(templateId: string, version: number): SQL | undefined {
  return and(eq(templateVersions.templateId, templateId), eq(templateVersions.version, version));
}

/** True, inside a batch, once the version is in `status` (so a later statement can depend on it). */
export function versionIs(
  db: Database,
  templateId: string,
  version: number,
  status: ReviewStatus,
): SQL {
  return exists(
    db
      .select({ version: templateVersions.version })
      .from(templateVersions)
      .where(and(versionOf(templateId, version), eq(templateVersions.status, status))),
  );
}

export function changedMeanwhile(id: string): ApiError {
  return new ApiError("conflict", `Template ${id} was changed by another request; try again.`);
}

/** What PATCH may change. Changing `body` or `variables` is an edit that needs a new review. */
export type TemplateChanges = Partial<TemplateInput>;

export async function updateTemplate(
  env: Env,
  caller: Caller,
  id: string,
  changes: TemplateChanges,
  now: number = Date.now(),
): Promise<TemplateRecord> {
  const { template, latest } = await getTemplate(env, caller, id);
  const body = changes.body ?? latest.body;
  const variables = changes.variables ?? latest.variables;
  const contentChanged =
    body !== latest.body || JSON.stringify(variables) !== JSON.stringify(latest.variables);
  const kindChanged = changes.kind !== undefined && changes.kind !== template.kind;
  if (kindChanged && template.approvedVersion !== null) {
    throw new ApiError(
      "conflict",
      `Template ${id} has an approved version, so its kind stays ${template.kind}; create a new template for another kind.`,
    );
  }
  if ((contentChanged || kindChanged) && latest.status === "pending_review") {
    throw new ApiError(
      "conflict",
      `Template ${id} is pending_review; its text and kind can't change until it is approved or rejected.`,
    );
  }
  if (contentChanged) {
    refuseInconsistent(body, variables);
  }
  const db = database(env.DB);
  const templateSet: Partial<TemplateRow> = { updatedAt: now };
  if (changes.name !== undefined) {
    templateSet.name = changes.name;
  }
  if (kindChanged) {
    templateSet.kind = changes.kind;
  }
  const unreviewed = {
    status: "draft",
    reviewReason: null,
    reviewedBy: null,
    submittedAt: null,
    reviewedAt: null,
  } as const;

  const event = {
    action: "template.update",
    target: id,
    diff: diffOf(
      { name: template.name, kind: template.kind, body: latest.body, variables: latest.variables },
      {
        name: changes.name ?? template.name,
        kind: kindChanged ? changes.kind : template.kind,
        body,
        variables,
      },
    ),
  };
  if (contentChanged && latest.status === "approved") {
    // The approved version keeps serving; the edit becomes the next version, to be reviewed.
    const next: TemplateVersionRow = {
      ...latest,
      ...unreviewed,
      version: latest.version + 1,
      body,
      variables,
      createdAt: now,
    };
    // A racing edit that made this version number first wins; ours then changes nothing.
    const changed = audited(env, caller, event, [
      db.insert(templateVersions).values(next).onConflictDoNothing(),
      failUnlessChanged(env),
      db
        .update(templates)
        .set({ ...templateSet, latestVersion: next.version })
        .where(and(eq(templates.id, id), eq(templates.latestVersion, latest.version))),
    ]);
    await unlessLost(changed, () => changedMeanwhile(id));
  } else if (contentChanged || (kindChanged && latest.status === "rejected")) {
    const changed = audited(env, caller, event, [
      db
        .update(templateVersions)
        .set({ ...unreviewed, body, variables })
        .where(and(versionOf(id, latest.version), inArray(templateVersions.status, EDITABLE))),
      failUnlessChanged(env),
      // The name and kind change only with the text: not if a submission got there first.
      db
        .update(templates)
        .set(templateSet)
        .where(and(eq(templates.id, id), versionIs(db, id, latest.version, "draft"))),
    ]);
    await unlessLost(changed, () => changedMeanwhile(id));
  } else {
    await audited(env, caller, event, [
      db.update(templates).set(templateSet).where(eq(templates.id, id)),
    ]);
  }
  forgetServingTemplate(caller.tenant.id, id);
  return getTemplate(env, caller, id);
}

export async function deleteTemplate(env: Env, caller: Caller, id: string): Promise<void> {
  const { template, latest } = await getTemplate(env, caller, id);
  const db = database(env.DB);
  const gone = { name: template.name, kind: template.kind, body: latest.body };
  await audited(env, caller, { action: "template.delete", target: id, diff: diffOf(gone, {}) }, [
    db.delete(templateVersions).where(eq(templateVersions.templateId, template.id)),
    db.delete(templates).where(eq(templates.id, template.id)),
  ]);
  forgetServingTemplate(caller.tenant.id, id);
}

/** Every version of a template, newest first (the template checked as the caller's first). */
export async function listTemplateVersions(
  env: Env,
  caller: Caller,
  id: string,
): Promise<TemplateVersionRow[]> {
  await getTemplate(env, caller, id);
  return database(env.DB)
    .select()
    .from(templateVersions)
    .where(
      and(eq(templateVersions.templateId, id), eq(templateVersions.tenantId, caller.tenant.id)),
    )
    .orderBy(desc(templateVersions.version))
    .limit(100);
}
