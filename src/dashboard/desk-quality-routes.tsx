/**
 * The dashboard's desk reports (`stats:read`) and quality inspection pages: the inspector's page
 * (`desk:inspect`: queue, scores, checklists; keeping checklists is for admins here), the score
 * form of one conversation, and an agent's own scores (`desk:work`). Each calls the same service
 * as the API (services/desk/reports, services/desk/inspections).
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { dayIn } from "../domain/desk-reports";
import { grants, type Permission } from "../domain/permissions";
import { startOfLocalDay } from "../domain/stats";
import { ApiError } from "../lib/problem";
import { getConversation } from "../services/conversations/conversations";
import { threadOf } from "../services/conversations/thread";
import {
  createChecklist,
  deleteChecklist,
  getChecklist,
  inspectionQueue,
  listChecklists,
  listInspections,
  scoreConversation,
} from "../services/desk/inspections";
import { agentEmails, deskReport, deskTimeZone } from "../services/desk/reports";
import {
  InspectionPage,
  type InspectionView,
  MyScoresPage,
  ReportsPage,
  ScoreFormPage,
  type ScoreFormView,
} from "./desk-quality";
import { fieldErrorsOf, fieldOf, readForm } from "./forms";
import { problemNotice, render, setFlash } from "./ui";

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;
const CONVERSATION_ID = /^cnv_[0-9A-Z]{26}$/;
const CHECKLIST_ID = /^chk_[0-9A-Z]{26}$/;

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

async function inspectionView(c: Context<AppEnv>): Promise<InspectionView> {
  const caller = c.get("caller");
  const now = Date.now();
  const [queue, checklists, scores] = await Promise.all([
    inspectionQueue(c.env, caller, { from: now - 7 * DAY_MS, to: now + 1 }),
    listChecklists(c.env, caller),
    listInspections(c.env, caller, { limit: 50 }),
  ]);
  const emails = await agentEmails(c.env, caller, [
    ...queue.flatMap((q) => (q.agentId ? [q.agentId] : [])),
    ...scores.data.flatMap((s) => (s.agentId ? [s.agentId] : [])),
  ]);
  return {
    queue,
    checklists,
    scores: scores.data,
    emails,
    canManage: grants(caller.scopes, "admin"),
  };
}

async function scoreFormView(
  c: Context<AppEnv>,
  id: string,
  checklistId: string | undefined,
  values: Record<string, string> = {},
): Promise<ScoreFormView> {
  const caller = c.get("caller");
  const conversation = await getConversation(c.env, caller, id);
  const [thread, checklists] = await Promise.all([
    threadOf(c.env, caller, conversation, { limit: 200 }),
    listChecklists(c.env, caller),
  ]);
  const checklist =
    checklists.find((l) => l.id === checklistId) ??
    (checklistId !== undefined && CHECKLIST_ID.test(checklistId)
      ? await getChecklist(c.env, caller, checklistId)
      : (checklists[0] ?? null));
  const scored = await c.env.DB.prepare(
    `SELECT agent_id FROM conversation_events WHERE tenant_id = ? AND conversation_id = ?
       AND type = 'state' AND agent_id IS NOT NULL ORDER BY at DESC, id DESC LIMIT 1`,
  )
    .bind(caller.tenant.id, id)
    .first<{ agent_id: string }>();
  const emails = await agentEmails(c.env, caller, scored ? [scored.agent_id] : []);
  return {
    conversationId: id,
    agentEmail: scored ? (emails.get(scored.agent_id) ?? scored.agent_id) : null,
    thread: thread.data,
    checklists,
    checklist,
    values,
  };
}

/** "Label | points" lines: a checklist's items as the form takes them. */
function itemsOfLines(text: string) {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const at = line.lastIndexOf("|");
      const label = at < 0 ? line : line.slice(0, at).trim();
      const points = at < 0 ? Number.NaN : Number(line.slice(at + 1).trim());
      return { label, points };
    });
}

