/**
 * The content routes: templates, signatures and sensitive words, over the same services as the
 * API. Every route checks the session's permission itself (403), whatever the page showed.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { grants, type Permission } from "../domain/permissions";
import { signatureNameProblem } from "../domain/signatures";
import { compileTemplate, renderTemplate } from "../domain/templates";
import {
  REVIEW_STATUSES,
  type ReviewStatus,
  TEMPLATE_KINDS,
  type TemplateKind,
  VARIABLE_TYPES,
  type VariableDeclaration,
  type VariableType,
  WORD_POLICIES,
  type WordPolicy,
} from "../domain/vocabulary";
import { ApiError } from "../lib/problem";
import { screenText } from "../services/content/sensitive-words";
import { createSignature, listSignatures, submitSignature } from "../services/content/signatures";
import { submitTemplate } from "../services/content/template-review";
import {
  createTemplate,
  deleteTemplate,
  getTemplate,
  listTemplates,
  listTemplateVersions,
  type TemplateRecord,
  updateTemplate,
} from "../services/content/templates";
import {
  createSensitiveWord,
  importSensitiveWords,
  listSensitiveWords,
  MAX_IMPORT,
} from "../services/content/tenant-lexicon";
import {
  SensitiveWordsPage,
  SignaturesPage,
  type TemplateDraft,
  TemplateEditorPage,
  TemplatePreview,
  TemplatesPage,
} from "./content";
import { type FieldErrors, type FormFields, fieldErrorsOf, fieldOf, readForm } from "./forms";
import { type Notice, problemNotice, render, setFlash, tOf } from "./ui";

const TEMPLATE_ID = /^tpl_[0-9A-Z]{26}$/;
const SIGNATURE_ID = /^sig_[0-9A-Z]{26}$/;
const WORD_ID = /^sw_[0-9A-Z]{26}$/;
/** An imported word list: one word a line, at most MAX_IMPORT lines of at most 50 characters. */
const MAX_IMPORT_BYTES = 1024 * 1024;
/** As the API's check: POST /v1/sensitive-words/check takes at most this many characters. */
const MAX_CHECKED_TEXT = 10_000;

function requirePermission(c: Context<AppEnv>, permission: Permission): void {
  if (!grants(c.get("caller").scopes, permission)) {
    throw new ApiError("forbidden", tOf(c)("content.forbidden"));
  }
}

const oneOf = <T extends string>(values: readonly T[], value: string | undefined) =>
  values.find((v) => v === value);

const cursorOf = (c: Context<AppEnv>, pattern: RegExp) => {
  const cursor = c.req.query("cursor");
  return cursor && pattern.test(cursor) ? cursor : undefined;
};

/** The status a refused form answers with: the problem's own for 403/409, else 422. */
const formStatus = (error: ApiError) =>
  error.status === 403 || error.status === 409 ? error.status : 422;

/** Runs a form's change; a refused one (not a 404) is shown on the page by `refused`. */
async function formAction(
  run: () => Promise<Response>,
  refused: (error: ApiError) => Promise<Response> | Response,
): Promise<Response> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 404) {
      throw error;
    }
    return refused(error);
  }
}

// ---------------------------------------------------------------- templates

const SAMPLE: { readonly [type in VariableType]: (name: string) => string } = {
  string: (name) => name,
  number: () => "42",
  code: () => "123456",
  date: () => new Date().toISOString().slice(0, 10),
  url: () => "https://example.com/x",
};

/** The body with a sample value per placeholder (by its declared type), screened. */
async function previewOf(c: Context<AppEnv>, draft: TemplateDraft) {
  const compiled = compileTemplate(draft.body);
  const types = new Map(draft.variables.map((v) => [v.name, v.type]));
  const values = Object.fromEntries(
    compiled.names.map((name) => {
      const type = oneOf(VARIABLE_TYPES, types.get(name)) ?? "string";
      return [name, SAMPLE[type](name)];
    }),
  );
  const text = renderTemplate(compiled, values);
  const screening = await screenText(c.env, c.get("caller").tenant.id, text);
  return { text, screening, placeholders: compiled.names };
}

function draftOfForm(form: FormFields): TemplateDraft {
  const variables: TemplateDraft["variables"] = [];
  for (let i = 0; i < 20; i += 1) {
    const name = fieldOf(form, `variables.${i}.name`).trim();
    if (name) {
      variables.push({
        name,
        type: fieldOf(form, `variables.${i}.type`),
        max_length: fieldOf(form, `variables.${i}.max_length`).trim(),
      });
    }
  }
  return {
    name: fieldOf(form, "name").trim(),
    kind: fieldOf(form, "kind"),
    body: fieldOf(form, "body"),
    variables,
  };
}

