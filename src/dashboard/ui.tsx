/**
 * What every dashboard page renders with, per request: the locale, `t`, the `Intl` formats in the
 * tenant's zone and currency, the signed-in user (if any) and a flash message carried over a
 * redirect. `render(c, <Page />)` provides it; pages and components read it with `useUi()`, so no
 * page passes the translator, the session or the CSRF token down by hand.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { type Child, createContext, useContext } from "hono/jsx";
import type { AppEnv } from "../app-env";
import { budgetZoneOf } from "../domain/budget";
import type { Permission } from "../domain/permissions";
import type { ApiError, ProblemSlug } from "../lib/problem";
import {
  type Formats,
  formatsFor,
  type Locale,
  localeOf,
  type MessageKey,
  type Translate,
  translator,
  type Vars,
} from "./i18n";

/** A line above a page's content; `slug` marks a service's problem (its text is translated). */
export type Notice = { kind: "ok" | "error"; text: string; slug?: ProblemSlug };

/** A refused action's notice: the problem's detail, put in the page's language when shown. */
export const problemNotice = (error: ApiError): Notice => ({
  kind: "error",
  text: error.message,
  slug: error.slug,
});

export interface Ui {
  locale: Locale;
  t: Translate;
  fmt: Formats;
  /** The request's path and query: the language switch comes back to it. */
  here: string;
  /** The signed-in user; absent on the sign-in and invitation pages. */
  user?: {
    email: string;
    role: string;
    tenantName: string;
    permissions: readonly Permission[];
    csrf: string;
  };
  /** A message set before a redirect (setFlash), shown once by the layout. */
  flash?: Notice;
  /** Keys looked up that no catalog has: the render tests assert none. */
  missing: Set<string>;
}

const FLASH_COOKIE = "rbx_flash";

/** Shows `key` (with vars) on the next page this browser renders: for a redirect after a post. */
export function setFlash(
  c: Context<AppEnv>,
  kind: Notice["kind"],
  key: MessageKey,
  vars?: Vars,
): void {
  const value = JSON.stringify({ kind, key, vars: vars ?? {} });
  setCookie(c, FLASH_COOKIE, encodeURIComponent(value), {
    httpOnly: true,
    sameSite: "Strict",
    path: "/dashboard",
    maxAge: 60,
  });
}

function takeFlash(c: Context<AppEnv>, t: Translate): Notice | undefined {
  const raw = getCookie(c, FLASH_COOKIE);
  if (!raw) {
    return undefined;
  }
  deleteCookie(c, FLASH_COOKIE, { path: "/dashboard" });
  try {
    const parsed: unknown = JSON.parse(decodeURIComponent(raw));
    const { kind, key, vars } = parsed as { kind: unknown; key: unknown; vars: unknown };
    const catalogKey = typeof key === "string" ? (key as MessageKey) : undefined;
    if ((kind !== "ok" && kind !== "error") || !catalogKey || typeof vars !== "object") {
      return undefined;
    }
    const text = t(catalogKey, (vars ?? {}) as Vars);
    // A forged cookie naming no key shows nothing rather than a raw key.
    return text === key ? undefined : { kind, text };
  } catch {
    return undefined;
  }
}

/** The request's Ui. */
export function uiOf(c: Context<AppEnv>): Ui {
  const locale = localeOf(c);
  const missing = new Set<string>();
  const t = translator(locale, missing);
  // Unset before the session middleware (sign-in, invitation): Hono returns undefined.
  const session = c.get("session") as AppEnv["Variables"]["session"] | undefined;
  const caller = c.get("caller") as AppEnv["Variables"]["caller"] | undefined;
  const tenant = session ? caller?.tenant : undefined;
  const url = new URL(c.req.url);
  return {
    locale,
    t,
    fmt: formatsFor(locale, budgetZoneOf(tenant?.homeCountry ?? ""), tenant?.currency ?? "USD"),
    here: url.pathname + url.search,
    user: session
      ? {
          email: session.email,
          role: session.role,
          tenantName: session.tenantName ?? session.tenantId,
          permissions: session.permissions,
          csrf: session.csrf,
        }
      : undefined,
    flash: takeFlash(c, t),
    missing,
  };
}

const UiContext = createContext<Ui | null>(null);

/** The Ui of the page being rendered (inside `render`). */
export function useUi(): Ui {
  const ui = useContext(UiContext);
  if (!ui) {
    throw new Error("A dashboard component was rendered outside render(c, ...).");
  }
  return ui;
}

/** Renders a page with the request's Ui; the HTML response every dashboard route returns. */
export function render(
  c: Context<AppEnv>,
  page: Child,
  status: 200 | 201 | 401 | 403 | 404 | 409 | 422 | 429 = 200,
) {
  const ui = uiOf(c);
  return c.html(<UiContext.Provider value={ui}>{page}</UiContext.Provider>, status);
}

/** The request's translate function alone (for notices built in routes; leaves the flash). */
export function tOf(c: Context<AppEnv>): Translate {
  return translator(localeOf(c));
}
