import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as library from "../../services/wechat/template-library";
import type * as routes from "./wechat-templates.routes";

export const listTemplates: RouteHandler<typeof routes.listTemplates, AppEnv> = async (c) => {
  const templates = await library.listAccountTemplates(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
  );
  const data = templates.map((t) => ({
    template_id: t.templateId,
    title: t.title,
    content: t.content,
    example: t.example,
    primary_industry: t.primaryIndustry,
    deputy_industry: t.deputyIndustry,
  }));
  return c.json({ data, next_cursor: null }, 200);
};

export const addTemplate: RouteHandler<typeof routes.addTemplate, AppEnv> = async (c) => {
  const input = c.req.valid("json");
  const added = await library.addAccountTemplate(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    {
      templateIdShort: input.template_id_short,
      keywordNames: input.keyword_names,
    },
  );
  return c.json({ template_id: added.templateId }, 201);
};

export const deleteTemplate: RouteHandler<typeof routes.deleteTemplate, AppEnv> = async (c) => {
  const { app_id, template_id } = c.req.valid("param");
  await library.deleteAccountTemplate(c.env, c.get("caller"), app_id, template_id);
  return c.body(null, 204);
};
