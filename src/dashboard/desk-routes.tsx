/**
 * The dashboard's service desk routes: the workspace (`desk:work`), its two fragments for the
 * live client, the supervisor's view (`desk:supervise`), the canned replies, and the posts (status,
 * take, reply, template, note, transfer, resolve, assign), each calling the same service as the
 * API (services/desk) and coming back to the workspace with a flash.
 */

import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { AGENT_STATUSES, type AgentStatus } from "../domain/desk";
import { grants, type Permission } from "../domain/permissions";
import { ApiError } from "../lib/problem";
import { getConversation, listConversations } from "../services/conversations/conversations";
import { threadOf } from "../services/conversations/thread";
import {
  createCannedReply,
  deleteCannedReply,
  getCannedReply,
  listCannedReplies,
} from "../services/desk/canned-replies";
import {
  addNote,
  assignConversation,
  contactOfConversation,
  eventsOf,
  listAgents,
  replyAtDesk,
  resolveConversation,
  serviceWindowOf,
  templateAtDesk,
  transferConversation,
  updateAgent,
} from "../services/desk/desk";
import {
  CannedPage,
  DeskLists,
  DeskThread,
  type OpenThread,
  SupervisePage,
  WorkspacePage,
  type WorkspaceView,
} from "./desk";
import { fieldErrorsOf, fieldOf, readForm } from "./forms";
import { localeOf } from "./i18n";
import { problemText } from "./problem-text";
import { problemNotice, render, setFlash, tOf } from "./ui";

const CONVERSATION_ID = /^cnv_[0-9A-Z]{26}$/;
const CANNED_ID = /^cnr_[0-9A-Z]{26}$/;

function requirePermission(c: Context<AppEnv>, permission: Permission): void {
  if (!grants(c.get("caller").scopes, permission)) {
    throw new ApiError("forbidden", `Your role lacks \`${permission}\`.`);
  }
}

function conversationParam(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!CONVERSATION_ID.test(id)) {
    throw new ApiError("not-found", `No conversation ${id}.`);
  }
  return id;
}

async function openThread(c: Context<AppEnv>, id: string, now: number): Promise<OpenThread> {
  const caller = c.get("caller");
  const conversation = await getConversation(c.env, caller, id);
  const [thread, events, window] = await Promise.all([
    threadOf(c.env, caller, conversation, { limit: 200 }),
    eventsOf(c.env, caller, id),
    serviceWindowOf(c.env, conversation, now),
  ]);
  const { contact, bindings } = await contactOfConversation(c.env, caller, conversation);
  return {
    conversation,
    items: thread.data,
    notes: events
      .filter((e) => e.type === "note")
      .map((e) => ({ id: e.id, body: String(e.detail.body ?? ""), actor: e.actor, at: e.at })),
    contact,
    bindings,
    window,
  };
}

async function workspace(c: Context<AppEnv>): Promise<WorkspaceView> {
  requirePermission(c, "desk:work");
  const caller = c.get("caller");
  const selfId = c.get("session").userId;
  const now = Date.now();
  const openId = c.req.query("c") ?? "";
  const [agents, queue, mine, canned] = await Promise.all([
    listAgents(c.env, caller),
    listConversations(c.env, caller, { limit: 50, deskStates: ["queued", "left_message"] }),
    listConversations(c.env, caller, {
      limit: 50,
      deskStates: ["assigned", "pending"],
      agentId: selfId,
    }),
    listCannedReplies(c.env, caller),
  ]);
  let open: OpenThread | null = null;
  if (CONVERSATION_ID.test(openId)) {
    try {
      open = await openThread(c, openId, now);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) {
        throw error;
      }
    }
  }
  return {
    me: agents.find((a) => a.userId === selfId) ?? null,
    selfId,
    queue: queue.data,
    mine: mine.data,
    agents,
    canned,
    open,
    now,
  };
}

/** Runs a workspace post: a refusal comes back as the flash, a missing conversation stays 404. */
async function deskPost(
  c: Context<AppEnv>,
  back: string,
  act: () => Promise<Parameters<typeof setFlash>[2]>,
) {
  try {
    const key = await act();
    setFlash(c, "ok", key);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 404) {
      throw error;
    }
    // The service's English detail, in the page's language (problem-text).
    const detail = problemText({ locale: localeOf(c), t: tOf(c) }, error.message, error.slug);
    setFlash(c, "error", "desk.refused", { detail });
  }
  return c.redirect(back, 303);
}

const backTo = (id: string) => `/dashboard/desk?c=${id}`;

/** "first=Hello\nkeyword1=…" → WeChat template data. */
function templateData(text: string): Record<string, { value: string }> {
  const data: Record<string, { value: string }> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf("=");
    if (at > 0) {
      data[line.slice(0, at).trim()] = { value: line.slice(at + 1).trim() };
    }
  }
  return data;
}

