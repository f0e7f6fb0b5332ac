/**
 * The review routes templates and signatures share (domain/review.ts's workflow): submit for
 * review, approve, reject with a reason. Each resource says what it reviews and in which words;
 * the paths, scopes, bodies and answers are the same for both. The handlers stay with each
 * resource, as they call its own service.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../middleware/api-key";
import { bearerAuth } from "./common";
import { conflict, jsonBody, jsonResponse, problems } from "./openapi-helpers";

/** The body of a rejection. */
const RejectBody = z.object({ reason: z.string().trim().min(1).max(500) }).strict();

/** What one review step's operation says about itself. */
interface StepTexts {
  summary: string;
  description?: string;
}

interface ReviewRoutesSpec<
  Path extends string,
  Params extends z.ZodObject<{ id: z.ZodString }>,
  Item extends z.ZodType,
> {
  /** The reviewed resource's path, e.g. `/v1/templates/{id}`. */
  path: Path;
  tag: string;
  /** The resource's name in operationIds: "Template" gives submitTemplate, approveTemplate… */
  noun: string;
  params: Params;
  /** The resource as every step answers it. */
  item: Item;
  /** What a step acts on, for its 409: "The latest version", "The signature". */
  subject: string;
  submit: StepTexts;
  approve: StepTexts;
  reject: StepTexts;
}

export function reviewRoutes<
  Path extends string,
  Params extends z.ZodObject<{ id: z.ZodString }>,
  Item extends z.ZodType,
>(spec: ReviewRoutesSpec<Path, Params, Item>) {
  const { path, tag, noun, params, item, subject } = spec;
  const submit = createRoute({
    method: "post",
    path: `${path}/submit`,
    operationId: `submit${noun}`,
    tags: [tag],
    summary: spec.submit.summary,
    description: spec.submit.description,
    security: bearerAuth,
    middleware: [requireScope("templates:write")] as const,
    request: { params },
    responses: {
      200: jsonResponse(item, "Pending review"),
      ...problems(400, 401, 403, 404, 422, 429),
      ...conflict(`${subject} is not a draft or rejected`),
    },
  });
  const approve = createRoute({
    method: "post",
    path: `${path}/approve`,
    operationId: `approve${noun}`,
    tags: [tag],
    summary: spec.approve.summary,
    description: spec.approve.description,
    security: bearerAuth,
    middleware: [requireScope("templates:review")] as const,
    request: { params },
    responses: {
      200: jsonResponse(item, "Approved"),
      ...problems(400, 401, 403, 404, 429),
      ...conflict(`${subject} is not pending review`),
    },
  });
  const reject = createRoute({
    method: "post",
    path: `${path}/reject`,
    operationId: `reject${noun}`,
    tags: [tag],
    summary: spec.reject.summary,
    description: spec.reject.description,
    security: bearerAuth,
    middleware: [requireScope("templates:review")] as const,
    request: { params, body: jsonBody(RejectBody) },
    responses: {
      200: jsonResponse(item, "Rejected"),
      ...problems(400, 401, 403, 404, 415, 429),
      ...conflict(`${subject} is not pending review`),
    },
  });
  return { submit, approve, reject };
}
