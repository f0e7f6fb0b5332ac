/**
 * The Messages area's routes: the list and a message's detail, Send with its live preview,
 * Batches (CSV upload, progress, cancel) and Scheduled messages. Each calls the same service as
 * the API (services/messaging) and checks the session's permission itself: messages:read to
 * look, messages:send to send or cancel (as the API's routes require).
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { budgetZoneOf } from "../domain/budget";
import { grants, type Permission } from "../domain/permissions";
import { startOfLocalDay } from "../domain/stats";
import { MESSAGE_STATUSES, SEND_CHANNELS } from "../domain/vocabulary";
import { ApiError } from "../lib/problem";
import { isCrossSite } from "../middleware/session";
import { listTemplates } from "../services/content/templates";
import { openMessageFeed } from "../services/desk/desk";
import { type BatchView, getBatch, listBatches } from "../services/messaging/batch-reads";
import { acceptBatch } from "../services/messaging/batches";
import { cancelBatch, cancelMessage } from "../services/messaging/cancel";
import { getMessage, listMessages } from "../services/messaging/message-reads";
import { acceptMessage, previewMessage } from "../services/messaging/messages";
import { type FieldErrors, type FormFields, fieldErrorsOf, fieldOf, readForm } from "./forms";
import {
  BatchesPage,
  BatchPage,
  BatchProgress,
  MessagePage,
  type MessageQuery,
  MessagesPage,
  PreviewPanel,
  ScheduledPage,
  type SendDraft,
  SendPage,
  type TemplateChoice,
  VariableFields,
} from "./messages";
import { renderOverview } from "./overview-routes";
import { type Notice, problemNotice, render, setFlash, tOf } from "./ui";

const MESSAGE_ID = /^msg_[0-9A-Z]{26}$/;
const BATCH_ID = /^bat_[0-9A-Z]{26}$/;
const TEMPLATE_ID = /^tpl_[0-9A-Z]{26}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const LOCAL_DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})$/;
const DAY_MS = 86_400_000;

function requirePermission(c: Context<AppEnv>, permission: Permission): void {
  if (!grants(c.get("caller").scopes, permission)) {
    throw new ApiError("forbidden", tOf(c)("messages.forbidden"));
  }
}

const canSend = (c: Context<AppEnv>) => grants(c.get("caller").scopes, "messages:send");

/** The tenant's approved templates (up to 100), with their variables: the send forms' choices. */
async function templateChoices(c: Context<AppEnv>): Promise<TemplateChoice[]> {
  if (!grants(c.get("caller").scopes, "templates:read")) {
    return [];
  }
  const page = await listTemplates(c.env, c.get("caller"), { status: "approved", limit: 100 });
  return page.data.map(({ template, latest }) => ({
    id: template.id,
    name: template.name,
    variables: latest.variables,
  }));
}

/** The list's filters from the query string: only well-formed values are kept (and echoed). */
function messageQuery(c: Context<AppEnv>): MessageQuery {
  const q = (name: string) => c.req.query(name)?.trim() || undefined;
  const keep = (value: string | undefined, ok: (v: string) => boolean) =>
    value !== undefined && ok(value) ? value : undefined;
  return {
    status: keep(q("status"), (v) => (MESSAGE_STATUSES as readonly string[]).includes(v)),
    channel: keep(q("channel"), (v) => (SEND_CHANNELS as readonly string[]).includes(v)),
    to: keep(q("to"), (v) => v.length <= 32),
    template_id: keep(q("template_id"), (v) => TEMPLATE_ID.test(v)),
    batch_id: keep(q("batch_id"), (v) => BATCH_ID.test(v)),
    from: keep(q("from"), (v) => DATE.test(v)),
    until: keep(q("until"), (v) => DATE.test(v)),
  };
}

/** The day after `YYYY-MM-DD`, as `YYYY-MM-DD`. */
const nextDay = (date: string) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);

/** A `datetime-local` value read in the tenant's zone, as RFC 3339 for the service. */
function sendAtOf(value: string, zone: string): string | undefined {
  const m = LOCAL_DATE_TIME.exec(value);
  if (!m) {
    return undefined;
  }
  const [, date = "", hh = "0", mm = "0"] = m;
  const at = startOfLocalDay(date, zone) + Number(hh) * 3_600_000 + Number(mm) * 60_000;
  return new Date(at).toISOString();
}