export const deskPages = new Hono<AppEnv>()
  .get("/dashboard/desk", async (c) => render(c, <WorkspacePage view={await workspace(c)} />))
  .get("/dashboard/desk/fragments/lists", async (c) =>
    render(c, <DeskLists view={await workspace(c)} />),
  )
  .get("/dashboard/desk/fragments/thread", async (c) =>
    render(c, <DeskThread view={await workspace(c)} />),
  )
  .post("/dashboard/desk/status", async (c) => {
    requirePermission(c, "desk:work");
    const status = fieldOf(await readForm(c), "status");
    return deskPost(c, "/dashboard/desk", async () => {
      if (!AGENT_STATUSES.includes(status as AgentStatus)) {
        throw new ApiError("validation-error", tOf(c)("desk.status_required"));
      }
      await updateAgent(c.env, c.get("caller"), c.get("session").userId, {
        status: status as AgentStatus,
      });
      return "desk.status_set";
    });
  })
  .post("/dashboard/desk/:id/take", async (c) => {
    requirePermission(c, "desk:work");
    const id = conversationParam(c);
    return deskPost(c, backTo(id), async () => {
      await assignConversation(c.env, c.get("caller"), id, undefined);
      return "desk.taken";
    });
  })
  .post("/dashboard/desk/:id/assign", async (c) => {
    requirePermission(c, "desk:supervise");
    const id = conversationParam(c);
    const agentId = fieldOf(await readForm(c), "agent_id");
    return deskPost(c, "/dashboard/desk/supervise", async () => {
      await assignConversation(c.env, c.get("caller"), id, agentId || undefined);
      return "desk.assigned";
    });
  })
  .post("/dashboard/desk/:id/reply", async (c) => {
    requirePermission(c, "desk:work");
    const id = conversationParam(c);
    const form = await readForm(c);
    return deskPost(c, backTo(id), async () => {
      let body = fieldOf(form, "body").trim();
      const cannedId = fieldOf(form, "canned_id");
      // Without script the picker's choice is sent as is: its text is the reply.
      if (body === "" && CANNED_ID.test(cannedId)) {
        body = (await getCannedReply(c.env, c.get("caller"), cannedId)).body;
      }
      if (body === "" || body.length > 1000) {
        throw new ApiError("validation-error", tOf(c)("desk.reply_required"));
      }
      await replyAtDesk(c.env, c.get("caller"), id, body, undefined);
      return "desk.replied";
    });
  })
  .post("/dashboard/desk/:id/template", async (c) => {
    requirePermission(c, "desk:work");
    const id = conversationParam(c);
    const form = await readForm(c);
    return deskPost(c, backTo(id), async () => {
      const templateId = fieldOf(form, "wechat_template_id").trim();
      if (templateId === "" || templateId.length > 64) {
        throw new ApiError("validation-error", tOf(c)("desk.template_required"));
      }
      await templateAtDesk(
        c.env,
        c.get("caller"),
        id,
        { wechatTemplateId: templateId, data: templateData(fieldOf(form, "data")) },
        undefined,
      );
      return "desk.template_sent";
    });
  })
  .post("/dashboard/desk/:id/note", async (c) => {
    requirePermission(c, "desk:work");
    const id = conversationParam(c);
    const body = fieldOf(await readForm(c), "body").trim();
    return deskPost(c, backTo(id), async () => {
      if (body === "" || body.length > 2000) {
        throw new ApiError("validation-error", tOf(c)("desk.note_required"));
      }
      await addNote(c.env, c.get("caller"), id, body);
      return "desk.noted";
    });
  })
  .post("/dashboard/desk/:id/transfer", async (c) => {
    requirePermission(c, "desk:work");
    const id = conversationParam(c);
    const to = fieldOf(await readForm(c), "to");
    return deskPost(c, backTo(id), async () => {
      if (to.startsWith("agent:")) {
        await transferConversation(c.env, c.get("caller"), id, { agentId: to.slice(6) });
      } else if (to.startsWith("skill:")) {
        await transferConversation(c.env, c.get("caller"), id, { skill: to.slice(6) || null });
      } else {
        throw new ApiError("validation-error", tOf(c)("desk.transfer_required"));
      }
      return "desk.transferred";
    });
  })
  .post("/dashboard/desk/:id/resolve", async (c) => {
    requirePermission(c, "desk:work");
    const id = conversationParam(c);
    return deskPost(c, "/dashboard/desk", async () => {
      await resolveConversation(c.env, c.get("caller"), id);
      return "desk.resolved";
    });
  })
  .get("/dashboard/desk/supervise", async (c) => {
    requirePermission(c, "desk:supervise");
    const caller = c.get("caller");
    const [agents, queue, held] = await Promise.all([
      listAgents(c.env, caller),
      listConversations(c.env, caller, { limit: 100, deskStates: ["queued", "left_message"] }),
      listConversations(c.env, caller, { limit: 100, deskStates: ["assigned", "pending"] }),
    ]);
    return render(
      c,
      <SupervisePage agents={agents} queue={queue.data} held={held.data} now={Date.now()} />,
    );
  })
  .get("/dashboard/desk/canned", async (c) => {
    const caller = c.get("caller");
    const replies = await listCannedReplies(c.env, caller);
    return render(
      c,
      <CannedPage replies={replies} canWrite={grants(caller.scopes, "desk:supervise")} />,
    );
  })
  .post("/dashboard/desk/canned", async (c) => {
    const caller = c.get("caller");
    const form = await readForm(c);
    const values = { title: fieldOf(form, "title"), body: fieldOf(form, "body") };
    try {
      await createCannedReply(c.env, caller, values);
      setFlash(c, "ok", "desk.canned_added");
      return c.redirect("/dashboard/desk/canned", 303);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 404) {
        throw error;
      }
      const replies = await listCannedReplies(c.env, caller);
      return render(
        c,
        <CannedPage
          replies={replies}
          canWrite={grants(caller.scopes, "desk:supervise")}
          notice={problemNotice(error)}
          errors={fieldErrorsOf(error)}
          values={values}
        />,
        error.status === 403 ? 403 : 422,
      );
    }
  })
  .post("/dashboard/desk/canned/:id/delete", async (c) => {
    const id = c.req.param("id");
    if (!CANNED_ID.test(id)) {
      throw new ApiError("not-found", `No canned reply ${id}.`);
    }
    await deleteCannedReply(c.env, c.get("caller"), id);
    setFlash(c, "ok", "desk.canned_deleted");
    return c.redirect("/dashboard/desk/canned", 303);
  });
