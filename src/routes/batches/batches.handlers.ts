import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as reads from "../../services/messaging/batch-reads";
import { acceptBatch } from "../../services/messaging/batches";
import * as cancel from "../../services/messaging/cancel";
import { iso } from "../common";
import type * as routes from "./batches.routes";

function present(record: reads.BatchRecord) {
  return {
    id: record.id,
    kind: record.kind,
    template_id: record.templateId,
    template_version: record.templateVersion,
    accepted: record.accepted,
    // The same name and meaning as in the 202 (which also lists the rows).
    rejected_count: record.rejected,
    send_at: new Date(record.sendAt).toISOString(),
    created_at: new Date(record.createdAt).toISOString(),
    canceled_at: iso(record.canceledAt),
  };
}

function presentView(view: reads.BatchView) {
  return { ...present(view.record), status: view.status, counts: view.counts };
}

export const createBatch: RouteHandler<typeof routes.createBatch, AppEnv> = async (c) => {
  const { replayed, batch } = await acceptBatch(
    c.env,
    c.get("caller"),
    c.req.valid("json"),
    c.req.valid("header")["idempotency-key"],
  );
  if (replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  c.header("Location", `/v1/batches/${batch.id}`);
  return c.json(batch, 202);
};

export const getBatch: RouteHandler<typeof routes.getBatch, AppEnv> = async (c) => {
  const view = await reads.getBatch(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(presentView(view), 200);
};

export const listBatches: RouteHandler<typeof routes.listBatches, AppEnv> = async (c) => {
  const page = await reads.listBatches(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const cancelBatch: RouteHandler<typeof routes.cancelBatch, AppEnv> = async (c) => {
  const view = await cancel.cancelBatch(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(presentView(view), 200);
};
