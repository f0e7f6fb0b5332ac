import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { hasOptOutLine } from "../../domain/opt-out";
import type { VariableDeclaration, VariableType } from "../../domain/vocabulary";
import { readProviderCodes, setProviderCodes } from "../../services/carriers/template-codes";
import * as reviews from "../../services/content/template-review";
import * as service from "../../services/content/templates";
import { idempotent } from "../../services/messaging/idempotency";
import { iso } from "../common";
import type * as routes from "./templates.routes";

/** A variable as sent and shown: `max_length` in snake_case. */
interface VariableBody {
  name: string;
  type: VariableType;
  max_length: number;
}

const declarationsOf = (variables: VariableBody[]): VariableDeclaration[] =>
  variables.map(({ name, type, max_length }) => ({ name, type, maxLength: max_length }));

function present({ template, latest }: service.TemplateRecord) {
  return {
    id: template.id,
    name: template.name,
    kind: template.kind,
    status: latest.status,
    version: latest.version,
    body: latest.body,
    variables: latest.variables.map(({ name, type, maxLength }) => ({
      name,
      type,
      max_length: maxLength,
    })),
    approved_version: template.approvedVersion,
    review_reason: latest.reviewReason,
    opt_out:
      template.kind === "marketing"
        ? hasOptOutLine(latest.body)
          ? ("in_body" as const)
          : ("added_at_send" as const)
        : null,
    submitted_at: iso(latest.submittedAt),
    reviewed_at: iso(latest.reviewedAt),
    created_at: new Date(template.createdAt).toISOString(),
    updated_at: new Date(template.updatedAt).toISOString(),
  };
}

export const createTemplate: RouteHandler<typeof routes.createTemplate, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId: caller.tenant.id,
      operation: "POST /v1/templates",
      key: c.req.valid("header")["idempotency-key"],
      request: input,
    },
    async () => {
      const record = await service.createTemplate(c.env, caller, {
        ...input,
        variables: declarationsOf(input.variables),
      });
      return { status: 201, body: present(record) };
    },
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const listTemplates: RouteHandler<typeof routes.listTemplates, AppEnv> = async (c) => {
  const page = await service.listTemplates(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const getTemplate: RouteHandler<typeof routes.getTemplate, AppEnv> = async (c) => {
  const record = await service.getTemplate(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(record), 200);
};

export const updateTemplate: RouteHandler<typeof routes.updateTemplate, AppEnv> = async (c) => {
  const { variables, ...rest } = c.req.valid("json");
  const record = await service.updateTemplate(c.env, c.get("caller"), c.req.valid("param").id, {
    ...rest,
    variables: variables && declarationsOf(variables),
  });
  return c.json(present(record), 200);
};

export const deleteTemplate: RouteHandler<typeof routes.deleteTemplate, AppEnv> = async (c) => {
  await service.deleteTemplate(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};

export const submitTemplate: RouteHandler<typeof routes.submitTemplate, AppEnv> = async (c) => {
  const record = await reviews.submitTemplate(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(record), 200);
};

export const approveTemplate: RouteHandler<typeof routes.approveTemplate, AppEnv> = async (c) => {
  const record = await reviews.approveTemplate(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(record), 200);
};

export const rejectTemplate: RouteHandler<typeof routes.rejectTemplate, AppEnv> = async (c) => {
  const { reason } = c.req.valid("json");
  const id = c.req.valid("param").id;
  const record = await reviews.rejectTemplate(c.env, c.get("caller"), id, reason);
  return c.json(present(record), 200);
};

export const getProviderCodes: RouteHandler<typeof routes.getProviderCodes, AppEnv> = async (c) =>
  c.json(await readProviderCodes(c.env, c.get("caller"), c.req.valid("param").id), 200);

export const putProviderCodes: RouteHandler<typeof routes.putProviderCodes, AppEnv> = async (c) =>
  c.json(
    await setProviderCodes(c.env, c.get("caller"), c.req.valid("param").id, c.req.valid("json")),
    200,
  );