/** The send forms' draft: what the user typed, kept for a refused form. */
function draftOf(form: FormFields): SendDraft {
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(form)) {
    if (name.startsWith("variables.") && typeof value === "string") {
      variables[name.slice("variables.".length)] = value;
    }
  }
  return {
    to: fieldOf(form, "to").trim(),
    body: fieldOf(form, "body"),
    template_id: fieldOf(form, "template_id").trim(),
    variables,
    send_at: fieldOf(form, "send_at").trim(),
  };
}

/** The content the services take: a template with its variables, or the free text. */
function contentOf(draft: SendDraft) {
  return draft.template_id
    ? { template_id: draft.template_id, variables: draft.variables }
    : { body: draft.body };
}

/** The form's own checks, before the service's (which name their fields the same way). */
function checkDraft(c: Context<AppEnv>, draft: SendDraft, needsTo: boolean): string | undefined {
  const t = tOf(c);
  const errors: { pointer: string; detail: string }[] = [];
  if (needsTo && !draft.to) {
    errors.push({ pointer: "/to", detail: t("send.need_to") });
  }
  if (draft.template_id && !TEMPLATE_ID.test(draft.template_id)) {
    errors.push({ pointer: "/template_id", detail: t("send.bad_template") });
  }
  if (!draft.template_id && (draft.body.length === 0 || draft.body.length > 1600)) {
    errors.push({ pointer: "/body", detail: t("send.need_body") });
  }
  let sendAt: string | undefined;
  if (draft.send_at) {
    sendAt = sendAtOf(draft.send_at, zoneOf(c));
    if (!sendAt) {
      errors.push({ pointer: "/send_at", detail: t("send.bad_send_at") });
    }
  }
  if (errors.length > 0) {
    throw new ApiError("unprocessable-entity", t("common.form_errors"), { errors });
  }
  return sendAt;
}

/** A refused form's status: the problem's own for 403/409, else 422. */
const formStatus = (error: ApiError) =>
  error.status === 403 || error.status === 409 ? error.status : 422;

/** The tenant's time zone, where the forms' dates are read (as the pages show them). */
const zoneOf = (c: Context<AppEnv>) => budgetZoneOf(c.get("caller").tenant.homeCountry);

async function renderSend(
  c: Context<AppEnv>,
  view: { draft?: Partial<SendDraft>; errors?: FieldErrors; notice?: Notice },
  status: 200 | 403 | 409 | 422 = 200,
) {
  return render(c, <SendPage templates={await templateChoices(c)} {...view} />, status);
}

async function renderBatches(
  c: Context<AppEnv>,
  view: Omit<Parameters<typeof BatchesPage>[0], "views" | "templates" | "nextCursor" | "canSend">,
  status: 200 | 403 | 409 | 422 = 200,
) {
  const caller = c.get("caller");
  const page = await listBatches(c.env, caller, { limit: 20, cursor: view.cursor });
  const [listed, templates] = await Promise.all([
    Promise.all(page.data.map((b) => getBatch(c.env, caller, b.id))),
    canSend(c) ? templateChoices(c) : Promise.resolve([]),
  ]);
  // The batch just uploaded heads the first page even before the list (D1) has it.
  const uploaded = view.result?.view;
  const views =
    uploaded && !view.cursor && !listed.some((v) => v.record.id === uploaded.record.id)
      ? [uploaded, ...listed]
      : listed;
  return render(
    c,
    <BatchesPage
      {...view}
      views={views}
      templates={templates}
      nextCursor={page.nextCursor}
      canSend={canSend(c)}
    />,
    status,
  );
}

function idParam(c: Context<AppEnv>, pattern: RegExp, what: string): string {
  const id = c.req.param("id") ?? "";
  if (!pattern.test(id)) {
    throw new ApiError("not-found", `No ${what} ${id}.`);
  }
  return id;
}

