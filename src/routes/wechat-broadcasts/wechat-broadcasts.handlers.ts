import type { RouteHandler, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import type { BroadcastTarget, TemplateContent } from "../../domain/wechat-broadcast";
import * as broadcasts from "../../services/wechat/broadcasts";
import { iso } from "../common";
import { once } from "../once";
import type * as routes from "./wechat-broadcasts.routes";

function targetOf(target: z.infer<typeof routes.CreateBody>["target"]): BroadcastTarget {
  if (target === "all") {
    return { kind: "all" };
  }
  return "tag_id" in target
    ? { kind: "tag", tag_id: target.tag_id }
    : { kind: "openids", openids: target.openids };
}

function presentTarget(target: Record<string, unknown>) {
  const t = target as BroadcastTarget;
  return t.kind === "all"
    ? "all"
    : t.kind === "tag"
      ? { tag_id: t.tag_id }
      : { openids: t.openids };
}

const sum = (values: (number | null)[]) =>
  values.length === 0 || values.some((v) => v === null)
    ? null
    : values.reduce<number>((a, v) => a + (v ?? 0), 0);

export function presentBroadcast(view: broadcasts.BroadcastView) {
  const { row } = view;
  const content = row.content as {
    text?: string;
    media_ids?: string[];
    template?: TemplateContent;
  };
  if (row.type === "template") {
    const finished = row.status !== "sending" && row.fanoutListed === true;
    return {
      ...presentMass(view, content),
      finished,
      total: row.fanoutTotal,
      after_filter: null,
      sent: row.fanoutSent,
      errors: row.fanoutErrors,
    };
  }
  return presentMass(view, content);
}

function presentMass(
  { row, jobs }: broadcasts.BroadcastView,
  content: { text?: string; media_ids?: string[]; template?: TemplateContent },
) {
  const finished = jobs.length > 0 && jobs.every((job) => job.finishedAt !== null);
  return {
    id: row.id,
    app_id: row.appId,
    target: presentTarget(row.target),
    type: row.type as z.infer<typeof routes.BroadcastSchema>["type"],
    text: content.text ?? null,
    media_ids: content.media_ids ?? null,
    template: content.template ?? null,
    status: row.status,
    review_reason: row.reviewReason,
    failure: row.failure,
    msg_ids: jobs.map((job) => job.msgId),
    finished,
    total: finished ? sum(jobs.map((j) => j.total)) : null,
    after_filter: finished ? sum(jobs.map((j) => j.afterFilter)) : null,
    sent: finished ? sum(jobs.map((j) => j.sent)) : null,
    errors: finished ? sum(jobs.map((j) => j.errors)) : null,
    created_at: new Date(row.createdAt).toISOString(),
    sent_at: iso(row.sentAt),
    canceled_at: iso(row.canceledAt),
  };
}

export const createBroadcast: RouteHandler<typeof routes.createBroadcast, AppEnv> = async (c) => {
  const { app_id } = c.req.valid("param");
  const input = c.req.valid("json");
  const { body } = await once(c, `POST /v1/wechat/apps/${app_id}/broadcasts`, input, async () => ({
    status: 201,
    body: presentBroadcast(
      await broadcasts.createBroadcast(c.env, c.get("caller"), app_id, {
        ...input,
        target: targetOf(input.target),
      }),
    ),
  }));
  return c.json(body, 201);
};

export const previewBroadcast: RouteHandler<typeof routes.previewBroadcast, AppEnv> = async (c) => {
  const answer = await broadcasts.previewBroadcast(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    c.req.valid("json"),
  );
  return c.json(answer, 200);
};

export const listBroadcasts: RouteHandler<typeof routes.listBroadcasts, AppEnv> = async (c) => {
  const { app_id } = c.req.valid("param");
  const page = await broadcasts.listBroadcasts(
    c.env,
    c.get("caller"),
    app_id,
    c.req.valid("query"),
  );
  const quota = await broadcasts.getQuota(c.env, c.get("caller"), app_id);
  return c.json(
    {
      data: page.data.map(presentBroadcast),
      next_cursor: page.nextCursor,
      quota,
    },
    200,
  );
};

export const getBroadcast: RouteHandler<typeof routes.getBroadcast, AppEnv> = async (c) => {
  const { app_id, id } = c.req.valid("param");
  return c.json(
    presentBroadcast(await broadcasts.getBroadcast(c.env, c.get("caller"), app_id, id)),
    200,
  );
};

export const cancelBroadcast: RouteHandler<typeof routes.cancelBroadcast, AppEnv> = async (c) => {
  const { app_id, id } = c.req.valid("param");
  return c.json(
    presentBroadcast(await broadcasts.cancelBroadcast(c.env, c.get("caller"), app_id, id)),
    200,
  );
};

export const approveBroadcast: RouteHandler<typeof routes.approveBroadcast, AppEnv> = async (c) => {
  const { app_id, id } = c.req.valid("param");
  return c.json(
    presentBroadcast(await broadcasts.approveBroadcast(c.env, c.get("caller"), app_id, id)),
    200,
  );
};

export const rejectBroadcast: RouteHandler<typeof routes.rejectBroadcast, AppEnv> = async (c) => {
  const { app_id, id } = c.req.valid("param");
  const { reason } = c.req.valid("json");
  return c.json(
    presentBroadcast(await broadcasts.rejectBroadcast(c.env, c.get("caller"), app_id, id, reason)),
    200,
  );
};