function draftOfRecord({ template, latest }: TemplateRecord): TemplateDraft {
  return {
    name: template.name,
    kind: template.kind,
    body: latest.body,
    variables: latest.variables.map((v) => ({
      name: v.name,
      type: v.type,
      max_length: String(v.maxLength),
    })),
  };
}

/**
 * The form's template, or a 422 with the fields that are wrong. Placeholders against
 * declarations are the service's rule (checkDeclarations); here only what a form can get wrong
 * that JSON's types catch in the API: blanks, lengths, unknown choices, non-numbers.
 */
function inputOfDraft(
  c: Context<AppEnv>,
  draft: TemplateDraft,
): { name: string; kind: TemplateKind; body: string; variables: VariableDeclaration[] } {
  const t = tOf(c);
  const errors: { pointer: string; detail: string }[] = [];
  if (draft.name.length === 0 || draft.name.length > 100) {
    errors.push({ pointer: "/name", detail: t("templates.bad_name") });
  }
  const kind = oneOf(TEMPLATE_KINDS, draft.kind);
  if (!kind) {
    errors.push({ pointer: "/kind", detail: t("templates.bad_kind") });
  }
  if (draft.body.trim().length === 0 || draft.body.length > 1000) {
    errors.push({ pointer: "/body", detail: t("templates.bad_body") });
  }
  const variables = draft.variables.map((v, i) => {
    const type = oneOf(VARIABLE_TYPES, v.type);
    if (!type) {
      errors.push({ pointer: `/variables/${i}/type`, detail: t("templates.bad_kind") });
    }
    const maxLength = /^\d{1,4}$/.test(v.max_length) ? Number(v.max_length) : Number.NaN;
    return { name: v.name, type: type ?? "string", maxLength };
  });
  if (errors.length > 0) {
    throw new ApiError("unprocessable-entity", t("common.form_errors"), { errors });
  }
  return { name: draft.name, kind: kind as TemplateKind, body: draft.body, variables };
}

async function renderEditor(
  c: Context<AppEnv>,
  view: { id?: string; draft?: TemplateDraft; errors?: FieldErrors; notice?: Notice },
  httpStatus: 200 | 403 | 409 | 422 = 200,
) {
  requirePermission(c, "templates:read");
  const caller = c.get("caller");
  const record = view.id ? await getTemplate(c.env, caller, view.id) : undefined;
  const versions = view.id ? await listTemplateVersions(c.env, caller, view.id) : undefined;
  const draft = view.draft ??
    (record ? draftOfRecord(record) : undefined) ?? {
      name: "",
      kind: "transactional",
      body: "",
      variables: [],
    };
  return render(
    c,
    <TemplateEditorPage
      record={record}
      versions={versions}
      draft={draft}
      errors={view.errors ?? {}}
      notice={view.notice}
      canWrite={grants(caller.scopes, "templates:write")}
      preview={await previewOf(c, draft)}
    />,
    httpStatus,
  );
}

function templateIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!TEMPLATE_ID.test(id)) {
    throw new ApiError("not-found", `No template ${id}.`);
  }
  return id;
}

// ---------------------------------------------------------------- signatures

async function renderSignatures(
  c: Context<AppEnv>,
  view: { draftName?: string; errors?: FieldErrors; notice?: Notice } = {},
  httpStatus: 200 | 201 | 403 | 409 | 422 = 200,
) {
  requirePermission(c, "templates:read");
  const caller = c.get("caller");
  const status = oneOf(REVIEW_STATUSES, c.req.query("status")) as ReviewStatus | undefined;
  const cursor = cursorOf(c, SIGNATURE_ID);
  const page = await listSignatures(c.env, caller, { status, cursor, limit: 50 });
  return render(
    c,
    <SignaturesPage
      signatures={page.data}
      status={status}
      cursor={cursor}
      nextCursor={page.nextCursor}
      canWrite={grants(caller.scopes, "templates:write")}
      draftName={view.draftName}
      errors={view.errors ?? {}}
      notice={view.notice}
    />,
    httpStatus,
  );
}

// ---------------------------------------------------------------- sensitive words

type WordsView = Omit<
  Parameters<typeof SensitiveWordsPage>[0],
  "words" | "cursor" | "nextCursor" | "canWrite" | "errors"
> & { errors?: FieldErrors };