export const messagePages = new Hono<AppEnv>()
  // The messages list; also the dashboard's home for roles that do not read statistics (the
  // others land on the overview).
  .get("/dashboard/:page{messages}?", async (c) => {
    if (!c.req.param("page") && grants(c.get("caller").scopes, "stats:read")) {
      return renderOverview(c);
    }
    requirePermission(c, "messages:read");
    const query = messageQuery(c);
    const cursor = c.req.query("cursor");
    const zone = zoneOf(c);
    const [page, templates] = await Promise.all([
      listMessages(c.env, c.get("caller"), {
        status: query.status as (typeof MESSAGE_STATUSES)[number] | undefined,
        channel: query.channel as (typeof SEND_CHANNELS)[number] | undefined,
        to: query.to,
        templateId: query.template_id,
        batchId: query.batch_id,
        since: query.from ? startOfLocalDay(query.from, zone) : undefined,
        until: query.until ? startOfLocalDay(nextDay(query.until), zone) - 1 : undefined,
        limit: 50,
        cursor: cursor && MESSAGE_ID.test(cursor) ? cursor : undefined,
      }),
      templateChoices(c),
    ]);
    return render(
      c,
      <MessagesPage
        messages={page.data}
        query={query}
        templates={templates}
        cursor={cursor && MESSAGE_ID.test(cursor) ? cursor : undefined}
        nextCursor={page.nextCursor}
        canSend={canSend(c)}
      />,
    );
  })
  // The message feed of the live list and overview (live-list.js): for anyone who may see either.
  .get("/dashboard/live/messages", (c) => {
    const scopes = c.get("caller").scopes;
    if (!grants(scopes, "messages:read") && !grants(scopes, "stats:read")) {
      throw new ApiError("forbidden", tOf(c)("messages.forbidden"));
    }
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError("validation-error", "This is a WebSocket: send `Upgrade: websocket`.");
    }
    // A browser opens a WebSocket from any page with the site's cookies (cross-site hijacking).
    if (isCrossSite(c)) {
      throw new ApiError("forbidden", "Cross-site requests with a session are refused.");
    }
    return openMessageFeed(c.env, c.get("caller"), c.req.raw.headers);
  })
  .get("/dashboard/messages/:id", async (c) => {
    requirePermission(c, "messages:read");
    const id = idParam(c, MESSAGE_ID, "message");
    const { message, attempts } = await getMessage(c.env, c.get("caller"), id);
    return render(c, <MessagePage message={message} attempts={attempts} canCancel={canSend(c)} />);
  })
  .post("/dashboard/messages/:id/cancel", async (c) => {
    const id = idParam(c, MESSAGE_ID, "message");
    const form = await readForm(c);
    const back = fieldOf(form, "back") === "scheduled" ? "/dashboard/scheduled" : null;
    try {
      requirePermission(c, "messages:send");
      await cancelMessage(c.env, c.get("caller"), id);
      setFlash(c, "ok", "message.canceled", { id });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 404) {
        throw error;
      }
      if (error.status === 403) {
        throw error;
      }
      setFlash(c, "error", "message.cannot_cancel", { id });
    }
    return c.redirect(back ?? `/dashboard/messages/${id}`, 303);
  })
  .get("/dashboard/send", async (c) => {
    requirePermission(c, "messages:send");
    // The no-script "load variables" button comes back here with the form's fields.
    const template = c.req.query("template_id") ?? "";
    return renderSend(c, {
      draft: {
        to: c.req.query("to") ?? "",
        body: c.req.query("body") ?? "",
        template_id: TEMPLATE_ID.test(template) ? template : "",
        send_at: c.req.query("send_at") ?? "",
      },
    });
  })
  .get("/dashboard/send/variables", async (c) => {
    requirePermission(c, "messages:send");
    const id = c.req.query("template_id") ?? "";
    const template = (await templateChoices(c)).find((tpl) => tpl.id === id);
    return render(c, <VariableFields template={template} />);
  })
  // The live preview (htmx, as the user types): the same service as POST /v1/messages/preview.
  .post("/dashboard/send/preview", async (c) => {
    requirePermission(c, "messages:send");
    const draft = draftOf(await readForm(c));
    if (draft.template_id ? !TEMPLATE_ID.test(draft.template_id) : draft.body.length === 0) {
      return render(c, <PreviewPanel />);
    }
    try {
      const preview = await previewMessage(c.env, c.get("caller"), {
        ...contentOf(draft),
        to: draft.to || undefined,
      });
      return render(c, <PreviewPanel preview={preview} />);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      const problems = (error.errors ?? []).map((e) => `${e.pointer || "/"}: ${e.detail}`);
      return render(c, <PreviewPanel problems={problems.length ? problems : [error.message]} />);
    }
  })
  .post("/dashboard/send", async (c) => {
    const draft = draftOf(await readForm(c));
    try {
      requirePermission(c, "messages:send");
      const sendAt = checkDraft(c, draft, true);
      const { message } = await acceptMessage(
        c.env,
        c.get("caller"),
        { to: draft.to, ...contentOf(draft), send_at: sendAt },
        undefined,
      );
      setFlash(c, "ok", "messages.accepted", { id: message.id });
      return c.redirect(`/dashboard/messages/${message.id}`, 303);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      return renderSend(
        c,
        { draft, errors: fieldErrorsOf(error), notice: problemNotice(error) },
        formStatus(error),
      );
    }
  })
  .get("/dashboard/batches", (c) => {
    requirePermission(c, "messages:read");
    const cursor = c.req.query("cursor");
    return renderBatches(c, { cursor: cursor && BATCH_ID.test(cursor) ? cursor : undefined });
  })
  // The upload: the same 20 MB as POST /v1/batches (app.ts), the same service and its report.
  .post("/dashboard/batches", async (c) => {
    const form = await readForm(c);
    const draft = draftOf(form);
    try {
      requirePermission(c, "messages:send");
      const file = form.csv;
      const csv = file instanceof File ? await file.text() : "";
      if (csv.trim() === "") {
        throw new ApiError("unprocessable-entity", tOf(c)("batches.need_file"), {
          errors: [{ pointer: "/csv", detail: tOf(c)("batches.need_file") }],
        });
      }
      const sendAt = checkDraft(c, draft, false);
      const { batch } = await acceptBatch(
        c.env,
        c.get("caller"),
        { ...contentOf(draft), csv: csv.replace(/^\uFEFF/, ""), send_at: sendAt },
        undefined,
      );
      // Its progress from the dispatcher: the list (D1) may not have the batch yet.
      const view = await getBatch(c.env, c.get("caller"), batch.id);
      return renderBatches(c, {
        result: { accepted: batch, view },
        notice: { kind: "ok", text: tOf(c)("batches.accepted", { id: batch.id }) },
      });
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      return renderBatches(
        c,
        { draft, errors: fieldErrorsOf(error), notice: problemNotice(error) },
        formStatus(error),
      );
    }
  })
  .get("/dashboard/batches/:id", async (c) => {
    requirePermission(c, "messages:read");
    const view = await getBatch(c.env, c.get("caller"), idParam(c, BATCH_ID, "batch"));
    return render(c, <BatchPage view={view} canSend={canSend(c)} />);
  })
  // The progress bar alone, polled by htmx while the batch is sending.
  .get("/dashboard/batches/:id/progress", async (c) => {
    requirePermission(c, "messages:read");
    const view: BatchView = await getBatch(c.env, c.get("caller"), idParam(c, BATCH_ID, "batch"));
    return render(c, <BatchProgress view={view} poll />);
  })
  .post("/dashboard/batches/:id/cancel", async (c) => {
    const id = idParam(c, BATCH_ID, "batch");
    requirePermission(c, "messages:send");
    try {
      await cancelBatch(c.env, c.get("caller"), id);
      setFlash(c, "ok", "batches.canceled", { id });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 409) {
        throw error;
      }
      setFlash(c, "error", "batches.cannot_cancel", { id });
    }
    return c.redirect(`/dashboard/batches/${id}`, 303);
  })
  .get("/dashboard/scheduled", async (c) => {
    requirePermission(c, "messages:read");
    const cursor = c.req.query("cursor");
    const valid = cursor && MESSAGE_ID.test(cursor) ? cursor : undefined;
    const page = await listMessages(c.env, c.get("caller"), {
      status: "scheduled",
      limit: 50,
      cursor: valid,
    });
    return render(
      c,
      <ScheduledPage
        messages={page.data}
        cursor={valid}
        nextCursor={page.nextCursor}
        canSend={canSend(c)}
      />,
    );
  });
