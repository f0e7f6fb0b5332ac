import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import { screenText } from "../../services/content/sensitive-words";
import * as service from "../../services/content/tenant-lexicon";
import { idempotent } from "../../services/messaging/idempotency";
import type * as routes from "./sensitive-words.routes";

function present(row: service.SensitiveWordRow) {
  return {
    id: row.id,
    word: row.word,
    policy: row.policy,
    created_at: new Date(row.createdAt).toISOString(),
  };
}

export const listSensitiveWords: RouteHandler<typeof routes.listSensitiveWords, AppEnv> = async (
  c,
) => {
  const tenantId = c.get("caller").tenant.id;
  const page = await service.listSensitiveWords(c.env, tenantId, c.req.valid("query"));
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const createSensitiveWord: RouteHandler<typeof routes.createSensitiveWord, AppEnv> = async (
  c,
) => {
  const tenantId = c.get("caller").tenant.id;
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId,
      operation: "POST /v1/sensitive-words",
      key: c.req.valid("header")["idempotency-key"],
      request: input,
    },
    async () => {
      const row = await service.createSensitiveWord(c.env, c.get("caller"), input);
      return { status: 201, body: present(row) };
    },
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const importSensitiveWords: RouteHandler<
  typeof routes.importSensitiveWords,
  AppEnv
> = async (c) => {
  const tenantId = c.get("caller").tenant.id;
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId,
      operation: "POST /v1/sensitive-words/import",
      key: c.req.valid("header")["idempotency-key"],
      request: input,
    },
    async () => ({
      status: 200,
      body: await service.importSensitiveWords(c.env, c.get("caller"), input.words),
    }),
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 200);
};

export const checkText: RouteHandler<typeof routes.checkText, AppEnv> = async (c) => {
  const tenantId = c.get("caller").tenant.id;
  const screening = await screenText(c.env, tenantId, c.req.valid("json").text);
  return c.json(screening, 200);
};

export const deleteSensitiveWord: RouteHandler<typeof routes.deleteSensitiveWord, AppEnv> = async (
  c,
) => {
  await service.deleteSensitiveWord(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};
