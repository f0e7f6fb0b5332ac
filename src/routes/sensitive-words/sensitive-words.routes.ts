import { createRoute, z } from "@hono/zod-openapi";
import { checkWord, MAX_WORD_LENGTH, WORD_POLICIES } from "../../domain/sensitive-words";
import { requireScope } from "../../middleware/api-key";
import { MAX_IMPORT } from "../../services/content/tenant-lexicon";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { conflict, jsonBody, jsonResponse, listOf, problems } from "../openapi-helpers";

const TAG = "Sensitive words";
export const MAX_CHECKED_TEXT = 10_000;

const SensitiveWordId = z.string().regex(/^sw_[0-9A-Z]{26}$/, "must be a sensitive word id (sw_…)");

const Policy = z.enum(WORD_POLICIES).openapi({
  description:
    "`block`: a text holding the word is refused (422); `review`: a person must approve it (a template goes to review, a free text is held back); `mask`: the word is sent as `*`",
});

const Word = z
  .string()
  .superRefine((word, ctx) => {
    const checked = checkWord(word);
    if (!checked.ok) {
      ctx.addIssue({ code: "custom", message: checked.reason });
    }
  })
  .openapi({
    description: `1–${MAX_WORD_LENGTH} characters, no control characters; trimmed and stored folded (lower case, half width), as matching ignores case and width`,
    example: "代开发票",
  });

export const SensitiveWordSchema = z
  .object({
    id: z.string(),
    word: z.string(),
    policy: Policy,
    created_at: z.string(),
  })
  .openapi("SensitiveWord");

export const SensitiveHitSchema = z
  .object({
    word: z.string().openapi({ description: "The lexicon's word" }),
    category: z.string().nullable().openapi({ description: "The default lexicon's category" }),
    policy: Policy,
    start: z.number().int().openapi({ description: "UTF-16 offset of its first character" }),
    end: z.number().int().openapi({ description: "UTF-16 offset past its last character" }),
    source: z.enum(["default", "tenant"]),
  })
  .openapi("SensitiveHit", {
    description:
      "A word found in a text: noise between its characters (spaces, punctuation, symbols, emoji, zero-width characters) is skipped, and its span covers it",
  });

export const listSensitiveWords = createRoute({
  method: "get",
  path: "/v1/sensitive-words",
  operationId: "listSensitiveWords",
  tags: [TAG],
  summary: "List your own sensitive words, newest first (the built-in lexicon is not listed)",
  security: bearerAuth,
  middleware: [requireScope("content:read")] as const,
  request: { query: z.object({ limit: LimitQuery, cursor: SensitiveWordId.optional() }) },
  responses: {
    200: jsonResponse(listOf(SensitiveWordSchema), "A page of words"),
    ...problems(400, 401, 403, 429),
  },
});

export const createSensitiveWord = createRoute({
  method: "post",
  path: "/v1/sensitive-words",
  operationId: "createSensitiveWord",
  tags: [TAG],
  summary: "Add a word to your lexicon",
  description:
    "A word of yours replaces the built-in entry with the same folded word (to make a built-in word `mask` instead of `block`, say). A word already in your lexicon is a 409: import it to change its policy.",
  security: bearerAuth,
  middleware: [requireScope("content:write")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(z.object({ word: Word, policy: Policy }).strict()),
  },
  responses: {
    201: jsonResponse(SensitiveWordSchema, "Added"),
    ...problems(400, 401, 403, 415, 422, 429),
    ...conflict("The word is already in your lexicon"),
  },
});

export const importSensitiveWords = createRoute({
  method: "post",
  path: "/v1/sensitive-words/import",
  operationId: "importSensitiveWords",
  tags: [TAG],
  summary: `Add up to ${MAX_IMPORT.toLocaleString("en-US")} words, or change their policies`,
  description:
    "Words already in your lexicon take the policy sent. A word that breaks the rules (empty, too long, control characters) or repeats an earlier one of the request is rejected by its index; the others are imported, all at once. A lexicon holds at most 20,000 words.",
  security: bearerAuth,
  middleware: [requireScope("content:write")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          words: z
            .array(z.object({ word: z.string(), policy: Policy }).strict())
            .min(1)
            .max(MAX_IMPORT),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          imported: z.number().int().openapi({ description: "Words added" }),
          updated: z.number().int().openapi({ description: "Words whose policy changed" }),
          unchanged: z
            .number()
            .int()
            .openapi({ description: "Words already there with that policy" }),
          rejected: z.array(z.object({ index: z.number().int(), reason: z.string() })),
        })
        .openapi("SensitiveWordImport"),
      "What was imported",
    ),
    ...problems(400, 401, 403, 413, 415, 422, 429),
  },
});

export const checkText = createRoute({
  method: "post",
  path: "/v1/sensitive-words/check",
  operationId: "checkSensitiveWords",
  tags: [TAG],
  summary: "Screen a text against the built-in lexicon and yours, as a send would",
  security: bearerAuth,
  middleware: [requireScope("content:read", "query")] as const,
  request: {
    body: jsonBody(z.object({ text: z.string().min(1).max(MAX_CHECKED_TEXT) }).strict()),
  },
  responses: {
    200: jsonResponse(
      z
        .object({
          verdict: z.enum(["allow", "review", "block"]).openapi({
            description: "`block` if any hit is `block`, else `review` if any is, else `allow`",
          }),
          hits: z.array(SensitiveHitSchema),
          masked: z.string().openapi({ description: "The text with `mask` words starred" }),
        })
        .openapi("Screening"),
      "The verdict, each word found and the text as it would be sent",
    ),
    ...problems(400, 401, 403, 415, 429),
  },
});

export const deleteSensitiveWord = createRoute({
  method: "delete",
  path: "/v1/sensitive-words/{id}",
  operationId: "deleteSensitiveWord",
  tags: [TAG],
  summary: "Remove a word from your lexicon (effective everywhere within 30 s)",
  security: bearerAuth,
  middleware: [requireScope("content:write")] as const,
  request: { params: z.object({ id: SensitiveWordId }) },
  responses: {
    204: { description: "Removed" },
    ...problems(400, 401, 403, 404, 429),
  },
});
