/**
 * The dashboard: server-rendered pages over the same services as the API. Signing in sets a
 * session cookie; every page after that needs it.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { grants } from "../domain/permissions";
import { MESSAGE_STATUSES, type MessageStatus } from "../domain/vocabulary";
import { ApiError } from "../lib/problem";
import { endSession, signIn } from "../services/accounts/dashboard-auth";
import { approveSignature, listSignatures, rejectSignature } from "../services/content/signatures";
import { approveTemplate, rejectTemplate } from "../services/content/template-review";
import { listTemplates } from "../services/content/templates";
import { getMessage, listMessages } from "../services/messaging/message-reads";
import { acceptMessage } from "../services/messaging/messages";
import { readForm } from "./forms";
import { LoginPage, MessagePage, MessagesPage } from "./pages";
import { invitationPages, peoplePages } from "./people-routes";
import { ReviewsPage } from "./reviews";
import { dashboardHeaders } from "./security-headers";
import { clearSessionCookie, requireSession, sameOriginPosts, setSessionCookie } from "./session";

const MESSAGE_ID = /^msg_[0-9A-Z]{26}$/;
const REVIEWABLE = { templates: /^tpl_[0-9A-Z]{26}$/, signatures: /^sig_[0-9A-Z]{26}$/ };

async function renderReviews(
  c: Context<AppEnv>,
  notice?: { kind: "ok" | "error"; text: string },
  httpStatus: 200 | 403 | 409 | 422 = 200,
) {
  const caller = c.get("caller");
  if (!grants(caller.scopes, "templates:read")) {
    throw new ApiError("forbidden", "Your role cannot see templates.");
  }
  const pending = { status: "pending_review" as const, limit: 100 };
  const [templates, signatures] = await Promise.all([
    listTemplates(c.env, caller, pending),
    listSignatures(c.env, caller, pending),
  ]);
  return c.html(
    <ReviewsPage
      csrf={c.get("session").csrf}
      permissions={caller.scopes}
      canReview={grants(caller.scopes, "templates:review")}
      templates={templates.data}
      signatures={signatures.data}
      notice={notice}
    />,
    httpStatus,
  );
}

function statusFilter(value: string | undefined): MessageStatus | undefined {
  return MESSAGE_STATUSES.find((s) => s === value);
}

/** The messages page for the signed-in user, with an optional notice and form draft. */
async function renderMessages(
  c: Context<AppEnv>,
  view: {
    status?: MessageStatus;
    cursor?: string;
    notice?: { kind: "ok" | "error"; text: string };
    draft?: { to: string; body: string };
  },
  httpStatus: 200 | 403 | 422 = 200,
) {
  const caller = c.get("caller");
  const session = c.get("session");
  const page = await listMessages(c.env, caller, {
    status: view.status,
    limit: 50,
    cursor: view.cursor,
  });
  return c.html(
    <MessagesPage
      csrf={session.csrf}
      permissions={caller.scopes}
      email={session.email}
      canSend={grants(caller.scopes, "messages:send")}
      messages={page.data}
      status={view.status}
      nextCursor={page.nextCursor}
      notice={view.notice}
      draft={view.draft}
    />,
    httpStatus,
  );
}

