/**
 * The dashboard: server-rendered pages over the same services as the API. Signing in sets a
 * session cookie; every page after that needs it.
 */
import { type Context, Hono } from "hono";
import { setCookie } from "hono/cookie";
import type { AppEnv } from "../app-env";
import { grants } from "../domain/permissions";
import { ApiError } from "../lib/problem";
import { endSession, signIn } from "../services/accounts/dashboard-auth";
import { approveSignature, listSignatures, rejectSignature } from "../services/content/signatures";
import { approveTemplate, rejectTemplate } from "../services/content/template-review";
import { listTemplates } from "../services/content/templates";
import { adminPages } from "./admin-routes";
import { contactPages } from "./contacts-routes";
import { contentPages } from "./content-routes";
import { deskQualityPages } from "./desk-quality-routes";
import { deskPages } from "./desk-routes";
import { readForm } from "./forms";
import { isLocale, LOCALE_COOKIE } from "./i18n";
import { integrationPages } from "./integrations-routes";
import { keyPages } from "./keys-routes";
import { messagePages } from "./messages-routes";
import { overviewPages } from "./overview-routes";
import { LoginPage } from "./pages";
import { invitationPages, peoplePages } from "./people-routes";
import { ReviewsPage } from "./reviews";
import { dashboardHeaders } from "./security-headers";
import { clearSessionCookie, requireSession, sameOriginPosts, setSessionCookie } from "./session";
import { type Notice, problemNotice, render, tOf } from "./ui";
import { wechatPages } from "./wechat-routes";

const REVIEWABLE = { templates: /^tpl_[0-9A-Z]{26}$/, signatures: /^sig_[0-9A-Z]{26}$/ };

async function renderReviews(
  c: Context<AppEnv>,
  notice?: Notice,
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
  return render(
    c,
    <ReviewsPage
      canReview={grants(caller.scopes, "templates:review")}
      templates={templates.data}
      signatures={signatures.data}
      notice={notice}
    />,
    httpStatus,
  );
}

// "/dashboard/*" matches "/dashboard" itself too: one registration per middleware.
export const dashboardRouter = new Hono<AppEnv>()
  .use("/dashboard/*", dashboardHeaders, sameOriginPosts)
  .get("/dashboard/login", (c) =>
    render(c, <LoginPage accepted={c.req.query("accepted") === "1"} />),
  )
  // The language switch, on every page (signed in or not): remembered for a year.
  .get("/dashboard/lang/:locale", (c) => {
    const locale = c.req.param("locale");
    if (!isLocale(locale)) {
      throw new ApiError("not-found", `No language ${locale}.`);
    }
    setCookie(c, LOCALE_COOKIE, locale, {
      sameSite: "Lax",
      path: "/",
      maxAge: 365 * 24 * 3600,
      httpOnly: true,
    });
    const back = c.req.query("back") ?? "";
    // Only back to a dashboard page of ours: never an open redirect.
    const safe = /^\/dashboard(\/[^/\\]|\?|$)/.test(back) ? back : "/dashboard";
    return c.redirect(safe, 303);
  })
  .post("/dashboard/login", async (c) => {
    const form = await readForm(c);
    const email = typeof form.email === "string" ? form.email : "";
    const password = typeof form.password === "string" ? form.password : "";
    // Set by Cloudflare's edge; absent only in local runs (domain/sign-in-throttle).
    const ip = c.req.header("cf-connecting-ip");
    const signedIn = await signIn(c.env, { email, password, ip, requestId: c.get("requestId") });
    if (!signedIn) {
      return render(c, <LoginPage error email={email} />, 401);
    }
    setSessionCookie(c, signedIn.token);
    return c.redirect("/dashboard", 303);
  })
  .route("/", invitationPages)
  // Everything under /dashboard but the sign-in and invitation pages needs a session.
  .use("/dashboard/*", requireSession)
  .route("/", peoplePages)
  .route("/", contentPages)
  .route("/", adminPages)
  .route("/", overviewPages)
  .route("/", wechatPages)
  .route("/", contactPages)
  .route("/", keyPages)
  .route("/", integrationPages)
  .route("/", deskQualityPages)
  .route("/", deskPages)
  .post("/dashboard/logout", async (c) => {
    await endSession(c.env, c.get("session"), c.get("caller").origin);
    clearSessionCookie(c);
    return c.redirect("/dashboard/login", 303);
  })
  .route("/", messagePages)
  .get("/dashboard/reviews", (c) => {
    // Only ids are echoed back, never free text from the query string.
    for (const decision of ["approved", "rejected"] as const) {
      const id = c.req.query(decision) ?? "";
      if (REVIEWABLE.templates.test(id) || REVIEWABLE.signatures.test(id)) {
        const key =
          decision === "approved" ? "reviews.decided_approved" : "reviews.decided_rejected";
        return renderReviews(c, { kind: "ok", text: tOf(c)(key, { id }) });
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
        throw new ApiError("forbidden", tOf(c)("reviews.cannot_review"));
      }
      if (decision === "reject" && (reason.length === 0 || reason.length > 500)) {
        throw new ApiError("unprocessable-entity", tOf(c)("reviews.bad_reason"));
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
      return renderReviews(c, problemNotice(error), status);
    }
  });
