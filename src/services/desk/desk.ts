/**
 * The service desk's use cases for the API and the dashboard: agents (status, skills, capacity,
 * load), the queues, and a conversation's assignment, transfer, resolution, notes and replies.
 * Every decision is the tenant's desk object's (durable-objects/desk); here the caller is checked
 * (an agent changes only itself and takes conversations for itself; `desk:supervise` does the
 * rest), the change is audited, and the answer is shaped.
 */
import { and, asc, eq, inArray } from "drizzle-orm";
import { database } from "../../db/client";
import { contacts, conversationEvents, roles, users } from "../../db/schema";
import { deskOf, recordConversationEvent } from "../../delivery/desk";
import { diffOf } from "../../domain/audit-chain";
import { actorOf, type Caller } from "../../domain/caller";
import type { AgentStatus, DeskState } from "../../domain/desk";
import { grants, isBuiltInRole, permissionsOfRole } from "../../domain/permissions";
import { SERVICE_WINDOWS } from "../../domain/service-windows";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { bindingsOf } from "../contacts/bindings";
import { type ConversationRow, getConversation } from "../conversations/conversations";
import { appOfFollower, type Reply, replyInConversation } from "../conversations/replies";
import { acceptWeChatMessage } from "../wechat/messages";
import { deskSettingsFor } from "./intake";

export interface AgentRow {
  userId: string;
  email: string;
  role: string;
  skills: string[];
  capacity: number;
  status: AgentStatus;
  load: number;
  idleSince: number;
  conversations: string[];
}

function userIdOf(caller: Caller): string | null {
  const actor = actorOf(caller);
  return actor.type === "user" ? actor.id : null;
}

function supervises(caller: Caller): boolean {
  return grants(caller.scopes, "desk:supervise");
}

/**
 * An agent acts on a conversation that is nobody's or their own; one that another agent holds
 * (assigned, or pending with them) is only a supervisor's to act on.
 */
function mustNotBeAnothers(
  caller: Caller,
  conversation: { deskState: DeskState; agentId: string | null },
): void {
  const held = conversation.deskState === "assigned" || conversation.deskState === "pending";
  if (
    held &&
    !supervises(caller) &&
    conversation.agentId !== null &&
    conversation.agentId !== userIdOf(caller)
  ) {
    throw new ApiError("forbidden", "Another agent has this conversation.");
  }
}

function refusal(result: { code: "conflict" | "not-found"; detail: string }): ApiError {
  return new ApiError(result.code, result.detail);
}

async function tenantUsers(env: Env, tenantId: string, ids?: string[]) {
  return database(env.DB)
    .select({ id: users.id, email: users.email, role: users.role, status: users.status })
    .from(users)
    .where(
      ids
        ? and(eq(users.tenantId, tenantId), inArray(users.id, ids))
        : eq(users.tenantId, tenantId),
    );
}

/** Whether a role (built-in, or the tenant's custom `rol_…`) holds `desk:work`. */
async function worksAtDesk(env: Env, tenantId: string, role: string): Promise<boolean> {
  const custom = isBuiltInRole(role)
    ? null
    : await database(env.DB)
        .select({ permissions: roles.permissions })
        .from(roles)
        .where(and(eq(roles.tenantId, tenantId), eq(roles.id, role)))
        .get();
  return grants(permissionsOfRole(role, custom?.permissions), "desk:work");
}

/** The desk's agents with their load, named from the tenant's users. */
export async function listAgents(env: Env, caller: Caller): Promise<AgentRow[]> {
  const agents = await deskOf(env, caller.tenant.id).agents();
  if (agents.length === 0) {
    return [];
  }
  const people = new Map(
    (await tenantUsers(env, caller.tenant.id, agents.map((a) => a.userId).slice(0, 90))).map(
      (u) => [u.id, u],
    ),
  );
  return agents.flatMap((a) => {
    const user = people.get(a.userId);
    return user ? [{ ...a, email: user.email, role: user.role }] : [];
  });
}

export interface AgentChange {
  status?: AgentStatus;
  skills?: string[];
  capacity?: number;
}

/**
 * Sets an agent's status, skills or capacity (the user becomes an agent on first change). An
 * agent may set its own status; the rest, and anyone else's, needs `desk:supervise`.
 */
