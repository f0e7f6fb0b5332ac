import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as desk from "../../services/desk/desk";
import { replyAccepted } from "../conversations/reply-accepted";
import type * as routes from "./desk.routes";

const iso = (ms: number) => new Date(ms).toISOString();

function presentAgent(a: desk.AgentRow) {
  return {
    user_id: a.userId,
    email: a.email,
    role: a.role,
    status: a.status,
    skills: a.skills,
    capacity: a.capacity,
    load: a.load,
    idle_since: iso(a.idleSince),
    conversation_ids: a.conversations,
  };
}

export const listAgents: RouteHandler<typeof routes.listAgents, AppEnv> = async (c) => {
  const agents = await desk.listAgents(c.env, c.get("caller"));
  return c.json({ data: agents.map(presentAgent) }, 200);
};

export const updateAgent: RouteHandler<typeof routes.updateAgent, AppEnv> = async (c) => {
  const agent = await desk.updateAgent(
    c.env,
    c.get("caller"),
    c.req.valid("param").user_id,
    c.req.valid("json"),
  );
  return c.json(presentAgent(agent), 200);
};

export const listQueues: RouteHandler<typeof routes.listQueues, AppEnv> = async (c) => {
  const queues = await desk.listQueues(c.env, c.get("caller"));
  return c.json(
    {
      data: queues.map((q) => ({
        skill: q.skill,
        conversations: q.conversations.map((x) => ({
          id: x.id,
          channel: x.channel,
          queued_at: iso(x.queuedAt),
          expires_at: x.expiresAt === null ? null : iso(x.expiresAt),
        })),
      })),
    },
    200,
  );
};

/** The body the route's schema checked (the shared route builder does not keep its type). */
function bodyOf<T>(c: { req: unknown }): T {
  return (c.req as { valid(target: "json"): T }).valid("json");
}

const stateView = (id: string, r: { state: string; agentId?: string | null }) => ({
  id,
  desk_state: r.state as typeof import("../../domain/desk").DESK_STATES[number],
  agent_id: r.agentId ?? null,
});

export const assignConversation: RouteHandler<typeof routes.assignConversation, AppEnv> = async (
  c,
) => {
  const id = c.req.valid("param").id;
  const r = await desk.assignConversation(
    c.env,
    c.get("caller"),
    id,
    bodyOf<{ agent_id?: string }>(c).agent_id,
  );
  return c.json(stateView(id, r), 200);
};

export const transferConversation: RouteHandler<
  typeof routes.transferConversation,
  AppEnv
> = async (c) => {
  const id = c.req.valid("param").id;
  const body = bodyOf<{ agent_id?: string; skill?: string | null }>(c);
  const r = await desk.transferConversation(c.env, c.get("caller"), id, {
    agentId: body.agent_id,
    skill: body.skill,
  });
  return c.json(stateView(id, r), 200);
};

export const resolveConversation: RouteHandler<typeof routes.resolveConversation, AppEnv> = async (
  c,
) => {
  const id = c.req.valid("param").id;
  const r = await desk.resolveConversation(c.env, c.get("caller"), id);
  return c.json(stateView(id, { state: r.state }), 200);
};

export const addNote: RouteHandler<typeof routes.addNote, AppEnv> = async (c) => {
  const caller = c.get("caller");
  const { body } = c.req.valid("json");
  const note = await desk.addNote(c.env, caller, c.req.valid("param").id, body);
  return c.json(
    {
      id: note.id,
      type: "note" as const,
      from_state: null,
      to_state: null,
      agent_id: null,
      actor: caller.keyId,
      detail: { body },
      at: iso(note.at),
    },
    201,
  );
};

export const listEvents: RouteHandler<typeof routes.listEvents, AppEnv> = async (c) => {
  const rows = await desk.eventsOf(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(
    {
      data: rows.map((e) => ({
        id: e.id,
        type: e.type as "state" | "note" | "satisfaction",
        from_state: e.fromState,
        to_state: e.toState,
        agent_id: e.agentId,
        actor: e.actor,
        detail: e.detail,
        at: iso(e.at),
      })),
    },
    200,
  );
};

export const reply: RouteHandler<typeof routes.reply, AppEnv> = async (c) => {
  const { body } = c.req.valid("json");
  const reply = await desk.replyAtDesk(
    c.env,
    c.get("caller"),
    c.req.valid("param").id,
    body,
    c.req.valid("header")["idempotency-key"],
  );
  return replyAccepted(c, body, reply);
};
