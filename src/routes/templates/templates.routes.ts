import { createRoute, z } from "@hono/zod-openapi";
import {
  CONTROL_CHARACTER_RULE,
  hasControlCharacter,
  isWellFormedText,
  MAX_LENGTH_BOUNDS,
  VARIABLE_NAME,
} from "../../domain/templates";
import { REVIEW_STATUSES, TEMPLATE_KINDS, VARIABLE_TYPES } from "../../domain/vocabulary";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { conflict, jsonBody, jsonResponse, listOf, problems } from "../openapi-helpers";
import { reviewRoutes } from "../review-routes";

const TemplateId = z.string().regex(/^tpl_[0-9A-Z]{26}$/, "must be a template id (tpl_…)");

const TemplateName = z.string().trim().min(1).max(100);

/** Rules across fields run only on fields that are each valid, so one mistake is one error. */
const onlyIfValidSoFar = (payload: { issues: readonly unknown[] }) => payload.issues.length === 0;

const TemplateBody = z
  .string()
  .max(1000)
  .refine((body) => body.trim().length > 0, "must not be empty")
  .refine((body) => !hasControlCharacter(body), CONTROL_CHARACTER_RULE)
  .refine(isWellFormedText, "must be well-formed text (no lone surrogate)")
  .openapi({
    description:
      "The text, with `{{name}}` placeholders (spaces inside the braces are allowed); every placeholder must be declared in `variables` and every variable used",
    example: "Your code is {{code}}; it expires in {{minutes}} minutes.",
  });

const VariableSchema = z
  .object({
    name: z
      .string()
      .max(50)
      .regex(VARIABLE_NAME, "must start with a lowercase letter or _ and hold only a–z, 0–9 and _"),
    type: z.enum(VARIABLE_TYPES).openapi({
      description:
        "`string`: text without control characters other than line feed, carriage return and form feed; `number`: decimal (JSON numbers accepted); `code`: letters and digits; `date`: ISO 8601 date or date-time; `url`: absolute http(s) URL",
    }),
    max_length: z
      .number()
      .int()
      .min(MAX_LENGTH_BOUNDS.min)
      .max(MAX_LENGTH_BOUNDS.max)
      .openapi({ description: "Characters of the value's text form" }),
  })
  .strict()
  .openapi("TemplateVariable");

const Variables = z.array(VariableSchema).max(20);

const Kind = z.enum(TEMPLATE_KINDS).openapi({
  description:
    "`marketing` messages wait out quiet hours and carry an opt-out line, which is added when sent if the text has none",
});

export const TemplateSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(TEMPLATE_KINDS),
    status: z.enum(REVIEW_STATUSES).openapi({ description: "The latest version's review status" }),
    version: z.number().int().openapi({ description: "The latest version" }),
    body: z.string().openapi({ description: "The latest version's text, as written" }),
    variables: z.array(VariableSchema),
    approved_version: z.number().int().nullable().openapi({
      description: "The version messages are sent with; null until one is approved",
    }),
    review_reason: z.string().nullable().openapi({
      description:
        "Why the latest version was rejected, or which words the screening flagged for the reviewer",
    }),
    opt_out: z.enum(["in_body", "added_at_send"]).nullable().openapi({
      description:
        "Marketing only: whether the body carries its own opt-out line, or one is appended when each message is sent (拒收请回复R to Chinese numbers, `Reply STOP to opt out` elsewhere; it counts in the length). Null for other kinds",
    }),
    submitted_at: z.string().nullable(),
    reviewed_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Template");

const REVIEW_FLOW =
  "Reviews go `draft → pending_review → approved | rejected`; only an approved version sends.";

export const createTemplate = createRoute({
  method: "post",
  path: "/v1/templates",
  operationId: "createTemplate",
  tags: ["Templates"],
  summary: "Create a template (version 1, a draft)",
  description: `${REVIEW_FLOW} Placeholders that are not declared, and declared variables that are not used, are refused with 422. Marketing bodies are kept as written: the opt-out line for the recipient's country is added when a message is sent if the text has none (see \`opt_out\`).`,
  security: bearerAuth,
  middleware: [requireScope("templates:write")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          name: TemplateName,
          kind: Kind,
          body: TemplateBody,
          variables: Variables.default([]),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(TemplateSchema, "Created as a draft"),
    ...problems(400, 401, 403, 415, 422, 429),
  },
});