export async function updateAgent(
  env: Env,
  caller: Caller,
  userId: string,
  change: AgentChange,
  now: number = Date.now(),
): Promise<AgentRow> {
  const [user] = await tenantUsers(env, caller.tenant.id, [userId]);
  if (!user || user.status === "disabled") {
    throw new ApiError("not-found", `No user ${userId}.`);
  }
  if (!(await worksAtDesk(env, caller.tenant.id, user.role))) {
    throw new ApiError(
      "unprocessable-entity",
      `User ${userId}'s role (${user.role}) does not hold \`desk:work\`: give them the agent role, or a role with it.`,
    );
  }
  const own = userIdOf(caller) === userId;
  const onlyStatus = change.skills === undefined && change.capacity === undefined;
  if (!supervises(caller) && !(own && onlyStatus)) {
    throw new ApiError(
      "forbidden",
      "Changing another agent, or skills and capacity, needs the `desk:supervise` permission.",
    );
  }
  const before = (await deskOf(env, caller.tenant.id).agents()).find((a) => a.userId === userId);
  await audited(
    env,
    caller,
    {
      action: "desk_agent.update",
      target: userId,
      diff: diffOf(
        before ? { status: before.status, skills: before.skills, capacity: before.capacity } : {},
        { ...change },
      ),
    },
    [],
  );
  const view = await deskOf(env, caller.tenant.id).setAgent({
    tenantId: caller.tenant.id,
    userId,
    ...change,
    at: now,
  });
  return { ...view, email: user.email, role: user.role };
}

/** The queues per skill (null: any agent), the longest waiting first. */
export async function listQueues(env: Env, caller: Caller) {
  return deskOf(env, caller.tenant.id).queues();
}

/**
 * Gives a conversation to an agent: one's own pick from the queue or the left messages (no
 * `agentId`, or one's own), or a supervisor's (re)assignment to anyone.
 */
export async function assignConversation(
  env: Env,
  caller: Caller,
  id: string,
  agentId: string | undefined,
  now: number = Date.now(),
): Promise<{ state: DeskState; agentId: string | null }> {
  const conversation = await getConversation(env, caller, id);
  const self = userIdOf(caller);
  const target = agentId ?? self;
  if (!target) {
    throw new ApiError("validation-error", "Name the agent: an API key is no agent.", {
      errors: [{ pointer: "/agent_id", detail: "required when the caller is not a user" }],
    });
  }
  if (target !== self && !supervises(caller)) {
    throw new ApiError("forbidden", "Assigning to someone else needs `desk:supervise`.");
  }
  mustNotBeAnothers(caller, conversation);
  const result = await deskOf(env, caller.tenant.id).assign({
    tenantId: caller.tenant.id,
    conversationId: conversation.id,
    channel: conversation.channel,
    agentId: target,
    actor: caller.keyId,
    reason: target === self ? null : "assigned",
    at: now,
  });
  if (!result.ok) {
    throw refusal(result);
  }
  await audited(
    env,
    caller,
    {
      action: "conversation.assign",
      target: id,
      diff: { agent_id: { from: conversation.agentId, to: target } },
    },
    [],
  );
  return { state: result.state, agentId: result.agentId };
}

/** Hands a conversation to another agent, or back to the queue of a skill. */
export async function transferConversation(
  env: Env,
  caller: Caller,
  id: string,
  to: { agentId?: string; skill?: string | null },
  now: number = Date.now(),
): Promise<{ state: DeskState; agentId: string | null }> {
  const conversation = await getConversation(env, caller, id);
  const self = userIdOf(caller);
  if (!supervises(caller) && conversation.agentId !== self) {
    throw new ApiError("forbidden", "Only its agent or a supervisor transfers a conversation.");
  }
  const desk = deskOf(env, caller.tenant.id);
  let result: Awaited<ReturnType<typeof desk.requeue>>;
  if (to.agentId !== undefined) {
    result = await desk.assign({
      tenantId: caller.tenant.id,
      conversationId: conversation.id,
      channel: conversation.channel,
      agentId: to.agentId,
      actor: caller.keyId,
      reason: "transfer",
      at: now,
    });
  } else {
    const settings = await deskSettingsFor(env, caller.tenant.id, now);
    result = await desk.requeue({
      tenantId: caller.tenant.id,
      conversationId: conversation.id,
      skill: to.skill ?? null,
      maxQueueSeconds: settings.maxQueueSeconds,
      actor: caller.keyId,
      at: now,
    });
  }
  if (!result.ok) {
    throw refusal(result);
  }
  await audited(
    env,
    caller,
    {
      action: "conversation.transfer",
      target: id,
      diff: {
        agent_id: { from: conversation.agentId, to: to.agentId ?? null },
        skill: { from: conversation.skill, to: to.skill ?? null },
      },
    },
    [],
  );
  return { state: result.state, agentId: result.agentId };
}

