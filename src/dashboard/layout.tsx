/**
 * The page around every dashboard view: header (tenant, user, language, sign out), the navigation
 * the user's permissions reach (nav.ts), the flash message and the page. Styles and scripts are
 * static assets (src/static/dashboard/, vendor/ copied from npm by scripts/copy-docs-assets.mjs):
 * the Content-Security-Policy allows no inline script or style. Without JavaScript every page
 * still works; htmx and the charts only enhance.
 */
import type { Child } from "hono/jsx";
import { hasKey, LOCALE_TAGS, LOCALES } from "./i18n";
import { navFor } from "./nav";
import { useUi } from "./ui";

export const ASSETS = {
  stylesheet: "/dashboard/style.css",
  chartStylesheet: "/dashboard/vendor/uPlot.min.css",
  htmx: "/dashboard/vendor/htmx.min.js",
  uplot: "/dashboard/vendor/uPlot.iife.min.js",
  charts: "/dashboard/charts.js",
} as const;

function LanguageSwitch() {
  const { t, locale, here } = useUi();
  return (
    <nav class="lang" aria-label={t("layout.language")}>
      {LOCALES.map((l) =>
        l === locale ? (
          <strong lang={LOCALE_TAGS[l]}>{t(`lang.${l}`)}</strong>
        ) : (
          <a
            lang={LOCALE_TAGS[l]}
            hreflang={LOCALE_TAGS[l]}
            href={`/dashboard/lang/${l}?back=${encodeURIComponent(here)}`}
          >
            {t(`lang.${l}`)}
          </a>
        ),
      )}
    </nav>
  );
}

function Navigation() {
  const { t, user, here } = useUi();
  if (!user) {
    return null;
  }
  const path = here.split("?")[0] ?? here;
  return (
    <nav class="sidenav" id="nav" aria-label={t("layout.main_nav")}>
      {navFor(user.permissions, path).map((section) => (
        <div class="nav-group">
          <h2>{t(section.labelKey)}</h2>
          <ul>
            {section.items.map((item) => (
              <li>
                <a href={item.path} aria-current={item.current ? "page" : undefined}>
                  {t(item.labelKey)}
                </a>
              </li>
            ))}
          </ul>
        </div>
      ))}
      <div class="nav-group">
        <ul>
          <li>
            <a
              href="/dashboard/account"
              aria-current={path === "/dashboard/account" ? "page" : undefined}
            >
              {t("layout.account")}
            </a>
          </li>
          <li>
            <a href="/docs">{t("layout.api_docs")}</a>
          </li>
        </ul>
      </div>
    </nav>
  );
}

export function Layout(props: { title: string; children: Child }) {
  const { t, locale, user, flash } = useUi();
  return (
    <html lang={LOCALE_TAGS[locale]}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>
          {props.title} · {t("app.name")}
        </title>
        <link rel="stylesheet" href={ASSETS.stylesheet} />
        <link rel="stylesheet" href={ASSETS.chartStylesheet} />
        {/* For the page's own calls to the API with the session (X-CSRF-Token). */}
        {user ? <meta name="csrf-token" content={user.csrf} /> : null}
        <script src={ASSETS.htmx} defer />
        <script src={ASSETS.uplot} defer />
        <script src={ASSETS.charts} defer />
      </head>
      <body class={user ? "signed-in" : "signed-out"}>
        <a class="skip" href="#main">
          {t("layout.skip")}
        </a>
        <header class="topbar">
          <span class="brand">{t("app.name")}</span>
          {user ? <span class="tenant">{user.tenantName}</span> : null}
          <span class="spacer" />
          <LanguageSwitch />
          {user ? (
            <>
              <span class="user muted-light">
                {t("layout.signed_in_as", { email: user.email, role: user.role })}
              </span>
              <form method="post" action="/dashboard/logout" class="signout">
                <input type="hidden" name="csrf" value={user.csrf} />
                <button type="submit">{t("layout.sign_out")}</button>
              </form>
            </>
          ) : null}
        </header>
        {user ? (
          <>
            {/* The phone's menu: a checkbox and its label open the navigation without script. */}
            <input type="checkbox" id="nav-toggle" class="nav-toggle" />
            <label for="nav-toggle" class="nav-toggle-label">
              ☰ {t("layout.menu")}
            </label>
          </>
        ) : null}
        <div class={user ? "shell" : "shell bare"}>
          <Navigation />
          <main id="main">
            <h1 class="page-title">{props.title}</h1>
            {flash ? (
              <p class={`flash ${flash.kind}`} role="status">
                {flash.text}
              </p>
            ) : null}
            {props.children}
          </main>
        </div>
      </body>
    </html>
  );
}

export function StatusPill(props: { status: string }) {
  const { t } = useUi();
  const key = `status.${props.status}`;
  return <span class={`pill ${props.status}`}>{hasKey(key) ? t(key) : props.status}</span>;
}