// "/dashboard/*" matches "/dashboard" itself too: one registration per middleware.
export const dashboardRouter = new Hono<AppEnv>()
  .use("/dashboard/*", dashboardHeaders, sameOriginPosts)
  .get("/dashboard/login", (c) =>
    c.html(
      <LoginPage
        notice={
          c.req.query("accepted") === "1" ? "Your password is set: sign in with it." : undefined
        }
      />,
    ),
  )
  .post("/dashboard/login", async (c) => {
    const form = await readForm(c);
    const email = typeof form.email === "string" ? form.email : "";
    const password = typeof form.password === "string" ? form.password : "";
    // Set by Cloudflare's edge; absent only in local runs (domain/sign-in-throttle).
    const ip = c.req.header("cf-connecting-ip");
    const signedIn = await signIn(c.env, { email, password, ip, requestId: c.get("requestId") });
    if (!signedIn) {
      return c.html(<LoginPage error="Wrong email or password." email={email} />, 401);
    }
    setSessionCookie(c, signedIn.token);
    return c.redirect("/dashboard", 303);
  })
  .route("/", invitationPages)
  // Everything under /dashboard but the sign-in and invitation pages needs a session.
  .use("/dashboard/*", requireSession)
  .route("/", peoplePages)
  .post("/dashboard/logout", async (c) => {
    await endSession(c.env, c.get("session"), c.get("caller").origin);
    clearSessionCookie(c);
    return c.redirect("/dashboard/login", 303);
  })
  .get("/dashboard", (c) => {
    const cursor = c.req.query("cursor");
    const sent = c.req.query("sent");
    return renderMessages(c, {
      status: statusFilter(c.req.query("status")),
      cursor: cursor && MESSAGE_ID.test(cursor) ? cursor : undefined,
      notice: sent && MESSAGE_ID.test(sent) ? { kind: "ok", text: `Accepted ${sent}.` } : undefined,
    });
  })
  .post("/dashboard/messages", async (c) => {
    const caller = c.get("caller");
    const form = await readForm(c);
    const draft = {
      to: typeof form.to === "string" ? form.to.trim() : "",
      body: typeof form.body === "string" ? form.body : "",
    };
    try {
      if (!grants(caller.scopes, "messages:send")) {
        throw new ApiError("forbidden", "Your role cannot send messages.");
      }
      if (!draft.to || !draft.body || draft.body.length > 1600) {
        throw new ApiError(
          "unprocessable-entity",
          "Enter a recipient and a message of 1 to 1600 characters.",
        );
      }
      const { message } = await acceptMessage(c.env, caller, draft, undefined);
      return c.redirect(`/dashboard?sent=${message.id}`, 303);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      return renderMessages(
        c,
        { notice: { kind: "error", text: error.message }, draft },
        error.status === 403 ? 403 : 422,
      );
    }
  })
  .get("/dashboard/reviews", (c) => {
    // Only ids are echoed back, never free text from the query string.
    for (const decision of ["approved", "rejected"] as const) {
      const id = c.req.query(decision) ?? "";
      if (REVIEWABLE.templates.test(id) || REVIEWABLE.signatures.test(id)) {
        return renderReviews(c, { kind: "ok", text: `${id} is ${decision}.` });
      }
    }
    return renderReviews(c);
  })
  .post("/dashboard/:kind{templates|signatures}/:id/:decision{approve|reject}", async (c) => {
    const caller = c.get("caller");
    const { kind, id, decision } = c.req.param() as {
      kind: keyof typeof REVIEWABLE;
      id: string;
      decision: "approve" | "reject";
    };
    if (!REVIEWABLE[kind].test(id)) {
      throw new ApiError("not-found", `No ${kind.slice(0, -1)} ${id}.`);
    }
    const form = await readForm(c);
    const reason = typeof form.reason === "string" ? form.reason.trim() : "";
    try {
      if (!grants(caller.scopes, "templates:review")) {
        throw new ApiError("forbidden", "Your role cannot approve or reject.");
      }
      if (decision === "reject" && (reason.length === 0 || reason.length > 500)) {
        throw new ApiError("unprocessable-entity", "Give a reason of 1 to 500 characters.");
      }
      const reviews = {
        templates: { approve: approveTemplate, reject: rejectTemplate },
        signatures: { approve: approveSignature, reject: rejectSignature },
      }[kind];
      if (decision === "approve") {
        await reviews.approve(c.env, caller, id);
      } else {
        await reviews.reject(c.env, caller, id, reason);
      }
      return c.redirect(`/dashboard/reviews?${decision}d=${id}`, 303);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 404) {
        throw error;
      }
      const status = error.status === 403 || error.status === 409 ? error.status : 422;
      return renderReviews(c, { kind: "error", text: error.message }, status);
    }
  })
  .get("/dashboard/messages/:id", async (c) => {
    const id = c.req.param("id");
    if (!MESSAGE_ID.test(id)) {
      throw new ApiError("not-found", `No message ${id}.`);
    }
    const { message, attempts } = await getMessage(c.env, c.get("caller"), id);
    return c.html(
      <MessagePage
        csrf={c.get("session").csrf}
        permissions={c.get("caller").scopes}
        message={message}
        attempts={attempts}
      />,
    );
  });
