import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as service from "../../services/content/signatures";
import { idempotent } from "../../services/messaging/idempotency";
import { iso } from "../common";
import type * as routes from "./signatures.routes";

function present({ row, isDefault }: service.SignatureRecord) {
  return {
    id: row.id,
    name: row.name,
    text: service.signatureText(row.name),
    status: row.status,
    default: isDefault,
    review_reason: row.reviewReason,
    submitted_at: iso(row.submittedAt),
    reviewed_at: iso(row.reviewedAt),
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

export const createSignature: RouteHandler<typeof routes.createSignature, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId: caller.tenant.id,
      operation: "POST /v1/signatures",
      key: c.req.valid("header")["idempotency-key"],
      request: input,
    },
    async () => {
      const record = await service.createSignature(c.env, caller, input.name);
      return { status: 201, body: present(record) };
    },
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const listSignatures: RouteHandler<typeof routes.listSignatures, AppEnv> = async (c) => {
  const page = await service.listSignatures(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const getSignature: RouteHandler<typeof routes.getSignature, AppEnv> = async (c) => {
  const record = await service.getSignature(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(record), 200);
};

export const deleteSignature: RouteHandler<typeof routes.deleteSignature, AppEnv> = async (c) => {
  await service.deleteSignature(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};

export const submitSignature: RouteHandler<typeof routes.submitSignature, AppEnv> = async (c) => {
  const record = await service.submitSignature(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(record), 200);
};

export const approveSignature: RouteHandler<typeof routes.approveSignature, AppEnv> = async (c) => {
  const record = await service.approveSignature(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(present(record), 200);
};

export const rejectSignature: RouteHandler<typeof routes.rejectSignature, AppEnv> = async (c) => {
  const { reason } = c.req.valid("json");
  const id = c.req.valid("param").id;
  const record = await service.rejectSignature(c.env, c.get("caller"), id, reason);
  return c.json(present(record), 200);
};

export const setDefaultSignature: RouteHandler<typeof routes.setDefaultSignature, AppEnv> = async (
  c,
) => {
  const id = c.req.valid("param").id;
  const record = await service.setDefaultSignature(c.env, c.get("caller"), id);
  return c.json(present(record), 200);
};