async function renderWords(
  c: Context<AppEnv>,
  view: WordsView = {},
  httpStatus: 200 | 201 | 403 | 409 | 422 = 200,
) {
  requirePermission(c, "content:read");
  const caller = c.get("caller");
  const cursor = cursorOf(c, WORD_ID);
  const page = await listSensitiveWords(c.env, caller.tenant.id, { cursor, limit: 100 });
  return render(
    c,
    <SensitiveWordsPage
      {...view}
      words={page.data}
      cursor={cursor}
      nextCursor={page.nextCursor}
      canWrite={grants(caller.scopes, "content:write")}
      errors={view.errors ?? {}}
    />,
    httpStatus,
  );
}

/** An uploaded word list: one word a line, or `word,policy`; blank lines and `#` lines skipped. */
function wordsOfFile(text: string, policy: WordPolicy): { word: string; policy: WordPolicy }[] {
  return text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith("#"))
    .map((line) => {
      const comma = line.lastIndexOf(",");
      const named = comma > 0 ? oneOf(WORD_POLICIES, line.slice(comma + 1).trim()) : undefined;
      return named ? { word: line.slice(0, comma).trim(), policy: named } : { word: line, policy };
    });
}

export const contentPages = new Hono<AppEnv>()
  .get("/dashboard/templates", async (c) => {
    requirePermission(c, "templates:read");
    const caller = c.get("caller");
    const status = oneOf(REVIEW_STATUSES, c.req.query("status"));
    const kind = oneOf(TEMPLATE_KINDS, c.req.query("kind"));
    const cursor = cursorOf(c, TEMPLATE_ID);
    const page = await listTemplates(c.env, caller, { status, kind, cursor, limit: 50 });
    return render(
      c,
      <TemplatesPage
        templates={page.data}
        status={status}
        kind={kind}
        cursor={cursor}
        nextCursor={page.nextCursor}
        canWrite={grants(caller.scopes, "templates:write")}
      />,
    );
  })
  .get("/dashboard/templates/new", (c) => {
    requirePermission(c, "templates:write");
    return renderEditor(c, {});
  })
  // The live preview (htmx, as the user types): a fragment, not a page.
  .post("/dashboard/templates/preview", async (c) => {
    requirePermission(c, "templates:read");
    const draft = draftOfForm(await readForm(c));
    return render(c, <TemplatePreview {...(await previewOf(c, draft))} />);
  })
  .post("/dashboard/templates", async (c) => {
    const draft = draftOfForm(await readForm(c));
    return formAction(
      async () => {
        requirePermission(c, "templates:write");
        const record = await createTemplate(c.env, c.get("caller"), inputOfDraft(c, draft));
        setFlash(c, "ok", "templates.created", { name: record.template.name });
        return c.redirect(`/dashboard/templates/${record.template.id}`, 303);
      },
      (error) =>
        renderEditor(
          c,
          { draft, errors: fieldErrorsOf(error), notice: problemNotice(error) },
          formStatus(error),
        ),
    );
  })
  .get("/dashboard/templates/:id", (c) => renderEditor(c, { id: templateIdParam(c) }))
  .post("/dashboard/templates/:id", async (c) => {
    const id = templateIdParam(c);
    const draft = draftOfForm(await readForm(c));
    return formAction(
      async () => {
        requirePermission(c, "templates:write");
        await updateTemplate(c.env, c.get("caller"), id, inputOfDraft(c, draft));
        setFlash(c, "ok", "templates.saved", { name: draft.name });
        return c.redirect(`/dashboard/templates/${id}`, 303);
      },
      (error) =>
        renderEditor(
          c,
          {
            id,
            draft,
            errors: fieldErrorsOf(error),
            notice: problemNotice(error),
          },
          formStatus(error),
        ),
    );
  })
  .post("/dashboard/templates/:id/submit", async (c) => {
    const id = templateIdParam(c);
    await readForm(c);
    return formAction(
      async () => {
        requirePermission(c, "templates:write");
        const record = await submitTemplate(c.env, c.get("caller"), id);
        setFlash(c, "ok", "templates.submitted_flash", { name: record.template.name });
        return c.redirect(`/dashboard/templates/${id}`, 303);
      },
      (error) =>
        renderEditor(c, { id, errors: {}, notice: problemNotice(error) }, formStatus(error)),
    );
  })
  .post("/dashboard/templates/:id/delete", async (c) => {
    const id = templateIdParam(c);
    await readForm(c);
    return formAction(
      async () => {
        requirePermission(c, "templates:write");
        await deleteTemplate(c.env, c.get("caller"), id);
        setFlash(c, "ok", "templates.deleted", { id });
        return c.redirect("/dashboard/templates", 303);
      },
      (error) => renderEditor(c, { id, notice: problemNotice(error) }, formStatus(error)),
    );
  })
  .get("/dashboard/signatures", (c) => renderSignatures(c))
  .post("/dashboard/signatures", async (c) => {
    const name = fieldOf(await readForm(c), "name").trim();
    return formAction(
      async () => {
        requirePermission(c, "templates:write");
        const problem = signatureNameProblem(name);
        if (problem) {
          throw new ApiError("unprocessable-entity", `name ${problem}`, {
            errors: [{ pointer: "/name", detail: problem }],
          });
        }
        const { row } = await createSignature(c.env, c.get("caller"), name);
        setFlash(c, "ok", "signatures.created", { name: row.name });
        return c.redirect("/dashboard/signatures", 303);
      },
      (error) =>
        renderSignatures(
          c,
          {
            draftName: name,
            errors: fieldErrorsOf(error),
            notice: problemNotice(error),
          },
          formStatus(error),
        ),
    );
  })
  .post("/dashboard/signatures/:id/submit", async (c) => {
    const id = c.req.param("id");
    if (!SIGNATURE_ID.test(id)) {
      throw new ApiError("not-found", `No signature ${id}.`);
    }
    await readForm(c);
    return formAction(
      async () => {
        requirePermission(c, "templates:write");
        const { row } = await submitSignature(c.env, c.get("caller"), id);
        setFlash(c, "ok", "signatures.submitted", { name: row.name });
        return c.redirect("/dashboard/signatures", 303);
      },
      (error) => renderSignatures(c, { notice: problemNotice(error) }, formStatus(error)),
    );
  })
  .get("/dashboard/sensitive-words", (c) => renderWords(c))
  .post("/dashboard/sensitive-words", async (c) => {
    const form = await readForm(c);
    const draft = { word: fieldOf(form, "word"), policy: fieldOf(form, "policy") };
    return formAction(
      async () => {
        requirePermission(c, "content:write");
        const policy = oneOf(WORD_POLICIES, draft.policy);
        if (!policy) {
          throw new ApiError("unprocessable-entity", tOf(c)("common.form_errors"), {
            errors: [{ pointer: "/policy", detail: tOf(c)("templates.bad_kind") }],
          });
        }
        const row = await createSensitiveWord(c.env, c.get("caller"), {
          word: draft.word,
          policy,
        });
        setFlash(c, "ok", "words.added", { word: row.word });
        return c.redirect("/dashboard/sensitive-words", 303);
      },
      (error) =>
        renderWords(
          c,
          { draft, errors: fieldErrorsOf(error), notice: problemNotice(error) },
          formStatus(error),
        ),
    );
  })
  .post("/dashboard/sensitive-words/import", async (c) => {
    const form = await readForm(c);
    return formAction(
      async () => {
        requirePermission(c, "content:write");
        const t = tOf(c);
        const file = form.file;
        const policy = oneOf(WORD_POLICIES, fieldOf(form, "policy")) ?? "block";
        if (!(file instanceof File) || file.size === 0 || file.size > MAX_IMPORT_BYTES) {
          throw new ApiError("unprocessable-entity", t("words.bad_file"), {
            errors: [{ pointer: "/file", detail: t("words.bad_file") }],
          });
        }
        const words = wordsOfFile(await file.text(), policy);
        if (words.length === 0 || words.length > MAX_IMPORT) {
          throw new ApiError("unprocessable-entity", t("words.bad_file"), {
            errors: [{ pointer: "/file", detail: t("words.bad_file") }],
          });
        }
        const result = await importSensitiveWords(c.env, c.get("caller"), words);
        return renderWords(c, {
          imported: {
            imported: result.imported,
            updated: result.updated,
            unchanged: result.unchanged,
            rejected: result.rejected.map(
              (r) =>
                `${words[r.index]?.word ?? ""} (${t("words.line", { line: r.index + 1 })}): ${r.reason}`,
            ),
          },
        });
      },
      (error) =>
        renderWords(
          c,
          { errors: fieldErrorsOf(error), notice: problemNotice(error) },
          formStatus(error),
        ),
    );
  })
  .post("/dashboard/sensitive-words/check", async (c) => {
    const text = fieldOf(await readForm(c), "text");
    return formAction(
      async () => {
        requirePermission(c, "content:read");
        if (text.length === 0 || text.length > MAX_CHECKED_TEXT) {
          const detail = tOf(c)("words.bad_text");
          throw new ApiError("unprocessable-entity", detail, {
            errors: [{ pointer: "/text", detail }],
          });
        }
        const screening = await screenText(c.env, c.get("caller").tenant.id, text);
        return renderWords(c, { check: { text, screening } });
      },
      (error) =>
        renderWords(
          c,
          {
            check: { text },
            errors: fieldErrorsOf(error),
            notice: problemNotice(error),
          },
          formStatus(error),
        ),
    );
  });
