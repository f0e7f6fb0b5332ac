import type { Child } from "hono/jsx";

const CSS = `
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1c2330;background:#f5f6f8}
header{background:#1c2330;color:#fff;padding:.7rem 1.5rem;display:flex;gap:1.5rem;align-items:center}
header a{color:#cfd6e4;text-decoration:none}header a:hover{color:#fff}header .brand{font-weight:700;color:#fff;margin-right:auto}
main{max-width:1100px;margin:1.5rem auto;padding:0 1.5rem}
.card{background:#fff;border:1px solid #e2e5ea;border-radius:8px;padding:1.2rem;margin-bottom:1.2rem}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;color:#6b7385;letter-spacing:.03em}
code,.mono{font:13px ui-monospace,SFMono-Regular,Menlo,monospace}
.pill{display:inline-block;padding:.05rem .55rem;border-radius:99px;font-size:.8rem;font-weight:600;background:#eef0f3}
.delivered{background:#dcf5e3;color:#146c2e}.failed,.undelivered{background:#fde2e1;color:#a1201a}
.expired,.canceled{background:#f1e9d6;color:#7a5a12}.sent,.sending,.queued,.scheduled{background:#e1ecfd;color:#1a4fa1}
label{display:block;font-weight:600;margin:.6rem 0 .2rem}input,textarea{width:100%;padding:.5rem;border:1px solid #c9ced8;border-radius:6px;font:inherit}
button{margin-top:.8rem;padding:.5rem 1.1rem;border:0;border-radius:6px;background:#2456d6;color:#fff;font-weight:600;cursor:pointer}
.error{background:#fde2e1;color:#a1201a;padding:.6rem .8rem;border-radius:6px}.ok{background:#dcf5e3;color:#146c2e;padding:.6rem .8rem;border-radius:6px}
.filters a{margin-right:.7rem}.muted{color:#6b7385}
`;

export function Layout(props: { title: string; csrf?: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Relaybox</title>
        <style>{CSS}</style>
      </head>
      <body>
        <header>
          <span class="brand">Relaybox</span>
          {props.csrf ? (
            <>
              <a href="/dashboard">Messages</a>
              <a href="/dashboard/reviews">Reviews</a>
              <a href="/docs">API docs</a>
              <form method="post" action="/dashboard/logout" style="margin:0">
                <input type="hidden" name="csrf" value={props.csrf} />
                <button type="submit" style="margin:0;padding:.25rem .7rem;background:#3a4357">
                  Sign out
                </button>
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