export const deskQualityPages = new Hono<AppEnv>()
  .get("/dashboard/desk/reports", async (c) => {
    requirePermission(c, "stats:read");
    const caller = c.get("caller");
    const zone = await deskTimeZone(c.env, caller);
    const today = dayIn(Date.now(), zone);
    const queryFrom = c.req.query("from") ?? "";
    const queryTo = c.req.query("to") ?? "";
    const to = DAY.test(queryTo) ? queryTo : today;
    const from = DAY.test(queryFrom)
      ? queryFrom
      : dayIn(startOfLocalDay(to, zone) - 6 * DAY_MS + DAY_MS / 2, zone);
    const range = {
      from: startOfLocalDay(from, zone),
      to: startOfLocalDay(dayIn(startOfLocalDay(to, zone) + DAY_MS + DAY_MS / 2, zone), zone),
      timeZone: zone,
    };
    const csv = (groupBy: string) =>
      `/v1/desk/reports/export?${new URLSearchParams({
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
        tz: zone,
        group_by: groupBy,
        bom: "true",
      })}`;
    const view = { from, to, zone, emails: new Map<string, string>(), byAgent: [], byDay: [] };
    try {
      const [byAgent, byDay] = await Promise.all([
        deskReport(c.env, caller, { ...range, groupBy: "agent" }),
        deskReport(c.env, caller, { ...range, groupBy: "day" }),
      ]);
      const emails = await agentEmails(
        c.env,
        caller,
        byAgent.rows.flatMap((r) => (r.key ? [r.key] : [])),
      );
      return render(
        c,
        <ReportsPage
          view={{
            ...view,
            byAgent: byAgent.rows,
            byDay: byDay.rows,
            emails,
            csvAgent: csv("agent"),
            csvDay: csv("day"),
          }}
        />,
      );
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 400) {
        throw error;
      }
      return render(
        c,
        <ReportsPage
          view={{ ...view, csvAgent: csv("agent"), csvDay: csv("day") }}
          notice={problemNotice(error)}
        />,
        422,
      );
    }
  })
  .get("/dashboard/desk/scores", async (c) => {
    requirePermission(c, "desk:work");
    const caller = c.get("caller");
    const scores = await listInspections(c.env, caller, { limit: 100 });
    const emails = await agentEmails(
      c.env,
      caller,
      scores.data.flatMap((s) => (s.agentId ? [s.agentId] : [])),
    );
    return render(c, <MyScoresPage scores={scores.data} emails={emails} />);
  })
  .get("/dashboard/desk/inspection", async (c) => {
    requirePermission(c, "desk:inspect");
    return render(c, <InspectionPage view={await inspectionView(c)} />);
  })
  .post("/dashboard/desk/inspection/checklists", async (c) => {
    requirePermission(c, "admin");
    const form = await readForm(c);
    try {
      await createChecklist(c.env, c.get("caller"), {
        name: fieldOf(form, "name"),
        items: itemsOfLines(fieldOf(form, "items")),
      });
      setFlash(c, "ok", "inspection.checklist_added");
      return c.redirect("/dashboard/desk/inspection", 303);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 404 || error.status === 403) {
        throw error;
      }
      const errors = fieldErrorsOf(error);
      const itemError = Object.entries(errors).find(([k]) => k.startsWith("items"))?.[1];
      return render(
        c,
        <InspectionPage
          view={{
            ...(await inspectionView(c)),
            errors: { ...errors, ...(itemError ? { items: itemError } : {}) },
          }}
          notice={problemNotice(error)}
        />,
        422,
      );
    }
  })
  .post("/dashboard/desk/inspection/checklists/:id/delete", async (c) => {
    requirePermission(c, "admin");
    const id = c.req.param("id");
    if (!CHECKLIST_ID.test(id)) {
      throw new ApiError("not-found", `No checklist ${id}.`);
    }
    await deleteChecklist(c.env, c.get("caller"), id);
    setFlash(c, "ok", "inspection.checklist_deleted");
    return c.redirect("/dashboard/desk/inspection", 303);
  })
  .get("/dashboard/desk/inspection/:id", async (c) => {
    requirePermission(c, "desk:inspect");
    const id = conversationParam(c);
    return render(c, <ScoreFormPage view={await scoreFormView(c, id, c.req.query("checklist"))} />);
  })
  .post("/dashboard/desk/inspection/:id", async (c) => {
    requirePermission(c, "desk:inspect");
    const id = conversationParam(c);
    const form = await readForm(c);
    const checklistId = fieldOf(form, "checklist_id");
    const values = Object.fromEntries(Object.keys(form).map((k) => [k, fieldOf(form, k)] as const));
    try {
      const checklist = CHECKLIST_ID.test(checklistId)
        ? await getChecklist(c.env, c.get("caller"), checklistId).catch(() => null)
        : null;
      await scoreConversation(c.env, c.get("caller"), id, {
        checklistId,
        items: (checklist?.items ?? []).map((item) => ({
          item_id: item.id,
          points: Number(fieldOf(form, `points_${item.id}`) || Number.NaN),
        })),
        comment: fieldOf(form, "comment") || null,
      });
      setFlash(c, "ok", "inspection.scored");
      return c.redirect("/dashboard/desk/inspection", 303);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 404 || error.status === 403) {
        throw error;
      }
      return render(
        c,
        <ScoreFormPage
          view={{
            ...(await scoreFormView(c, id, checklistId, values)),
            errors: fieldErrorsOf(error),
          }}
          notice={problemNotice(error)}
        />,
        error.status === 409 ? 409 : 422,
      );
    }
  });
