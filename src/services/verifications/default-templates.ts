/**
 * The default verification texts, in Chinese and English, as templates of each tenant: approved
 * from the start (the text is the platform's), kind `verification`, with the variables `code` and
 * `minutes`. Being templates, they go to providers that send only approved templates (Aliyun,
 * Tencent) once the tenant maps each to its provider code, like any template:
 * `PUT /v1/templates/{id}/provider-codes`. Their ids are fixed per tenant (`defaultTemplateId`), and
 * they are made the first time they are needed (a verification, or `GET /v1/verifications/templates`
 * ahead of it), so no tenant ever lacks them and none pays for them before.
 */
import { and, eq, inArray } from "drizzle-orm";
import { database } from "../../db/client";
import { templates, templateVersions } from "../../db/schema";
import type { VariableDeclaration } from "../../domain/vocabulary";
import { ApiError } from "../../lib/problem";
import { type ServingTemplate, servingTemplate } from "../content/serving-templates";

export type Locale = "zh" | "en";

export const LOCALES: readonly Locale[] = ["zh", "en"];

/** The texts; the signature rules still apply when they are sent. */
export const DEFAULT_TEXTS: Record<Locale, string> = {
  zh: "您的验证码是{{code}}，{{minutes}}分钟内有效，请勿告诉他人。",
  en: "Your verification code is {{code}}. It expires in {{minutes}} minutes. Do not share it.",
};

const VARIABLES: VariableDeclaration[] = [
  { name: "code", type: "code", maxLength: 10 },
  { name: "minutes", type: "number", maxLength: 2 },
];

/** Who approved the defaults, as the template's reviewer. */
const PLATFORM_REVIEWER = "relaybox";

/**
 * A default template's id: an id like any template's (`tpl_` and 26 base32 characters), fixed per
 * tenant and locale: the tenant id's time and 14 of its random characters, then `VZ` (zh) or `VE`
 * (en). It sorts with the tenant's creation, before the tenant's own templates.
 */
export function defaultTemplateId(tenantId: string, locale: Locale): string {
  const ulid = tenantId.slice(tenantId.indexOf("_") + 1);
  return `tpl_${ulid.slice(0, 24)}V${locale === "zh" ? "Z" : "E"}`;
}

/** Makes the tenant's default templates if they are missing (a race makes them once). */
export async function ensureDefaultTemplates(
  env: Env,
  tenantId: string,
  now: number = Date.now(),
): Promise<void> {
  const db = database(env.DB);
  const made = (locale: Locale) => {
    const id = defaultTemplateId(tenantId, locale);
    return [
      db
        .insert(templates)
        .values({
          id,
          tenantId,
          name: locale === "zh" ? "验证码" : "Verification code",
          kind: "verification",
          latestVersion: 1,
          approvedVersion: 1,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing(),
      db
        .insert(templateVersions)
        .values({
          templateId: id,
          version: 1,
          tenantId,
          body: DEFAULT_TEXTS[locale],
          variables: VARIABLES,
          status: "approved",
          reviewReason: null,
          reviewedBy: PLATFORM_REVIEWER,
          submittedAt: now,
          reviewedAt: now,
          createdAt: now,
        })
        .onConflictDoNothing(),
    ] as const;
  };
  await db.batch([...made("zh"), ...made("en")]);
}

/** The default template that serves in `locale`, made first if the tenant has none yet. */
export async function defaultTemplate(
  env: Env,
  tenantId: string,
  locale: Locale,
  now: number = Date.now(),
): Promise<ServingTemplate> {
  const id = defaultTemplateId(tenantId, locale);
  try {
    return await servingTemplate(env, tenantId, id, now);
  } catch (error) {
    if (!(error instanceof ApiError)) {
      throw error;
    }
  }
  await ensureDefaultTemplates(env, tenantId, now);
  return servingTemplate(env, tenantId, id, now);
}

/** The default templates as the API lists them (the version that serves), made first if missing. */
export async function defaultTemplates(
  env: Env,
  tenantId: string,
): Promise<{ locale: Locale; template_id: string; body: string }[]> {
  await Promise.all(LOCALES.map((locale) => defaultTemplate(env, tenantId, locale)));
  const ids = LOCALES.map((locale) => defaultTemplateId(tenantId, locale));
  const rows = await database(env.DB)
    .select({ id: templates.id, body: templateVersions.body })
    .from(templates)
    .innerJoin(
      templateVersions,
      and(
        eq(templateVersions.templateId, templates.id),
        eq(templateVersions.version, templates.approvedVersion),
      ),
    )
    .where(and(eq(templates.tenantId, tenantId), inArray(templates.id, ids)));
  const bodies = new Map(rows.map((row) => [row.id, row.body]));
  return LOCALES.map((locale) => {
    const id = defaultTemplateId(tenantId, locale);
    return {
      locale,
      template_id: id,
      body: bodies.get(id) ?? DEFAULT_TEXTS[locale],
    };
  });
}