export const listTemplates = createRoute({
  method: "get",
  path: "/v1/templates",
  operationId: "listTemplates",
  tags: ["Templates"],
  summary: "List templates, newest first",
  security: bearerAuth,
  middleware: [requireScope("templates:read")] as const,
  request: {
    query: z.object({
      status: z.enum(REVIEW_STATUSES).optional().openapi({ description: "Of the latest version" }),
      kind: z.enum(TEMPLATE_KINDS).optional(),
      limit: LimitQuery,
      cursor: TemplateId.optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(TemplateSchema), "A page of templates"),
    ...problems(400, 401, 403, 429),
  },
});

export const getTemplate = createRoute({
  method: "get",
  path: "/v1/templates/{id}",
  operationId: "getTemplate",
  tags: ["Templates"],
  summary: "Read a template",
  security: bearerAuth,
  middleware: [requireScope("templates:read")] as const,
  request: { params: z.object({ id: TemplateId }) },
  responses: {
    200: jsonResponse(TemplateSchema, "The template with its latest version"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const updateTemplate = createRoute({
  method: "patch",
  path: "/v1/templates/{id}",
  operationId: "updateTemplate",
  tags: ["Templates"],
  summary: "Change a template",
  description:
    "Send at least one field. A new `body` or `variables` edits the latest version: a draft or rejected version is changed in place and becomes a draft again; an approved one gets a new version, a draft, while the approved version keeps sending until the new one is approved. While a version is pending_review its text can't change (409). `name` changes at once and needs no review; `kind` can't change once a version has been approved (409).",
  security: bearerAuth,
  middleware: [requireScope("templates:write")] as const,
  request: {
    params: z.object({ id: TemplateId }),
    body: jsonBody(
      z
        .object({
          name: TemplateName.optional(),
          kind: Kind.optional(),
          body: TemplateBody.optional(),
          variables: Variables.optional(),
        })
        .strict()
        .refine((body) => Object.keys(body).length > 0, {
          message: "send at least one of `name`, `kind`, `body` and `variables`",
          when: onlyIfValidSoFar,
        })
        .openapi({ minProperties: 1 }),
    ),
  },
  responses: {
    200: jsonResponse(TemplateSchema, "The template as changed"),
    ...problems(400, 401, 403, 404, 415, 422, 429),
    ...conflict("The latest version is pending review, or the kind of an approved template"),
  },
});

export const deleteTemplate = createRoute({
  method: "delete",
  path: "/v1/templates/{id}",
  operationId: "deleteTemplate",
  tags: ["Templates"],
  summary: "Delete a template and all its versions",
  description: "Messages already accepted are sent as they were; new sends with it get 422.",
  security: bearerAuth,
  middleware: [requireScope("templates:write")] as const,
  request: { params: z.object({ id: TemplateId }) },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 429),
  },
});

export const {
  submit: submitTemplate,
  approve: approveTemplate,
  reject: rejectTemplate,
} = reviewRoutes({
  path: "/v1/templates/{id}",
  tag: "Templates",
  noun: "Template",
  params: z.object({ id: TemplateId }),
  item: TemplateSchema,
  subject: "The latest version",
  submit: {
    summary: "Submit the latest version for review",
    description: `${REVIEW_FLOW} The body is screened for sensitive words: a blocked word refuses the submission with 422 (its \`hits\` list each word and where it is) and the template stays as it was; words that need a reviewer's look are named in \`review_reason\`.`,
  },
  approve: { summary: "Approve the version pending review: it becomes the one that sends" },
  reject: {
    summary: "Reject the version pending review, with the reason",
    description:
      "A rejected version can be edited and submitted again; an approved one keeps sending.",
  },
});

const ProviderCodes = z
  .object({
    aliyun: z
      .string()
      .regex(/^SMS_\d{1,20}$/, "an Aliyun template code, e.g. SMS_154950909")
      .nullable()
      .optional(),
    tencent: z
      .string()
      .regex(/^\d{1,20}$/, "a Tencent TemplateId, digits")
      .nullable()
      .optional(),
  })
  .strict()
  .openapi("TemplateProviderCodes", {
    description:
      "The template's code at providers that send only their own approved templates; null removes one",
  });

export const getProviderCodes = createRoute({
  method: "get",
  path: "/v1/templates/{id}/provider-codes",
  operationId: "getTemplateProviderCodes",
  tags: ["Templates"],
  summary: "The template's codes at Aliyun and Tencent",
  security: bearerAuth,
  middleware: [requireScope("templates:read")] as const,
  request: { params: z.object({ id: TemplateId }) },
  responses: {
    200: jsonResponse(ProviderCodes, "The codes"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const putProviderCodes = createRoute({
  method: "put",
  path: "/v1/templates/{id}/provider-codes",
  operationId: "setTemplateProviderCodes",
  tags: ["Templates"],
  summary: "Map the template to its approved template at Aliyun or Tencent",
  description:
    "Aliyun and Tencent send only templates approved in their own consoles, with the variables as parameters (Tencent's in the order the template declares them). A message from this template can go to one of them only once it has a code there; a free-text message never does.",
  security: bearerAuth,
  middleware: [requireScope("templates:write")] as const,
  request: {
    params: z.object({ id: TemplateId }),
    body: jsonBody(ProviderCodes),
  },
  responses: {
    200: jsonResponse(ProviderCodes, "The codes"),
    ...problems(400, 401, 403, 404, 415, 429),
  },
});
