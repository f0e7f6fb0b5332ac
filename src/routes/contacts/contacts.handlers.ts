import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as service from "../../services/contacts/contacts";
import { idempotent } from "../../services/messaging/idempotency";
import { createOAuthLink as makeOAuthLink } from "../../services/wechat/oauth";
import type * as routes from "./contacts.routes";

function present(contact: service.Contact) {
  return {
    id: contact.id,
    external_id: contact.externalId,
    name: contact.name,
    phone: contact.phone,
    wechat: contact.wechat.map((binding) => ({
      app_id: binding.appId,
      openid: binding.openid,
      source: binding.source,
      created_at: new Date(binding.createdAt).toISOString(),
    })),
    created_at: new Date(contact.createdAt).toISOString(),
    updated_at: new Date(contact.updatedAt).toISOString(),
  };
}

export const createContact: RouteHandler<typeof routes.createContact, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const input = c.req.valid("json");
  const response = await idempotent(
    c.env,
    {
      tenantId: caller.tenant.id,
      operation: "POST /v1/contacts",
      key: c.req.valid("header")["idempotency-key"],
      request: input,
    },
    async () => ({
      status: 201,
      body: present(await service.createContact(c.env, caller, input)),
    }),
  );
  if (response.replayed) {
    c.header("Idempotent-Replayed", "true");
  }
  return c.json(response.body, 201);
};

export const listContacts: RouteHandler<typeof routes.listContacts, AppEnv> = async (c) => {
  const page = await service.listContacts(c.env, c.get("caller"), c.req.valid("query"));
  return c.json({ data: page.data.map(present), next_cursor: page.nextCursor }, 200);
};

export const getContact: RouteHandler<typeof routes.getContact, AppEnv> = async (c) => {
  const contact = await service.getContact(
    c.env,
    c.get("caller"),
    c.req.valid("param").external_id,
  );
  return c.json(present(contact), 200);
};

export const updateContact: RouteHandler<typeof routes.updateContact, AppEnv> = async (c) => {
  const contact = await service.updateContact(
    c.env,
    c.get("caller"),
    c.req.valid("param").external_id,
    c.req.valid("json"),
  );
  return c.json(present(contact), 200);
};

export const deleteContact: RouteHandler<typeof routes.deleteContact, AppEnv> = async (c) => {
  await service.deleteContact(c.env, c.get("caller"), c.req.valid("param").external_id);
  return c.body(null, 204);
};

export const unbindWeChat: RouteHandler<typeof routes.unbindWeChat, AppEnv> = async (c) => {
  const { external_id, app_id } = c.req.valid("param");
  await service.unbindWeChat(c.env, c.get("caller"), external_id, app_id);
  return c.body(null, 204);
};

export const createOAuthLink: RouteHandler<typeof routes.createOAuthLink, AppEnv> = async (c) => {
  const { external_id, app_id } = c.req.valid("param");
  const link = await makeOAuthLink(
    c.env,
    c.get("caller"),
    external_id,
    app_id,
    c.req.valid("json"),
  );
  return c.json({ url: link.url, expires_at: new Date(link.expiresAt).toISOString() }, 200);
};
