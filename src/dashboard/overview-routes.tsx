/**
 * The Overview and Verification pages: read-only, over the services of `GET /v1/stats`, the
 * tenant's budget usage and `GET /v1/verifications/stats`, with the same permissions.
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { budgetZoneOf } from "../domain/budget";
import { grants, type Permission } from "../domain/permissions";
import { ApiError } from "../lib/problem";
import { verificationStats } from "../services/verifications/stats";
import { fieldErrorsOf } from "./forms";
import { OverviewPage, VerificationPage } from "./overview";
import { OVERVIEW_PERIODS, type OverviewPeriod, overviewOf } from "./overview-data";
import { render } from "./ui";

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function requirePermission(c: Context<AppEnv>, permission: Permission, what: string): void {
  if (!grants(c.get("caller").scopes, permission)) {
    throw new ApiError("forbidden", `Your role cannot ${what}.`);
  }
}

/** The overview for the signed-in user (also the landing page of roles that read statistics). */
export async function renderOverview(c: Context<AppEnv>) {
  requirePermission(c, "stats:read", "see statistics");
  const caller = c.get("caller");
  const days = Number(c.req.query("days"));
  const period: OverviewPeriod = OVERVIEW_PERIODS.find((p) => p === days) ?? 7;
  const zone = budgetZoneOf(caller.tenant.homeCountry);
  const data = await overviewOf(c.env, caller, zone, period);
  return render(c, <OverviewPage data={data} />);
}

export const overviewPages = new Hono<AppEnv>()
  .get("/dashboard/overview", (c) => renderOverview(c))
  .get("/dashboard/verification", async (c) => {
    requirePermission(c, "verifications:write", "see verifications");
    const caller = c.get("caller");
    const from = c.req.query("from") || undefined;
    const to = c.req.query("to") || undefined;
    try {
      // The API's query schema: dates only (its zod pattern), the range checked by the service.
      const bad = [
        ...(from && !DATE.test(from) ? ["from"] : []),
        ...(to && !DATE.test(to) ? ["to"] : []),
      ];
      if (bad.length > 0) {
        throw new ApiError("validation-error", "a date, YYYY-MM-DD (UTC)", {
          errors: bad.map((f) => ({ pointer: `/${f}`, detail: "a date, YYYY-MM-DD (UTC)" })),
        });
      }
      const days = await verificationStats(c.env, caller, { from, to });
      return render(c, <VerificationPage days={days} from={from} to={to} />);
    } catch (error) {
      if (!(error instanceof ApiError) || (error.status !== 400 && error.status !== 422)) {
        throw error;
      }
      // The service points at the query's parameters (`/query/to`); the page names them.
      const fields = Object.entries(fieldErrorsOf(error))
        .map(([field, detail]) => `${field.replace(/^query\./, "")}: ${detail}`)
        .join("; ");
      return render(
        c,
        <VerificationPage
          days={[]}
          from={from}
          to={to}
          notice={{ kind: "error", text: fields || error.message, slug: error.slug }}
        />,
        422,
      );
    }
  });
