import type { Child } from "hono/jsx";
import { grants, type Permission } from "../domain/permissions";

/** Served by Workers static assets from src/static/dashboard/ (the policy allows no inline style). */
const STYLESHEET = "/dashboard/style.css";

/**
 * The page around every dashboard view. Signed in (`csrf` given), the header links only to what
 * the session's `permissions` reach; the server refuses the rest (403) whatever the links show.
 */
export function Layout(props: {
  title: string;
  csrf?: string;
  permissions?: readonly Permission[];
  children: Child;
}) {
  const can = (p: Permission) => grants(props.permissions ?? [], p);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Relaybox</title>
        <link rel="stylesheet" href={STYLESHEET} />
        {/* For the page's own calls to the API with the session (X-CSRF-Token). */}
        {props.csrf ? <meta name="csrf-token" content={props.csrf} /> : null}
      </head>
      <body>
        <header>
          <span class="brand">Relaybox</span>
          {props.csrf ? (
            <>
              {can("messages:read") ? <a href="/dashboard">Messages</a> : null}
              {can("templates:read") ? <a href="/dashboard/reviews">Reviews</a> : null}
              {can("users:read") ? <a href="/dashboard/users">Users</a> : null}
              <a href="/dashboard/account">Account</a>
              <a href="/docs">API docs</a>
              <form method="post" action="/dashboard/logout" class="signout">
                <input type="hidden" name="csrf" value={props.csrf} />
                <button type="submit">Sign out</button>
              </form>
            </>
          ) : null}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export function StatusPill(props: { status: string }) {
  return <span class={`pill ${props.status}`}>{props.status}</span>;
}