/** Resolves a conversation: its agent's slot frees and the queue's first takes it. */
export async function resolveConversation(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<{ state: DeskState }> {
  const conversation = await getConversation(env, caller, id);
  if (
    !supervises(caller) &&
    conversation.agentId !== null &&
    conversation.agentId !== userIdOf(caller)
  ) {
    throw new ApiError("forbidden", "Another agent has this conversation.");
  }
  const result = await deskOf(env, caller.tenant.id).settle({
    tenantId: caller.tenant.id,
    conversationId: conversation.id,
    channel: conversation.channel,
    to: "resolved",
    actor: caller.keyId,
    at: now,
  });
  if (!result.ok) {
    throw refusal(result);
  }
  await audited(env, caller, { action: "conversation.resolve", target: id }, []);
  return { state: result.state };
}

/** An internal note: on the conversation's events and live, never sent to the customer. */
export async function addNote(
  env: Env,
  caller: Caller,
  id: string,
  body: string,
  now: number = Date.now(),
): Promise<{ id: string; at: number }> {
  const conversation = await getConversation(env, caller, id);
  mustNotBeAnothers(caller, conversation);
  const noteId = await recordConversationEvent(env, {
    tenantId: caller.tenant.id,
    conversationId: conversation.id,
    type: "note",
    actor: caller.keyId,
    detail: { body },
    at: now,
  });
  await deskOf(env, caller.tenant.id).publish(caller.tenant.id, {
    type: "conversation.note",
    conversation_id: conversation.id,
    note: { id: noteId, body, actor: caller.keyId, at: new Date(now).toISOString() },
  });
  return { id: noteId, at: now };
}

/** The conversation's desk events, oldest first (moves, notes, satisfaction). */
export async function eventsOf(env: Env, caller: Caller, id: string) {
  const conversation = await getConversation(env, caller, id);
  return database(env.DB)
    .select()
    .from(conversationEvents)
    .where(
      and(
        eq(conversationEvents.tenantId, caller.tenant.id),
        eq(conversationEvents.conversationId, conversation.id),
      ),
    )
    .orderBy(asc(conversationEvents.at), asc(conversationEvents.id))
    .limit(500);
}

/**
 * An agent's reply: through the conversation's channel (a WeChat customer-service message while
 * the follower's window is open; a closed one is a 422 that suggests a template message), then
 * the conversation waits for the customer (`pending`) and the reply shows live.
 */
export async function replyAtDesk(
  env: Env,
  caller: Caller,
  id: string,
  body: string,
  idempotencyKey: string | undefined,
  now: number = Date.now(),
): Promise<Reply> {
  mustNotBeAnothers(caller, await getConversation(env, caller, id));
  const reply = await replyInConversation(env, caller, id, body, idempotencyKey, now);
  const desk = deskOf(env, caller.tenant.id);
  if (reply.conversation.deskState === "assigned") {
    await desk.settle({
      tenantId: caller.tenant.id,
      conversationId: reply.conversation.id,
      channel: reply.conversation.channel,
      to: "pending",
      actor: caller.keyId,
      at: now,
    });
  }
  await desk.publish(caller.tenant.id, {
    type: "message.sent",
    conversation_id: reply.conversation.id,
    agent_id: reply.conversation.agentId,
    message: { id: reply.message.id, direction: "outbound", body, at: reply.message.created_at },
  });
  return reply;
}

export interface ServiceWindowView {
  open: boolean;
  expiresAt: number | null;
}

/** A WeChat conversation's customer-service window (null for other channels). */
export async function serviceWindowOf(
  env: Env,
  conversation: ConversationRow,
  now: number = Date.now(),
): Promise<ServiceWindowView | null> {
  if (conversation.channel !== "wechat") {
    return null;
  }
  const row = await env.DB.prepare(
    `SELECT service_window_kind AS kind, service_window_opened_at AS opened, following,
       unsubscribed_at AS unsubscribed
     FROM wechat_followers WHERE tenant_id = ? AND openid = ?
     ORDER BY service_window_opened_at DESC LIMIT 1`,
  )
    .bind(conversation.tenantId, conversation.counterpart)
    .first<{
      kind: keyof typeof SERVICE_WINDOWS | null;
      opened: number | null;
      following: number;
      unsubscribed: number | null;
    }>();
  if (!row?.kind || row.opened === null || row.opened <= (row.unsubscribed ?? -1)) {
    return { open: false, expiresAt: null };
  }
  const expiresAt = row.opened + SERVICE_WINDOWS[row.kind].ms;
  return { open: row.following === 1 && expiresAt > now, expiresAt };
}

/** Opens the desk's live WebSocket (the upgrade request goes to the tenant's desk object). */
export function openLive(
  env: Env,
  caller: Caller,
  after: string | undefined,
  headers: Headers,
): Promise<Response> {
  const url = new URL("https://desk/live");
  if (after !== undefined) {
    url.searchParams.set("after", after);
  }
  return deskOf(env, caller.tenant.id).fetch(url, { headers });
}

/**
 * The message pages' live feed (the list, the overview): a WebSocket on the tenant's desk object
 * that gets `{type: "messages.changed", count}` at most once a second. Carries no message content,
 * so anyone who may read messages or statistics may open it (the caller's check).
 */
export async function openMessageFeed(
  env: Env,
  caller: Caller,
  headers: Headers,
): Promise<Response> {
  const res = await deskOf(env, caller.tenant.id).fetch("https://desk/live?feed=messages", {
    headers,
  });
  // A fresh response: the dashboard's middleware adds its headers (the object's are immutable).
  return res.webSocket
    ? new Response(null, { status: 101, webSocket: res.webSocket })
    : new Response(res.body, res);
}

/**
 * A WeChat template message to a conversation's follower (the way to reach them when the
 * customer-service window is closed): through the app they last wrote to, shown live like a reply.
 */
export async function templateAtDesk(
  env: Env,
  caller: Caller,
  id: string,
  template: { wechatTemplateId: string; data: Record<string, { value: string }> },
  idempotencyKey: string | undefined,
  now: number = Date.now(),
): Promise<{ messageId: string }> {
  const conversation = await getConversation(env, caller, id);
  mustNotBeAnothers(caller, conversation);
  if (conversation.channel !== "wechat") {
    throw new ApiError("unprocessable-entity", "Template messages are for WeChat conversations.", {
      errors: [{ pointer: "/wechat_template_id", detail: "not a WeChat conversation" }],
    });
  }
  const appId = await appOfFollower(env, conversation);
  const { message } = await acceptWeChatMessage(
    env,
    caller,
    {
      channel: "wechat",
      app_id: appId,
      openid: conversation.counterpart,
      wechat: {
        type: "template",
        wechat_template_id: template.wechatTemplateId,
        data: template.data,
      },
    } as Parameters<typeof acceptWeChatMessage>[2],
    idempotencyKey,
    now,
  );
  const summary = `[template] ${template.wechatTemplateId}`;
  await deskOf(env, caller.tenant.id).publish(caller.tenant.id, {
    type: "message.sent",
    conversation_id: conversation.id,
    agent_id: conversation.agentId,
    message: { id: message.id, direction: "outbound", body: summary, at: message.created_at },
  });
  return { messageId: message.id };
}

/** The contact a conversation is with (name, id, phone) and their WeChat bindings, if known. */
export async function contactOfConversation(
  env: Env,
  caller: Caller,
  conversation: ConversationRow,
): Promise<{
  contact: { name: string | null; externalId: string; phone: string | null } | null;
  bindings: { appId: string; openid: string }[];
}> {
  if (!conversation.contactId) {
    return { contact: null, bindings: [] };
  }
  const row = await database(env.DB)
    .select()
    .from(contacts)
    .where(and(eq(contacts.tenantId, caller.tenant.id), eq(contacts.id, conversation.contactId)))
    .get();
  if (!row) {
    return { contact: null, bindings: [] };
  }
  const bindings = (await bindingsOf(env, [row.id])).get(row.id) ?? [];
  return {
    contact: { name: row.name, externalId: row.externalId, phone: row.phone },
    bindings: bindings.map((b) => ({ appId: b.appId, openid: b.openid })),
  };
}
