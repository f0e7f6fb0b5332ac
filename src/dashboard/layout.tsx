import type { Child } from "hono/jsx";

/** Served by Workers static assets from src/static/dashboard/ (the policy allows no inline style). */
const STYLESHEET = "/dashboard/style.css";

export function Layout(props: { title: string; csrf?: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Relaybox</title>
        <link rel="stylesheet" href={STYLESHEET} />
      </head>
      <body>
        <header>
          <span class="brand">Relaybox</span>
          {props.csrf ? (
            <>
              <a href="/dashboard">Messages</a>
              <a href="/dashboard/reviews">Reviews</a>
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
