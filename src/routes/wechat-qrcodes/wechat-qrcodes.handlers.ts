import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import type { QrAction } from "../../domain/wechat-qrcodes";
import { qrImageUrl } from "../../domain/wechat-qrcodes";
import * as qrcodes from "../../services/wechat/qrcodes";
import { iso } from "../common";
import { once } from "../once";
import type * as routes from "./wechat-qrcodes.routes";

function present(row: qrcodes.QrCodeRow) {
  return {
    id: row.id,
    app_id: row.appId,
    scene: row.scene,
    scene_str: row.sceneStr,
    temporary: row.temporary,
    action: row.action ?? null,
    ticket: row.ticket,
    url: row.url,
    image_url: qrImageUrl(row.ticket),
    expires_at: iso(row.expiresAt),
    used_by: row.usedBy,
    used_at: iso(row.usedAt),
    created_at: new Date(row.createdAt).toISOString(),
  };
}

type ActionInput =
  | { bind_contact: string }
  | { auto_reply: Record<string, unknown> }
  | { tag_id: number };

function actionOf(input: ActionInput | undefined): QrAction | undefined {
  if (!input) {
    return undefined;
  }
  if ("bind_contact" in input) {
    return { type: "bind_contact", external_id: input.bind_contact };
  }
  if ("auto_reply" in input) {
    return { type: "auto_reply", reply: input.auto_reply };
  }
  return { type: "tag", tag_id: input.tag_id };
}

export const createQrCode: RouteHandler<typeof routes.createQrCode, AppEnv> = async (c) => {
  const { app_id } = c.req.valid("param");
  const input = c.req.valid("json");
  const { body } = await once(c, `POST /v1/wechat/apps/${app_id}/qrcodes`, input, async () => ({
    status: 201,
    body: present(
      await qrcodes.createQrCode(c.env, c.get("caller"), app_id, {
        scene: input.scene,
        temporary: input.temporary,
        expire_seconds: input.expire_seconds,
        action: actionOf(input.action),
      }),
    ),
  }));
  return c.json(body, 201);
};

export const listQrCodes: RouteHandler<typeof routes.listQrCodes, AppEnv> = async (c) => {
  const rows = await qrcodes.listQrCodes(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    c.req.valid("query").limit,
  );
  return c.json({ data: rows.map(present), next_cursor: null }, 200);
};
