/**
 * The approved template version a message is sent with, looked up and compiled once per isolate
 * and kept a few seconds. Templates' CRUD and review (./templates) call `forgetServingTemplate`
 * when what serves changes, so this isolate sees it at once.
 */
import { and, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { templates, templateVersions } from "../../db/schema";
import { type CompiledTemplate, compileTemplate } from "../../domain/templates";
import type { TemplateKind, VariableDeclaration } from "../../domain/vocabulary";
import { ApiError } from "../../lib/problem";
import { TtlCache } from "../../lib/ttl-cache";

/** The approved version a message is sent with. */
export interface ServingTemplate {
  id: string;
  version: number;
  kind: TemplateKind;
  compiled: CompiledTemplate;
  variables: VariableDeclaration[];
}

// Which version serves may change (approve, delete), so it is looked up again after a few
// seconds; a version's text never changes once approved, so its compiled form is kept by version.
const SERVING_TTL_MS = 5_000;
const MAX_CACHED = 10_000;
const serving = new TtlCache<string, ServingTemplate>({
  ttlMs: SERVING_TTL_MS,
  maxEntries: MAX_CACHED,
});
const compiledVersions = new Map<string, ServingTemplate>();

/** Called after any change to the template, so that this isolate's next send looks it up again. */
export function forgetServingTemplate(tenantId: string, templateId: string): void {
  serving.delete(`${tenantId} ${templateId}`);
}

/**
 * The approved version that sends. Throws a 422 pointing at `/template_id` when the template is
 * unknown to this tenant (another tenant's is as unknown) or has no approved version yet.
 */
export async function servingTemplate(
  env: Env,
  tenantId: string,
  templateId: string,
  now: number = Date.now(),
): Promise<ServingTemplate> {
  const key = `${tenantId} ${templateId}`;
  const cached = serving.get(key, now);
  if (cached) {
    return cached;
  }
  const [row] = await database(env.DB)
    .select({ kind: templates.kind, approved: templateVersions })
    .from(templates)
    .leftJoin(
      templateVersions,
      and(
        eq(templateVersions.templateId, templates.id),
        eq(templateVersions.version, templates.approvedVersion),
      ),
    )
    .where(and(eq(templates.id, templateId), eq(templates.tenantId, tenantId)))
    .limit(1);
  if (!row?.approved) {
    const detail = row
      ? `Template ${templateId} has no approved version yet; submit it and have it approved before sending with it.`
      : `No template ${templateId} in this account.`;
    throw new ApiError("unprocessable-entity", detail, {
      errors: [{ pointer: "/template_id", detail: row ? "not approved yet" : "no such template" }],
    });
  }
  const { approved } = row;
  const versionKey = `${templateId} ${approved.version}`;
  let template = compiledVersions.get(versionKey);
  if (!template) {
    template = {
      id: templateId,
      version: approved.version,
      kind: row.kind,
      compiled: compileTemplate(approved.body),
      variables: approved.variables,
    };
    if (compiledVersions.size >= MAX_CACHED) {
      compiledVersions.clear();
    }
    compiledVersions.set(versionKey, template);
  }
  serving.set(key, template, now);
  return template;
}
